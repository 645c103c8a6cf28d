"""A plain text document as PDF, with nothing but the standard library: A4 pages of lines in Helvetica, for
records a regulator reads and prints (the KYC evidence timeline). Text outside Windows-1252 is transliterated
(`anyascii`), since the standard fonts carry no other letters; the caller keeps the exact text elsewhere (the
audit trail, the CSV)."""

from __future__ import annotations

import textwrap
import zlib

from anyascii import anyascii

WIDTH, HEIGHT = 595, 842  # A4 in points
MARGIN, SIZE, LEADING = 42, 9, 12
PER_PAGE = (HEIGHT - 2 * MARGIN) // LEADING
WRAP = 112  # characters of Helvetica 9 pt in the text width


def _encodable(text: str) -> str:
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            out.append(anyascii(ch) or "?")
    return "".join(out)


def _escape(line: str) -> bytes:
    raw = _encodable(line).encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def lines_to_pdf(title: str, lines: list[str | tuple[str, str]]) -> bytes:
    """`lines`: text, or ("bold", text) for a heading; long lines wrap. Returns the PDF's bytes."""
    wrapped: list[tuple[str, str]] = []
    for line in [("bold", title), "", *lines]:
        style, text = line if isinstance(line, tuple) else ("", line)
        for part in textwrap.wrap(text, WRAP, subsequent_indent="    ") or [""]:
            wrapped.append((style, part))
    pages = [wrapped[i : i + PER_PAGE] for i in range(0, len(wrapped), PER_PAGE)] or [[]]
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog, pages_id = add(b""), add(b"")
    regular = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    kids = []
    for number, page in enumerate(pages, start=1):
        stream = [f"BT /F1 {SIZE} Tf {LEADING} TL {MARGIN} {HEIGHT - MARGIN} Td".encode()]
        for style, text in page:
            font = b"/F2" if style == "bold" else b"/F1"
            stream.append(font + f" {SIZE} Tf (".encode() + _escape(text) + b") Tj T*")
        footer = f"{_encodable(title)[:80]} - page {number} of {len(pages)}"
        stream.append(f"ET BT /F1 7 Tf {MARGIN} 24 Td (".encode() + _escape(footer) + b") Tj ET")
        content = zlib.compress(b"\n".join(stream))
        content_id = add(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"
        )
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>"
                % (pages_id, WIDTH, HEIGHT, content_id, regular, bold)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    return bytes(out)
