"""Uploaded files (work-order attachments, photos of returned devices): where they are kept and
the name they are kept under. Each app recognises the content it accepts itself."""

from __future__ import annotations

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
