"""Upload checks on generated files: a good photo passes and is kept without its EXIF; dark, bright, blurred,
small, broken, bomb, renamed program, HTML, SVG, polyglot, encrypted, scripted and broken PDFs are each
refused with their own reason."""

import io
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from crm.kyc.documents.checks import REFUSALS, UploadRefused, check_upload
from crm.kyc.documents.samples import document_photo


def refused(content: bytes) -> str:
    with pytest.raises(UploadRefused) as caught:
        check_upload(content)
    assert caught.value.field_errors["file"] == REFUSALS[caught.value.code]
    return caught.value.code


def pdf(pages: int = 1, password: str = "", script: bool = False) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if script:  # a document that runs JavaScript when opened
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
        writer._root_object[NameObject("/OpenAction")] = action
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_good_photo_passes_and_is_kept_without_its_metadata():
    sent = document_photo(exif=True)
    assert Image.open(io.BytesIO(sent)).getexif()
    checked = check_upload(sent)
    assert checked.content_type == "image/jpeg" and (checked.width, checked.height) == (1200, 800)
    kept = Image.open(io.BytesIO(checked.content))
    assert not kept.getexif() and "exif" not in kept.info
    assert checked.received_sha256 != checked.stored_sha256
    assert set(checked.figures) == {"brightness", "dark_share", "bright_share", "sharpness"}
    assert check_upload(document_photo(fmt="PNG")).content_type == "image/png"


def test_poor_photos_are_refused_with_what_to_do():
    assert refused(document_photo(background=(10, 10, 12))) == "too_dark"
    assert refused(document_photo(background=(255, 255, 255), blur=6)) in ("too_bright", "blurred")
    assert refused(document_photo(blur=3)) == "blurred"
    assert check_upload(document_photo(blur=1)).figures["sharpness"] > 80  # a little soft still reads
    assert refused(document_photo(size=(500, 300))) == "too_small"


def test_what_is_not_a_document_is_refused():
    assert refused(b"") == "empty"
    assert refused(b"MZ\x90\x00" + b"\x00" * 200) == "program"  # invoice.pdf.exe renamed to .jpg
    assert refused(b"\x7fELF\x02\x01\x01" + b"\x00" * 100) == "program"
    assert refused(b"#!/bin/sh\nrm -rf /\n") == "program"
    assert refused(b"<html><script>alert(1)</script></html>") == "markup"
    assert refused(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>') == "markup"
    assert refused(b"GIF89a" + b"\x00" * 100) == "type"
    assert refused(b"\xff\xd8\xff\xe0" + b"\x00" * 50) == "image_broken"
    assert refused(document_photo() + b"PK\x03\x04" + b"\x00" * 40) == "polyglot"  # a ZIP appended
    assert refused(document_photo()[:-200] + b"<script>fetch('/x')</script>") == "polyglot"
    assert refused(b"\x00" * (10 * 1024 * 1024 + 1)) == "too_large"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("L", (9000, 9000)).save(out, "PNG")  # 81 megapixels, a few kilobytes
    assert len(out.getvalue()) < 200_000
    assert refused(out.getvalue()) == "bomb"


def test_pdfs_encrypted_scripted_broken_or_too_long_are_refused():
    assert check_upload(pdf(2)).pages == 2
    assert refused(pdf(password="secret")) == "pdf_encrypted"
    assert refused(pdf(script=True)) == "pdf_active"
    assert refused(pdf(11)) == "pdf_pages"
    assert refused(b"%PDF-1.7\n" + zlib.compress(b"nonsense" * 50)) == "pdf_broken"
