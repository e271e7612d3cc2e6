"""The entry point: compose a letter of the document type, then fit it to its page count."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from sisra.common.dates import french_date
from sisra.common.ins import shareable_ins
from sisra.platform.demo.pdfs.annexes import _annex_makers
from sisra.platform.demo.pdfs.biology import _body_biologie
from sisra.platform.demo.pdfs.clinical import _POSTCODES, _STREETS
from sisra.platform.demo.pdfs.consultation import _body_consultation
from sisra.platform.demo.pdfs.context import (
    _DOCTOR_KINDS,
    _age,
    _Ctx,
    _kind,
    _sex_from_ins,
    _type_code,
    _words,
)
from sisra.platform.demo.pdfs.furniture import (
    _canvas_maker,
    _draw_first,
    _draw_later,
    _Letterhead,
    _patient_block,
    _phone,
    _signature,
)
from sisra.platform.demo.pdfs.hospital import _body_hospitalisation, _body_lettre_liaison
from sisra.platform.demo.pdfs.imaging import _body_imagerie
from sisra.platform.demo.pdfs.layout import (
    _ANNEX_LABEL,
    _H1,
    _SMALL,
    BOTTOM,
    FIRST_TOP,
    LATER_TOP,
    MARGIN_X,
    PAGE_H,
    TEXT_W,
    _AnnexBreak,
    _clean,
    _esc,
    _fr,
    _p,
)
from sisra.platform.demo.pdfs.letters import _body_courrier
from sisra.platform.demo.pdfs.operative import _body_operatoire
from sisra.platform.demo.pdfs.other import _body_autre
from sisra.platform.demo.pdfs.prescription import _body_ordonnance


def render_pdf(
    *,
    title: str,
    type_label: str,
    author_name: str,
    author_profession: str,
    author_structure: str,
    author_city: str,
    patient_name: str,
    patient_birth_date: date,
    patient_ins: str | None,
    clinical_date: date,
    rng: random.Random,
    min_pages: int = 2,
    patient_identity_status: str | None = None,
) -> bytes:
    """A multi-page French medical PDF fitting ``type_label`` and the author's profession.

    ``type_label`` is a document type label or code of :mod:`sisra.common.doctypes`;
    ``author_profession`` may be a profession ("Cardiologue", "Infirmière") or an RPPS
    specialty ("Cardiologie et maladies vasculaires"). The sex, when needed for French
    agreement, is read from the INS. The INS is printed only when ``patient_identity_status``
    is « qualifiée » (INS référentiel: :func:`sisra.common.ins.shareable_ins`). The result
    has between ``max(2, min_pages)`` and ``max(4, min_pages)`` pages, its metadata title and
    author set.
    """
    low = max(2, min_pages)
    high = max(4, min_pages)
    # The letter fills (about) the first page; annexes follow from page 2, about two blocks
    # per page. Count the pages once built and adjust the number of blocks if needed.
    blocks = (5 * (rng.randint(low, high) - 1) + 1) // 2
    one_per_page = False
    state = rng.getstate()
    tried: set[tuple[int, bool]] = set()
    data = b""
    for _attempt in range(10):
        # Compose from the same random state each time, so that adjusting the annexes does
        # not change the rest of the document (and the output stays deterministic).
        rng.setstate(state)
        tried.add((blocks, one_per_page))
        story, head, stamp = _compose(
            title=title,
            type_label=type_label,
            author_name=author_name,
            author_profession=author_profession,
            author_structure=author_structure,
            author_city=author_city,
            patient_name=patient_name,
            patient_birth_date=patient_birth_date,
            patient_ins=patient_ins,
            patient_identity_status=patient_identity_status,
            clinical_date=clinical_date,
            rng=rng,
            blocks=blocks,
            one_per_page=one_per_page,
        )
        data, pages = _build(story, head, type_label, stamp)
        if low <= pages <= high:
            break
        step = -1 if pages > high else 1
        if blocks + step < 1 or (blocks + step, one_per_page) in tried:
            # Going back and forth between too few and too many pages: one block per page.
            if one_per_page:
                break
            one_per_page = True
            blocks = max(1, low - 1)
        else:
            blocks += step
    return data


def _compose(
    *,
    title: str,
    type_label: str,
    author_name: str,
    author_profession: str,
    author_structure: str,
    author_city: str,
    patient_name: str,
    patient_birth_date: date,
    patient_ins: str | None,
    patient_identity_status: str | None,
    clinical_date: date,
    rng: random.Random,
    blocks: int,
    one_per_page: bool,
) -> tuple[list[Flowable], _Letterhead, str]:
    kind = _kind(author_profession)
    name = author_name.strip()
    if kind in _DOCTOR_KINDS and not name.lower().startswith(("dr ", "dr.", "docteur", "pr ")):
        name = f"Dr {name}"
    sex = _sex_from_ins(patient_ins)
    age = _age(patient_birth_date, clinical_date)
    type_code = _type_code(type_label, title)
    ctx = _Ctx(
        rng=rng,
        title=title,
        type_code=type_code,
        kind=kind,
        author_name=name,
        author_profession=author_profession,
        author_structure=author_structure,
        author_city=author_city,
        patient_name=patient_name,
        birth_date=patient_birth_date,
        ins=shareable_ins(patient_ins, patient_identity_status),
        day=clinical_date,
        sex=sex,
        age=age,
    )
    ctx.w = _words(rng, sex, age, patient_name)
    ctx.w.update({"day": _fr(clinical_date), "author": name})

    postcode = rng.choice(_POSTCODES.get(author_city, ("",)))
    street = f"{rng.randint(1, 140)} {rng.choice(_STREETS)}"
    head = _Letterhead(
        structure=author_structure,
        author=name,
        profession=author_profession,
        address=", ".join(x for x in (street, f"{postcode} {author_city}".strip()) if x),
        phone=f"Tél. {_phone(rng)} – Secrétariat du lundi au vendredi",
        where_when=f"{author_city}, le {french_date(clinical_date)}"
        if author_city
        else f"Le {french_date(clinical_date)}",
        footer_patient=f"{patient_name} – né(e) le {_fr(patient_birth_date)} – {title}",
        title=title,
    )
    story: list[Flowable] = [
        Paragraph(_esc(title), _H1),
        _p(f"Type de document : {type_label}", _SMALL),
        Spacer(1, 4),
        _patient_block(ctx),
        Spacer(1, 8),
        *_BODIES.get(type_code, _body_autre)(ctx),
        *_signature(ctx),
    ]
    makers = _annex_makers(type_code)
    for i in range(blocks):
        if i == 0:
            story.append(_AnnexBreak())
        elif one_per_page:
            story.append(PageBreak())
        else:
            story.append(Spacer(1, 10))
        story.append(Paragraph(_esc(f"Annexe {i + 1}"), _ANNEX_LABEL))
        story.extend(makers[i % len(makers)](ctx))
    stamp = f"D:{clinical_date:%Y%m%d}{rng.randint(8, 19):02d}{rng.randint(0, 59):02d}00+00'00'"
    return story, head, stamp


def _build(story: list[Flowable], head: _Letterhead, subject: str, stamp: str) -> tuple[bytes, int]:
    buffer = BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=LATER_TOP,
        bottomMargin=BOTTOM,
        title=_clean(head.title),
        author=_clean(head.author),
        subject=_clean(subject),
        creator="sisra – région de démonstration",
        producer="sisra demo (reportlab)",
        keywords="document médical fictif, démonstration",
        invariant=1,
        pageCompression=0,
    )
    first = Frame(
        MARGIN_X,
        BOTTOM,
        TEXT_W,
        PAGE_H - FIRST_TOP - BOTTOM,
        id="first",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    later = Frame(
        MARGIN_X,
        BOTTOM,
        TEXT_W,
        PAGE_H - LATER_TOP - BOTTOM - 0.4 * cm,
        id="later",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                id="first", frames=[first], onPage=_draw_first(head), autoNextPageTemplate="later"
            ),
            PageTemplate(id="later", frames=[later], onPage=_draw_later(head)),
        ]
    )
    doc.build(story, canvasmaker=_canvas_maker(stamp))
    return buffer.getvalue(), doc.page


_BODIES: dict[str, Callable[[_Ctx], list[Flowable]]] = {
    "cr_consultation": _body_consultation,
    "biologie": _body_biologie,
    "cr_imagerie": _body_imagerie,
    "cr_operatoire": _body_operatoire,
    "cr_hospitalisation": _body_hospitalisation,
    "lettre_liaison": _body_lettre_liaison,
    "ordonnance": _body_ordonnance,
    "courrier": _body_courrier,
    "autre": _body_autre,
}
