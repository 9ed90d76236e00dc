"""Real (tiny) photos for upload tests: Pillow must be able to open what is uploaded, and the
metadata tests need a JPEG that carries what a phone puts there (GPS, XMP, a comment)."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Latitude 59°19'N, longitude 18°4'E: where a phone would say the photo was taken.
GPS = {1: "N", 2: (59.0, 19.0, 0.0), 3: "E", 4: (18.0, 4.0, 0.0)}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description GPSLatitude="59,19N"/></x:xmpmeta>'


def png(size: tuple[int, int] = (8, 6), text: str = "") -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg(
    size: tuple[int, int] = (8, 6), *, gps: bool = False, orientation: int = 0, comment: bytes = b""
) -> bytes:
    """A JPEG, with EXIF GPS, XMP and a comment if `gps`, and an EXIF orientation if given."""
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    extra: dict[str, object] = {}
    if gps:
        exif.get_ifd(GPS_IFD).update(GPS)
        extra["xmp"] = XMP
        comment = comment or b"Hemliga v\xe4gen 7"
    if comment:
        extra["comment"] = comment
    out = io.BytesIO()
    Image.new("RGB", size, (30, 30, 200)).save(out, "JPEG", exif=exif.tobytes(), **extra)
    return out.getvalue()
