"""Images of a cell compared perceptually, with Pillow: a re-rendered plot of the same data matches, a plot of other
data does not, whatever PNG bytes the encoder wrote.

Both images are decoded, turned to greyscale and resized to one small size (``SIZE``; a figure whose size changed
is compared as drawn into the same frame), then compared pixel by pixel. The difference is the share of the
figure's *ink* (pixels darker than ``INK_LEVEL`` in either image: lines, markers, text, axes) whose grey level
changed by more than ``PIXEL_LEVELS``; a white background is not ink, so a few moved markers on a large figure
still count. Measured on matplotlib figures (``tests/test_images.py``): the same figure re-rendered differs by 0,
a scatter or histogram of other random data by 0.37 to 0.8; ``IMAGE_TOLERANCE`` (0.1) sits between.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable, Mapping
from typing import Any

#: Image MIME types compared by content; other images (SVG is text, compared as such) by presence.
COMPARED_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: Largest share of ink that may change for two images to match (the default of ``--image-tolerance``).
IMAGE_TOLERANCE = 0.1
SIZE = (256, 192)
INK_LEVEL = 224
PIXEL_LEVELS = 32


def images_of(outputs: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(mime, base64 data)`` of every compared image in a cell's outputs, in order."""
    found = []
    for output in outputs:
        data = output.get("data") or {}
        for mime in COMPARED_IMAGES:
            value = data.get(mime)
            if value:
                found.append((mime, "".join(value) if isinstance(value, list) else str(value)))
    return found


def _decode(data: str):
    from PIL import Image  # imported here: comparing text needs no Pillow

    image = Image.open(io.BytesIO(base64.b64decode(data, validate=False)))
    image.load()
    if image.mode in ("RGBA", "LA", "P"):  # transparency composited on white, as a notebook shows it
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("L").resize(SIZE, Image.Resampling.LANCZOS)


def image_difference(recorded: str, replayed: str) -> float:
    """The share of ink that changed between two base64 images (module doc), 0 to 1; 1 when either cannot be
    decoded."""
    from PIL import ImageChops, UnidentifiedImageError

    try:
        a, b = _decode(recorded), _decode(replayed)
    except (UnidentifiedImageError, OSError, ValueError, binascii.Error):
        return 1.0
    ink = ImageChops.darker(a, b).point(lambda level: 255 if level < INK_LEVEL else 0).histogram()[255]
    changed = sum(ImageChops.difference(a, b).histogram()[PIXEL_LEVELS + 1 :])
    if not ink:
        return 0.0 if not changed else 1.0
    return min(1.0, changed / ink)


def compare_images(
    recorded: list[tuple[str, str]], replayed: list[tuple[str, str]], tolerance: float = IMAGE_TOLERANCE
) -> dict[str, Any]:
    """``{count, match, max_difference}`` of two cells' images, paired in order; a different number or type of
    images does not match (``max_difference`` 1)."""
    if [m for m, _ in recorded] != [m for m, _ in replayed]:
        return {"count": len(recorded), "match": False, "max_difference": 1.0}
    worst = max((image_difference(a, b) for (_, a), (_, b) in zip(recorded, replayed)), default=0.0)
    return {"count": len(recorded), "match": worst <= tolerance, "max_difference": round(worst, 4)}
