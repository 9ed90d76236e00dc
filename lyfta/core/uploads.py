"""Uploaded files (work-order attachments, photos of returned devices): where they are kept, the
name they are kept under, and photos stripped of their metadata. Each app recognises the content
it accepts itself."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings


def upload_dir() -> Path:
    """`LYFTA_ATTACHMENT_DIR`, or `var/attachments`: never under the static or template roots."""
    configured = getattr(settings, "LYFTA_ATTACHMENT_DIR", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "attachments"


def safe_name(name: str, extension: str, default: str) -> str:
    """The uploader's name without directories or control characters, ending in the extension
    of the type the content was recognised as: a JPEG named "x.html" is saved as "x.jpg"."""
    keep = "".join(c for c in Path(name or "").name if c.isprintable() and c not in "/\\\0")
    stem = Path(keep.strip()).stem.strip(" .") or default
    return f"{stem[:110]}.{extension}"


class UnreadableImage(ValueError):
    """The bytes look like a JPEG or PNG but Pillow cannot open them as one."""


# A 50-megapixel phone camera (8160 × 6120) fits; more is refused before decoding.
MAX_PIXELS = 50_000_000


def without_metadata(data: bytes, content_type: str) -> bytes:
    """A JPEG or PNG photo re-encoded from its pixels alone: no EXIF (a phone's GPS position,
    which for a protected patient's pick-up would print her home), no XMP, ICC or comments, no
    PNG text chunks. The EXIF orientation is applied to the pixels first, so the photo still
    stands the right way up. Raises `UnreadableImage` for what Pillow cannot decode (the caller
    answers with its own message)."""
    from PIL import Image, ImageOps

    fmt = {"image/jpeg": "JPEG", "image/png": "PNG"}[content_type]
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format != fmt:
                raise UnreadableImage(opened.format)
            # The size is read from the header before any pixel is decoded: a small file that
            # unpacks to a huge image (12000 × 12000 zeros is 420 KB) would take gigabytes.
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage("too large")
            opened.load()
            upright = ImageOps.exif_transpose(opened) or opened
            # Only the pixels go on: a new image has no info, EXIF, XMP or ICC to copy.
            mode = upright.mode
            if fmt == "JPEG" and mode not in ("RGB", "L", "CMYK"):
                mode = "RGB"
            elif fmt == "PNG" and mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
                mode = "RGBA"
            pixels = upright.convert(mode) if mode != upright.mode else upright
            clean = Image.new(mode, pixels.size)
            if mode == "P":
                palette = pixels.getpalette()
                if palette is not None:
                    clean.putpalette(palette)
                if "transparency" in pixels.info:
                    clean.info["transparency"] = pixels.info["transparency"]
            clean.paste(pixels, (0, 0))
            out = io.BytesIO()
            if fmt == "JPEG":
                clean.save(out, "JPEG", quality=90)
            else:
                clean.save(out, "PNG", optimize=False)
            return out.getvalue()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        if isinstance(error, UnreadableImage):
            raise
        raise UnreadableImage(str(error)) from error
