"""A kept plate crop drawn with text: half-block characters, two pixels a cell, so an
operator on plain SSH in an 80x24 terminal still reads the plate, enlarged."""

from __future__ import annotations

import cv2
import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from pipeline.privacy.evidence import decode

UPPER_HALF = "\u2580"


def half_blocks(jpeg: bytes, width: int = 64) -> Text:
    """The crop ``width`` cells wide: each cell is the upper half block, its colour the
    pixel above and its background the pixel below. Contrast is stretched so that dark
    glyphs on a dim plate stay apart. A crop that cannot be decoded says so."""
    image = decode(jpeg)
    if image is None:
        return Text("(no image)", style="dim")
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX)
    # terminal cells are about twice as tall as wide: a cell is 1 x 2 pixels
    rows = max(1, round(grey.shape[0] * width / grey.shape[1] / 2))
    small = cv2.resize(grey, (width, 2 * rows), interpolation=cv2.INTER_AREA)
    text = Text(no_wrap=True, overflow="crop")
    for y in range(rows):
        for top, bottom in zip(small[2 * y], small[2 * y + 1], strict=True):
            text.append(UPPER_HALF, Style(color=_grey(top), bgcolor=_grey(bottom)))
        if y < rows - 1:
            text.append("\n")
    return text


def _grey(value: np.uint8) -> Color:
    v = int(value)
    return Color.from_rgb(v, v, v)
