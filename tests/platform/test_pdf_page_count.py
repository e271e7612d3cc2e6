"""The share's PDF check counts pages from the page tree's root when the tree is flat and
consistent, and walks the tree as before otherwise: same answers, same refusals."""

import io

import pytest
from pypdf import PdfReader, PdfWriter

from sisra.platform.documents import pdf
from sisra.platform.errors import Invalid
from support.documents import make_pdf, slow_to_draw_pdf

LIMIT = 50 * 1024 * 1024


def _pages(data: bytes) -> int:
    return pdf.inspect(io.BytesIO(data), LIMIT).pages


def _encrypted(data: bytes, user: str, owner: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user, owner)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("pages", [1, 3, 12])
def test_a_flat_tree_is_counted_from_its_root_without_parsing_the_pages(pages: int) -> None:
    data = make_pdf(pages=pages)
    reader = PdfReader(io.BytesIO(data), strict=False)
    root = reader.root_object["/Pages"]
    kids = {(k.idnum, k.generation) for k in root["/Kids"]}
    assert len(kids) == pages

    assert pdf.count_pages(reader) == pages
    # the catalog and the tree's root were parsed, not one page
    assert not kids & set(reader.resolved_objects)
    assert _pages(data) == pages


def test_a_count_that_does_not_match_the_kids_is_not_trusted() -> None:
    three = make_pdf(pages=3)
    for lie in (b"/Count 9", b"/Count 0", b"/Count 3.0", b"/Count -3"):
        assert _pages(three.replace(b"/Count 3", lie)) == 3  # the walk counts the pages
    assert _pages(slow_to_draw_pdf(200)) == 1


def test_a_kid_missing_from_the_cross_reference_table_is_walked() -> None:
    three = make_pdf(pages=3)
    reader = PdfReader(io.BytesIO(three), strict=False)
    kid = reader.root_object["/Pages"]["/Kids"][2]
    del reader.xref[kid.generation][kid.idnum]
    # the walk resolves the object by searching the file (what pypdf always did)
    assert pdf.count_pages(reader) == 3


def test_what_the_walk_refused_is_still_refused() -> None:
    three = make_pdf(pages=3)
    for bad in (
        three.replace(b"/Kids", b"/Kidz"),  # a page tree without pages
        b"%PDF-1.7\n garbage",
        _encrypted(three, "secret", "owner"),  # opens only with a password
        three[: len(three) // 3],
    ):
        with pytest.raises(Invalid) as refused:
            _pages(bad)
        assert refused.value.code == "not_a_pdf"
    # encrypted with an empty user password: opens without one, as before
    assert _pages(_encrypted(three, "", "owner")) == 3
