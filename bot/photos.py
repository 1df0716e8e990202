"""Photos people send (a broken streetlight, a full bin): checked from their bytes, never their name, and
re-encoded so that what is kept carries no EXIF (the phone's GPS position, its model, the time) and is no
larger than a screen needs. Any Interlinker that takes photos uses it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.errors import UserError
from bot.events import Photo
from bot.i18n import _

MAX_BYTES = 10 * 1024 * 1024  # what an adapter downloads at most
MAX_SIDE = 2048  # pixels: enough to see the pothole, small enough to store and serve
MAX_PIXELS = 60_000_000  # a "decompression bomb" beyond this is refused before it is decoded
_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "MPO"}


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    content: bytes  # JPEG
    width: int
    height: int

    mime_type = "image/jpeg"


def too_big(size: int | None) -> bool:
    """Whether an adapter should refuse a file of ``size`` bytes before downloading it."""
    return size is not None and size > MAX_BYTES


def clean(photo: Photo) -> CleanPhoto:
    """A JPEG of the picture, turned upright, at most ``MAX_SIDE`` wide or high, with no metadata; a
    translated ``UserError`` when it is not a picture, is too large, or could not be downloaded."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # ~10 MB: loaded the first time someone sends a photo

    content = photo.content
    if not content and not too_big(photo.size):
        raise UserError(_("I could not download the photo: please send it again."))
    if len(content) > MAX_BYTES or too_big(photo.size):
        raise UserError(_("The photo is larger than {size} MB: send a smaller one.").format(size=MAX_BYTES // 2**20))
    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format not in _FORMATS or probe.width * probe.height > MAX_PIXELS:
                raise UserError(_("Send a photo (JPEG, PNG or WebP)."))
            probe.verify()
        with Image.open(io.BytesIO(content)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UserError(_("Send a photo (JPEG, PNG or WebP).")) from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)  # no exif= argument: nothing of the original's
    return CleanPhoto(out.getvalue(), upright.width, upright.height)


__all__ = ["MAX_BYTES", "CleanPhoto", "clean", "too_big"]
