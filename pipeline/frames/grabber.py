"""Grab live frames on their own thread and hand over only the newest one.

A camera delivers 25 frames per second whether or not OCR keeps up. Read in the processing
loop, a slow frame would leave the rest waiting in the stream's buffers, and the picture
would fall further and further behind the cars. The grabber reads continuously, keeps one
frame, and counts the frames the loop never saw as dropped: memory stays bounded and the loop
always works on the present.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from pipeline.frames.types import Frame, FrameSource, SourceStats


class LatestFrameGrabber:
    """Wraps a live source; ``frames()`` yields the newest frame each time the consumer asks."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.name = source.name
        self.dropped = 0
        self._latest: Frame | None = None
        self._cond = threading.Condition()
        self._done = False
        self._closed = False
        self._thread = threading.Thread(target=self._grab, name="frame-grabber", daemon=True)

    @property
    def stats(self) -> SourceStats:
        return self.source.stats

    def _grab(self) -> None:
        try:
            for frame in self.source.frames():
                with self._cond:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = frame
                    self._cond.notify()
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def frames(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            with self._cond:
                while self._latest is None and not self._done and not self._closed:
                    self._cond.wait(timeout=1.0)
                if self._latest is None or self._closed:
                    return
                frame, self._latest = self._latest, None
            yield frame

    def close(self, timeout: float = 0.5) -> None:
        """Stop the source, end ``frames()`` at once, and wait up to ``timeout`` for the grab
        thread to leave the capture. A thread blocked in OpenCV's open or read of a hung
        stream cannot be interrupted (it returns after the stream timeout); ``busy`` then
        says so."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.source.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)  # a second close() ends when the first one's wait does

    @property
    def busy(self) -> bool:
        """The grab thread is still inside the capture after ``close()``: the process must
        not run OpenCV's and FFmpeg's exit-time destructors under it (SIGSEGV)."""
        return self._thread.is_alive()
