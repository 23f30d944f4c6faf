"""Frame sources: a folder of images, a video file, a live camera (index or stream URL).

Bad input never ends a run: an unreadable image is logged, counted and skipped; a dead live
stream is reopened with backoff until the source is closed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from pipeline.frames.types import Frame, SourceStats

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mjpg", ".mjpeg"}
# A stream that stalls without closing (a hung camera, a dead switch port) counts as dead after
# this long; without a timeout FFmpeg may wait on a socket read for minutes.
STREAM_TIMEOUT_MS = 5000
# Bounds on one image file, checked before it is decoded: a 100-byte PNG can claim
# 100,000 x 100,000 pixels (OpenCV raises) and a real 20,000 x 20,000 one decodes to 1.2 GB.
# 8K UHD is 33 megapixels; a decoded frame stays under 150 MB.
MAX_FRAME_PIXELS = 50_000_000
MAX_IMAGE_BYTES = 200_000_000


class SourceError(ValueError):
    """A ``--source`` that cannot be read at all, with what to do; raised before the model
    loads."""


class UnreadableImage(ValueError):
    """An image file that is skipped, with the reason (corrupt, too large, unreadable)."""


class FolderSource:
    """Images of a folder in name order; timestamps are ``index / fps`` seconds."""

    def __init__(self, folder: Path, fps: float = 5.0, start: int = 0) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.folder = folder
        self.fps = fps
        self.start = start  # resume: skip the files before this index
        self.name = str(folder)
        self.stats = SourceStats()
        self._closed = False

    def files(self) -> list[Path]:
        """The image files this source will read, in order."""
        return sorted(p for p in self.folder.iterdir()
                      if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

    def frames(self) -> Iterator[Frame]:
        self.stats.online = True
        for number, path in enumerate(self.files()):
            if self._closed:
                break
            if number < self.start:
                continue
            try:
                image = decode_image(path)
            except UnreadableImage as exc:
                self.stats.corrupt += 1
                log.warning("skipping %s: %s", path.name, exc)
                continue
            self.stats.delivered += 1
            self.stats.last_frame_at = time.time()
            yield Frame(number=number, timestamp=number / self.fps, image=image, origin=path.name)
        self.stats.online = False

    def close(self) -> None:
        self._closed = True


def read_image(path: Path) -> np.ndarray | None:
    """Decode an image file to BGR, or None when it is unreadable or too large (logged at
    debug level; ``decode_image`` says why)."""
    try:
        return decode_image(path)
    except UnreadableImage as exc:
        log.debug("%s: %s", path, exc)
        return None


def decode_image(path: Path) -> np.ndarray:
    """Decode an image file to BGR; handles non-ASCII paths. Its size is read from the header
    first, so a crafted or huge file is refused before any pixel memory is allocated.
    Raises ``UnreadableImage`` with the reason."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise UnreadableImage(f"file too large ({size / 1e6:.0f} MB, at most "
                                  f"{MAX_IMAGE_BYTES / 1e6:.0f} MB)")
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise UnreadableImage(f"cannot read the file ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise UnreadableImage("empty file")
    pixels = header_pixels(data.tobytes())
    if pixels is not None and pixels > MAX_FRAME_PIXELS:
        raise UnreadableImage(f"too large: {pixels / 1e6:.0f} megapixels in its header, at "
                              f"most {MAX_FRAME_PIXELS / 1e6:.0f} allowed")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. a size OpenCV itself refuses
        raise UnreadableImage(f"not a readable image ({str(exc).strip()[-120:]})") from exc
    if image is None or image.size == 0:
        raise UnreadableImage("not a readable image (corrupt or truncated?)")
    return image


def header_pixels(data: bytes) -> int | None:
    """Width x height as the file's header states it (Pillow reads the header only), or None
    when Pillow does not know the format; OpenCV then decides."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return MAX_FRAME_PIXELS + 1  # Pillow's own bound is higher than ours
    except Exception:  # noqa: BLE001 - unknown or broken header: OpenCV's decoder decides
        return None
    return width * height


class CaptureSource:
    """A video file, camera index or stream URL (RTSP, HTTP MJPEG) read through OpenCV.

    Files end at their last frame. Live sources (``live=True``) are reopened with exponential
    backoff whenever the stream dies, until ``close()`` is called.
    """

    def __init__(self, spec: str | int, *, live: bool, fps: float | None = None,
                 backoff: tuple[float, float] = (0.5, 30.0),
                 opener: Callable[[str | int], cv2.VideoCapture] | None = None,
                 start: int = 0) -> None:
        self.spec = spec
        self.live = live
        self.start = start  # files only: resume at this frame
        self.name = without_password(str(spec))  # what logs and messages show
        self.stats = SourceStats()
        self._fps = fps
        self._backoff = backoff
        self._opener = opener or _open_capture
        self._stop = threading.Event()

    def frames(self) -> Iterator[Frame]:
        number = 0
        delay = self._backoff[0]
        start = time.monotonic()
        while not self._stop.is_set():
            cap = self._opener(self.spec)
            if not cap.isOpened():
                cap.release()
                if not self.live:
                    raise OSError(f"cannot open video {self.spec!r}: missing file or unknown "
                                  "codec (try converting it to MP4/H.264)")
                self._offline(f"cannot open camera {self.name}; retrying in {delay:.1f} s")
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            fps = self._fps or cap.get(cv2.CAP_PROP_FPS) or 25.0
            expected = 0 if self.live else int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if not self.live and self.start:
                cap.set(cv2.CAP_PROP_POS_FRAMES, self.start)
                number = self.start
            if self.stats.delivered:
                self.stats.reconnects += 1
            self.stats.online = True
            log.info("camera %s online", self.name)
            failures = 0
            last_good = time.monotonic()
            while not self._stop.is_set():
                ok, image = cap.read()
                if not ok or image is None or image.size == 0:
                    failures += 1
                    # A file ends at the first failed read; a live stream gets a few chances
                    # (one corrupt packet is not a dead camera) before it is reopened, unless
                    # it has delivered nothing for STREAM_TIMEOUT_MS (hung or gone).
                    if not self.live or failures >= 25 or \
                            time.monotonic() - last_good >= STREAM_TIMEOUT_MS / 1000:
                        break
                    self.stats.corrupt += 1
                    continue
                failures = 0
                last_good = time.monotonic()
                delay = self._backoff[0]
                self.stats.delivered += 1
                self.stats.last_frame_at = time.time()
                stamp = time.monotonic() - start if self.live else number / fps
                yield Frame(number=number, timestamp=stamp, image=image, origin=self.name)
                number += 1
            cap.release()
            if not self.live:
                # the container's frame count says whether the file ended before its end
                if not self._stop.is_set() and expected and number < expected - 1:
                    self.stats.ended_early_at = number
                    log.warning("video %s ended at frame %d of %d: the file is truncated or "
                                "damaged, the rest cannot be read", self.name, number, expected)
                break
            if not self._stop.is_set():
                self._offline(f"camera {self.name} stream lost; reconnecting in {delay:.1f} s")
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff[1])
        self.stats.online = False

    def _offline(self, message: str) -> None:
        # Backoff caps the retry interval, so a dead camera logs at most every 30 s.
        log.warning(message)
        self.stats.online = False

    def close(self) -> None:
        self._stop.set()


def without_password(spec: str) -> str:
    """A camera as logs and messages may show it: ``rtsp://user:pw@cam/stream`` with the
    password as ``***`` (a log file is read by more people than the camera's admin)."""
    try:
        parts = urlsplit(spec)
        secret = parts.password
    except ValueError:
        return spec
    if not secret:
        return spec
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}{port}"))


def quiet_native_logs() -> None:
    """Leave saying that a camera is down to our log (one line per retry, with backoff):
    OpenCV's ``[ WARN:...] VIDEOIO(FFMPEG)`` and FFmpeg's ``[tcp @ ...]`` lines repeated it
    on every retry. FFmpeg reads ``OPENCV_FFMPEG_LOGLEVEL`` when OpenCV first uses it, so
    this runs before every capture is opened. With debug logging (``-v``) both are kept:
    FFmpeg's line says why (refused, 401 Unauthorized, no route). A level set in the
    environment is left as it is."""
    if log.isEnabledFor(logging.DEBUG):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _open_capture(spec: str | int) -> cv2.VideoCapture:
    quiet_native_logs()
    if isinstance(spec, str) and "://" in spec:
        return cv2.VideoCapture(spec, cv2.CAP_FFMPEG,
                                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS,
                                 cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS])
    return cv2.VideoCapture(spec)


def probe_video(path: Path) -> None:
    """Open a video file and decode its first frame, or raise ``SourceError`` saying why."""
    if path.stat().st_size == 0:
        raise SourceError(f"video {path} is empty (0 bytes)")
    quiet_native_logs()  # what is wrong with the file is said below
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise SourceError(f"cannot open video {path}: not a video, truncated (an MP4 cut "
                              "short has no index) or an unknown codec; check the file, or "
                              "convert it to MP4/H.264")
        ok, image = cap.read()
        if not ok or image is None or image.size == 0:
            raise SourceError(f"video {path} has no readable frame: damaged or an unknown "
                              "codec; convert it to MP4/H.264")
    finally:
        cap.release()


def _no_images(folder: Path) -> str:
    """Why a folder source has nothing to read, and what to do."""
    others = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    kinds = ", ".join(sorted(IMAGE_SUFFIXES))
    if not others:
        return (f"folder {folder} is empty: give the folder the camera's frames are saved "
                f"to ({kinds}), a video file or the camera itself (index or rtsp:// URL)")
    shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
    return (f"folder {folder} holds no images ({kinds}), only {shown}: give the folder "
            "that holds the frames, or a video file directly")


def open_source(spec: str, fps: float = 5.0, start: int = 0) -> FolderSource | CaptureSource:
    """Pick the source for a ``--source`` value: a folder, a video file, a camera index
    (``0``) or a stream URL (``rtsp://...``, ``http://...``). ``start``: first frame of a
    folder or file (resuming after a crash). A video file is opened and its first frame
    decoded here, so a bad one is refused before the model loads."""
    if spec.isdigit():
        return CaptureSource(int(spec), live=True)
    if "://" in spec:
        return CaptureSource(spec, live=True)
    path = Path(spec)
    if path.is_dir():
        folder = FolderSource(path, fps=fps, start=start)
        if not folder.files():
            raise SourceError(_no_images(path))
        return folder
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise SourceError(f"{spec} is a single image: use 'kennzeichen-checkin read "
                              f"{spec}', or give the folder that holds the frames")
        probe_video(path)
        return CaptureSource(str(path), live=False, start=start)
    raise FileNotFoundError(f"source {spec!r} is neither a folder, a video file, a camera "
                            "index nor a stream URL (rtsp://, http://)")
