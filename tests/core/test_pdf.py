"""The plain PDF writer: pages that PDF readers open, lines wrapped, any script written (transliterated where
the standard fonts have no letters), brackets and backslashes kept."""

import io

from pypdf import PdfReader

from crm.core.pdf import PER_PAGE, lines_to_pdf


def test_a_long_document_in_several_scripts_reads_back():
    lines = [f"line {n} (with brackets) and a back\\slash" for n in range(PER_PAGE * 2)]
    lines += ["Müller, García, Владимир Путин, محمد", "x" * 300]
    reader = PdfReader(io.BytesIO(lines_to_pdf("Evidence", lines)))
    assert len(reader.pages) == 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "line 0 (with brackets) and a back\\slash" in text
    assert "Müller, García, Vladimir Putin" in text and "page 3 of 3" in text
