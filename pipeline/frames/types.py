"""What a frame source hands to the rest of the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One camera image with its place in the stream.

    ``timestamp`` is monotonic seconds (stream time for files and folders, clock time for live
    cameras); ``number`` counts frames delivered by the source, skipped ones included.
    """

    number: int
    timestamp: float
    image: np.ndarray = field(repr=False, compare=False)
    origin: str = ""


@dataclass
class SourceStats:
    """Counters a source keeps so that the status topic and logs can report them."""

    delivered: int = 0
    corrupt: int = 0
    reconnects: int = 0
    online: bool = False
    last_frame_at: float | None = None
    ended_early_at: int | None = None  # a file whose frames ran out before its stated count


class FrameSource(Protocol):
    """Anything that yields frames: a folder, a video file, a live camera."""

    name: str
    stats: SourceStats

    def frames(self) -> Iterator[Frame]:
        """Yield frames until the source is exhausted (live sources: until closed)."""
        ...

    def close(self) -> None:
        """Release the device or file and end ``frames()``."""
        ...
