"""Letters as a doctor's software prints them: real PDFs made with reportlab."""

import io


def letter_pdf(lines: list[str]) -> bytes:
    """One A4 page, one line of text per entry (Helvetica, accents included)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in lines:
        c.drawString(60, y, line)
        y -= 16
    c.showPage()
    c.save()
    return buf.getvalue()


def referral_lines(
    *,
    patient: str = "Mme DUPONT Jeanne",
    born: str = "née le 12/03/1950",
    ins: str | None = None,
    recipient: str = "Docteur Paul MARTIN",
    rpps: str | None = None,
    author: str = "Dr Claire ROUX",
) -> list[str]:
    lines = [
        author,
        "Médecine générale — 3 rue des Lilas, 69003 Lyon",
        "",
        f"À l'attention du {recipient}" + (f" (RPPS {rpps})" if rpps else ""),
        "",
        f"Objet : {patient}, {born}",
    ]
    if ins:
        lines.append(f"INS : {ins}")
    return [
        *lines,
        "",
        "Cher confrère,",
        "Je vous adresse cette patiente pour avis concernant une dyspnée d'effort.",
        "Bien confraternellement.",
        author,
    ]
