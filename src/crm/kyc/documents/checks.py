"""Checks every KYC upload gets the moment it arrives, each refusal with a message the client can act on
(translatable: the portal shows it in their language) so they can retry at once.

- The real type comes from the content, confirmed by parsing it (Pillow decodes the image, pypdf reads the
  PDF), never from the name or the browser: only JPEG, PNG and PDF are taken.
- Programs, scripts, HTML and SVG are refused, renamed or not, and so are polyglots: an image or PDF that
  also carries another format (a ZIP, a PDF, a program, a script) or a PDF with active content.
- Size (10 MB), pages (10), image dimensions (at least 600 × 400), and Pillow's pixel limit against
  decompression bombs (40 megapixels).
- Photo quality: too dark or too bright (mean brightness and the share of near-black or near-white pixels)
  and blur (variance of the Laplacian on the image scaled to 1,000 px).
- Encrypted or malformed PDFs are refused.
- What is kept of an image is re-encoded without its metadata (EXIF, GPS, the camera), turned upright first;
  the hash of what the client sent and of what is kept are both recorded.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from crm.core.errors import ValidationFailed
from crm.core.i18n import N_

MAX_BYTES = 10 * 1024 * 1024
MAX_PAGES = 10
MAX_PIXELS = 40_000_000
MIN_LONG, MIN_SHORT = 600, 400
DARK_MEAN, BRIGHT_MEAN = 45, 225
EXTREME_SHARE = 0.6  # this share of pixels near black (or near white) is a photo nobody can read
SHARP_ENOUGH = 80.0  # variance of the Laplacian (at 1,000 px) below this: blurred (a sharp card ~950)
EXECUTABLES = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa")
MARKUP = (b"<", b"\xef\xbb\xbf<")
FOREIGN = (b"PK\x03\x04", b"%PDF-", b"MZ\x90\x00", b"\x7fELF", b"<script", b"<?php", b"<html", b"<svg")
PDF_ACTIVE = (b"/JavaScript", b"/JS ", b"/JS(", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA")


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


REFUSALS = {
    "empty": N_("The file is empty. Choose the photo or scan again."),
    "too_large": N_("The file is larger than 10 MB. Send a smaller photo or scan."),
    "program": N_("This file is a program, not a document. Send a photo or a PDF scan."),
    "markup": N_("Web pages and drawings (HTML, SVG) are not accepted. Send a photo or a PDF scan."),
    "type": N_("Send a JPEG or PNG photo, or a PDF scan."),
    "polyglot": N_("This file hides another file inside it. Send the plain photo or scan."),
    "pdf_active": N_("This PDF contains scripts or attachments. Send a plain scan."),
    "pdf_encrypted": N_("This PDF is protected by a password. Send it without the password."),
    "pdf_broken": N_("This PDF cannot be read. Scan the document again."),
    "pdf_pages": N_("The PDF has more than 10 pages. Send only the pages of the document."),
    "image_broken": N_("This image cannot be read. Take the photo again."),
    "bomb": N_("This image is far too large to open. Send a normal photo."),
    "too_small": N_("The photo is too small to read. Take it closer, at least 600 × 400 pixels."),
    "too_dark": N_("The photo is too dark. Take it again in better light."),
    "too_bright": N_("The photo is too bright or has glare. Take it again away from direct light."),
    "blurred": N_("The photo is blurred. Hold still, let the camera focus and take it again."),
}


class UploadRefused(ValidationFailed):
    def __init__(self, code: str):
        self.code = code
        super().__init__(REFUSALS[code], field_errors={"file": REFUSALS[code]})


@dataclass
class Checked:
    """An upload that passed, as it will be kept."""

    content_type: str
    content: bytes  # images re-encoded without metadata; PDFs as sent
    received_sha256: str
    stored_sha256: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    figures: dict = field(default_factory=dict)  # brightness, extreme shares, sharpness (evidence)


def check_upload(content: bytes) -> Checked:
    """Checked bytes, or UploadRefused with the reason."""
    if not content:
        raise UploadRefused("empty")
    if len(content) > MAX_BYTES:
        raise UploadRefused("too_large")
    if content.startswith(EXECUTABLES):
        raise UploadRefused("program")
    if content.lstrip().startswith(MARKUP) or b"<svg" in content[:2048].lower():
        raise UploadRefused("markup")
    received = hashlib.sha256(content).hexdigest()
    if content.startswith(b"%PDF-"):
        return _pdf(content, received)
    if content.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        return _image(content, received)
    raise UploadRefused("type")


def _foreign_inside(content: bytes, own: bytes) -> bool:
    lowered = content.lower()
    return any(sig != own and content.find(sig, 1) > 0 for sig in FOREIGN[:4]) or any(
        sig in lowered for sig in FOREIGN[4:]
    )


def _pdf(content: bytes, received: str) -> Checked:
    if _foreign_inside(content, b"%PDF-"):
        raise UploadRefused("polyglot")
    if any(marker in content for marker in PDF_ACTIVE):
        raise UploadRefused("pdf_active")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise UploadRefused("pdf_encrypted")
        pages = len(reader.pages)
        reader.pages[0].extract_text()  # reads the first page's content stream
    except UploadRefused:
        raise
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError, AttributeError, OSError):
        raise UploadRefused("pdf_broken") from None
    if pages == 0:
        raise UploadRefused("pdf_broken")
    if pages > MAX_PAGES:
        raise UploadRefused("pdf_pages")
    return Checked("application/pdf", content, received, received, pages=pages)


def _open(content: bytes) -> Image.Image:
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                probe.verify()  # structure and checksums, before decoding
            image = Image.open(io.BytesIO(content))
            image.load()
        return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused("bomb") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UploadRefused("image_broken") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def quality(image: Image.Image) -> dict:
    """Brightness, the shares of near-black and near-white pixels, and sharpness of a photo."""
    gray = ImageOps.grayscale(image)
    gray.thumbnail((1000, 1000))
    histogram = gray.histogram()
    total = sum(histogram) or 1
    edges = gray.filter(ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128))
    return {
        "brightness": round(ImageStat.Stat(gray).mean[0], 1),
        "dark_share": round(sum(histogram[:30]) / total, 3),
        "bright_share": round(sum(histogram[246:]) / total, 3),
        "sharpness": round(ImageStat.Stat(edges).var[0], 1),
    }


def _image(content: bytes, received: str) -> Checked:
    own = b"\xff\xd8\xff" if content.startswith(b"\xff\xd8") else b"\x89PNG"
    if _foreign_inside(content, own):
        raise UploadRefused("polyglot")
    image = _open(content)
    kind = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(image.format or "")
    if kind is None:
        raise UploadRefused("type")
    image = ImageOps.exif_transpose(image)
    width, height = image.size
    if max(width, height) < MIN_LONG or min(width, height) < MIN_SHORT:
        raise UploadRefused("too_small")
    figures = quality(image)
    if figures["brightness"] < DARK_MEAN or figures["dark_share"] > EXTREME_SHARE:
        raise UploadRefused("too_dark")
    if figures["brightness"] > BRIGHT_MEAN or figures["bright_share"] > EXTREME_SHARE:
        raise UploadRefused("too_bright")
    if figures["sharpness"] < SHARP_ENOUGH:
        raise UploadRefused("blurred")
    kept = io.BytesIO()
    clean = image.convert("RGB") if kind == "image/jpeg" else image
    if kind == "image/jpeg":
        clean.save(kept, "JPEG", quality=92)  # no exif, icc or comments carried over
    else:
        clean.save(kept, "PNG")
    stored = kept.getvalue()
    return Checked(
        kind,
        stored,
        received,
        hashlib.sha256(stored).hexdigest(),
        width=width,
        height=height,
        figures=figures,
    )
