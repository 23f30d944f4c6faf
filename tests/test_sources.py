"""Frame sources: folders in name order, unreadable images skipped, video files, live streams
that die and come back."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.events.local_broker import free_port
from pipeline.frames.sources import STREAM_TIMEOUT_MS, CaptureSource, FolderSource, open_source
from pipeline.frames.types import Frame, SourceStats
from tests.mjpeg_camera import MjpegCamera
from tests.waiting import wait_until

SAMPLES = Path(__file__).resolve().parents[1] / "sample_frames"


def test_folder_in_name_order_with_timestamps_from_fps(tmp_path: Path) -> None:
    for name in ("b.jpg", "a.jpg", "c.png"):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), 128, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = list(FolderSource(tmp_path, fps=4).frames())
    assert [f.origin for f in frames] == ["a.jpg", "b.jpg", "c.png"]
    assert [f.timestamp for f in frames] == [0.0, 0.25, 0.5]


def test_corrupt_and_truncated_images_are_logged_and_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copy(SAMPLES / "frame_0000.jpg", tmp_path / "0.jpg")
    (tmp_path / "1.jpg").write_bytes(b"\xff\xd8garbage")
    data = (SAMPLES / "frame_0001.jpg").read_bytes()
    (tmp_path / "2.jpg").write_bytes(data[:200])  # truncated
    (tmp_path / "3.jpg").write_bytes(b"")
    shutil.copy(SAMPLES / "frame_0002.jpg", tmp_path / "4.jpg")
    source = FolderSource(tmp_path)
    with caplog.at_level(logging.WARNING):
        frames = list(source.frames())
    assert [f.origin for f in frames] == ["0.jpg", "4.jpg"]
    assert source.stats.corrupt == 3
    assert "1.jpg" in caplog.text and "not a readable image" in caplog.text


def test_video_file_frames(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    source = open_source(str(path))
    frames = list(source.frames())
    assert len(frames) == 5
    assert frames[-1].timestamp == pytest.approx(0.4)


def test_missing_source_says_what_it_accepts() -> None:
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        open_source("/nonexistent/cam")


class FlakyCapture:
    """A camera that delivers ``frames`` images, then dies (read fails)."""

    def __init__(self, opened: bool, frames: int) -> None:
        self.opened, self.left = opened, frames

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop: int) -> float:
        return 25.0

    def release(self) -> None:
        pass


def test_live_stream_that_dies_is_reopened_with_backoff() -> None:
    # open fails once, then delivers 3 frames and dies, then delivers 2 more
    script = [FlakyCapture(False, 0), FlakyCapture(True, 3), FlakyCapture(True, 2)]
    source = CaptureSource("rtsp://camera", live=True, backoff=(0.01, 0.02),
                           opener=lambda spec: script.pop(0) if script else FlakyCapture(False, 0))
    got = []
    for frame in source.frames():
        got.append(frame.number)
        if len(got) == 5:
            source.close()
    assert got == [0, 1, 2, 3, 4]
    assert source.stats.reconnects == 1


def test_grabber_hands_over_the_newest_frame_and_counts_the_rest_as_dropped() -> None:

    from pipeline.frames.grabber import LatestFrameGrabber

    release = threading.Event()

    class Burst:
        """A camera that delivers 50 frames at once while the consumer is busy."""

        name = "burst"
        stats = SourceStats()

        def frames(self):  # type: ignore[no-untyped-def]
            for i in range(50):
                yield Frame(i, i / 25, np.zeros((2, 2, 3), np.uint8))
            release.set()

        def close(self) -> None:
            pass

    grabber = LatestFrameGrabber(Burst())
    got = []
    for frame in grabber.frames():
        if not got:
            release.wait(5)  # slow OCR on the first frame: the camera moved on
            time.sleep(0.05)
        got.append(frame.number)
    assert got[-1] == 49 and len(got) < 50
    assert grabber.dropped == 50 - len(got)


def _stream_frames(tmp_path: Path, n: int = 4) -> list[Path]:
    paths = []
    for i in range(n):
        path = tmp_path / f"f{i}.jpg"
        cv2.imwrite(str(path), np.full((120, 160, 3), 40 * i, np.uint8))
        paths.append(path)
    return paths


def _collect(source: CaptureSource) -> tuple[list[Frame], threading.Thread]:
    got: list[Frame] = []

    def consume() -> None:
        for frame in source.frames():
            got.append(frame)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return got, thread



@pytest.mark.real
def test_real_http_camera_that_dies_and_comes_back_is_reconnected(tmp_path: Path) -> None:
    """Through OpenCV's FFmpeg reader against a real MJPEG server: killed, then back."""
    camera = MjpegCamera(_stream_frames(tmp_path), free_port(), fps=20).start()
    source = CaptureSource(camera.url, live=True, backoff=(0.2, 0.5))
    got, thread = _collect(source)
    try:
        assert wait_until(lambda: len(got) >= 10, 20), "no frames from the live stream"
        assert source.stats.online
        camera.stop()
        assert wait_until(lambda: not source.stats.online, 15), "a dead camera must show offline"
        before = len(got)
        time.sleep(1.0)  # refused connections meanwhile: retried with backoff, no frames
        assert len(got) == before
        camera.start()
        assert wait_until(lambda: len(got) >= before + 10, 20), "frames must resume after return"
        assert source.stats.online and source.stats.reconnects == 1
        numbers = [f.number for f in got]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    finally:
        source.close()
        camera.stop()
        thread.join(10)


@pytest.mark.real
def test_real_http_camera_that_hangs_counts_as_dead_and_is_reopened(tmp_path: Path) -> None:
    """A stream that stays connected but sends nothing is reopened after the read timeout."""
    camera = MjpegCamera(_stream_frames(tmp_path), free_port(), fps=20).start()
    source = CaptureSource(camera.url, live=True, backoff=(0.2, 0.5))
    got, thread = _collect(source)
    try:
        assert wait_until(lambda: len(got) >= 5, 20)
        camera.hang()
        started = time.monotonic()
        assert wait_until(lambda: not source.stats.online, 3 * STREAM_TIMEOUT_MS / 1000)
        assert time.monotonic() - started < 2 * STREAM_TIMEOUT_MS / 1000
        camera.stop()
        camera.start()
        before = len(got)
        assert wait_until(lambda: len(got) >= before + 5, 20)
        assert source.stats.reconnects == 1
    finally:
        source.close()
        camera.stop()
        thread.join(10)


def crafted_png(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header claims ``width`` x ``height`` pixels (IDAT far too short)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_images_whose_header_claims_a_huge_size_are_skipped_before_decoding(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A crafted 100,000 x 100,000 PNG made OpenCV raise outside the guard (the run crashed on
    it every time); 20,000 x 20,000 was decoded at 1.2 GB. Both are skipped and counted, the
    frames after them are read, and the folder is read in bounded memory."""
    import subprocess
    import sys

    shutil.copy(SAMPLES / "frame_0000.jpg", tmp_path / "0.jpg")
    (tmp_path / "1.png").write_bytes(crafted_png(100_000, 100_000))
    (tmp_path / "2.png").write_bytes(crafted_png(20_000, 20_000))
    shutil.copy(SAMPLES / "frame_0001.jpg", tmp_path / "3.jpg")
    source = FolderSource(tmp_path)
    with caplog.at_level(logging.WARNING):
        frames = list(source.frames())
    assert [f.origin for f in frames] == ["0.jpg", "3.jpg"]
    assert source.stats.corrupt == 2
    assert "1.png: too large" in caplog.text and "2.png: too large" in caplog.text
    from pipeline.frames.sources import UnreadableImage, decode_image

    with pytest.raises(UnreadableImage, match="megapixels"):
        decode_image(tmp_path / "1.png")
    # peak memory of reading the folder in a fresh process (the 1.2 GB decode is gone). Not
    # ru_maxrss: Linux carries it over exec from the forking parent (pytest with the models
    # loaded); VmHWM is the new process's own high-water mark.
    script = ("import re, sys; from pathlib import Path; "
              "from pipeline.frames.sources import FolderSource; "
              "list(FolderSource(Path(sys.argv[1])).frames()); "
              "print(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1])")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    peak_mb = int(done.stdout.split()[-1]) / 1024
    print(f"peak RSS reading the folder: {peak_mb:.0f} MB")
    assert peak_mb < 400


def write_clip(path: Path, frames: int = 100) -> bytes:
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 2, np.uint8))
    writer.release()
    return path.read_bytes()


def test_truncated_video_says_where_it_ended(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """A truncated AVI played its first 41 of 100 frames and the run exited 0 in silence."""
    data = write_clip(tmp_path / "full.avi")
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    source = open_source(str(tmp_path / "cut.avi"))
    with caplog.at_level(logging.WARNING):
        frames = list(source.frames())
    assert 0 < len(frames) < 100
    assert source.stats.ended_early_at == len(frames)
    assert f"ended at frame {len(frames)} of 100" in caplog.text and "truncated" in caplog.text
    whole = open_source(str(tmp_path / "full.avi"))
    assert len(list(whole.frames())) == 100 and whole.stats.ended_early_at is None


def test_unusable_video_is_refused_before_the_model_loads(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """Empty, garbage and truncated MP4s: a clear error at once (it came as a traceback after
    the model had loaded), exit 1, nothing stored."""
    from pipeline.cli import main
    from pipeline.frames.sources import SourceError

    data = write_clip(tmp_path / "full.mp4")
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.mp4").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.mp4").write_bytes(b"")
    for name, says in (("cut.mp4", "cannot open video"), ("garbage.mp4", "cannot open video"),
                       ("empty.mp4", "is empty")):
        with pytest.raises(SourceError, match=says):
            open_source(str(tmp_path / name))
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            code = main(["--database", str(tmp_path / "c.sqlite3"), "run", "--source",
                         str(tmp_path / name)])
        err = capsys.readouterr().err
        assert code == 1 and says in err and "Traceback" not in err, err
        assert time.monotonic() - started < 10
        assert "recogniser:" not in caplog.text  # the model was never loaded
