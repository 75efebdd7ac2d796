"""The receipt route: a paid payment's receipt as HTML (Jinja2, templates/receipt.html) or
as a PDF, drawn with fpdf2's built-in Helvetica (no font files to ship). Those fonts cover
Latin-1 only, so other characters are spelled in it first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.errors import PaymentNotFound, PaymentStateConflict
from clinicflow.payments.receipts.service import ReceiptService
from clinicflow.payments.receipts.views import Receipt

# fpdf2 (with fontTools and Pillow) takes ~0.17 s to import, in every process that wires the
# app: imported by the first PDF drawn (docs/architecture.md, "Start-up").
if TYPE_CHECKING:
    from fpdf import FPDF

router = APIRouter(prefix="/v1", tags=["payments"])
ReceiptsDep = Annotated[ReceiptService, Depends(provided(ReceiptService))]
PDF = "application/pdf"
TEMPLATES = Path(__file__).parent / "templates"


@router.get(
    "/payments/{payment_id}/receipt",
    response_class=HTMLResponse,
    **documented(
        "getReceipt",
        "A paid payment's receipt, as HTML or PDF",
        *SIGNED_IN,
        PaymentNotFound,
        PaymentStateConflict,
        responses={200: {"content": {"text/html": {}, PDF: {}}}},
    ),
)
async def receipt(
    receipts: ReceiptsDep,
    actor: CurrentActor,
    payment_id: str,
    format: Literal["html", "pdf"] | None = None,
    accept: Annotated[str, Header()] = "",
) -> Response:
    made = await receipts.receipt(actor, payment_id)
    if format == "pdf" or (format is None and PDF in accept):
        headers = {"Content-Disposition": f'inline; filename="receipt-{payment_id}.pdf"'}
        return Response(render_pdf(made), media_type=PDF, headers=headers)
    return HTMLResponse(render_html(made))


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


def render_html(receipt: Receipt) -> str:
    return _env.get_template("receipt.html").render(r=receipt)


_SPELLED = str.maketrans({"—": "-", "–": "-", "−": "-", "’": "'", "·": "|", "×": "x", "…": "..."})
_COLUMNS = (("Date of service", 30), ("Service", 96), ("HSA/FSA", 20), ("Amount", 24))


def _t(text: str) -> str:
    return text.translate(_SPELLED).encode("latin-1", "replace").decode("latin-1")


def render_pdf(r: Receipt) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_title(_t(f"Receipt {r.order_id}"))
    pdf.set_author(_t(r.legal_name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    _row(pdf, r.legal_name, 8)
    pdf.set_font("Helvetica", size=10)
    for line in (*r.address, f"Tax ID (EIN): {r.tax_id}", r.contact):
        if line:
            _row(pdf, line)
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    _row(pdf, "Itemized receipt", 7)
    pdf.set_font("Helvetica", size=10)
    for label, value in (
        ("Receipt number", r.order_id),
        ("Patient", r.patient_name),
        ("Issued", r.issued),
        ("Paid", f"{r.paid_at} - {r.method}"),
        ("Status", r.status),
    ):
        _row(pdf, f"{label}: {value}")
    pdf.ln(3)
    _lines(pdf, r)
    pdf.ln(3)
    for why, amount in r.discounts:
        _row(pdf, f"Discount: {why}: -{amount}")
    for label, value in (
        ("Subtotal", r.subtotal),
        ("Discounts", f"-{r.discount_total}"),
        (f"Total paid ({r.currency})", r.total),
        ("Refunded", f"-{r.refunded}"),
        ("Net paid", r.net_paid),
        ("Of which HSA/FSA-eligible", r.hsa_fsa_total),
    ):
        pdf.cell(130, 6, _t(label))
        pdf.cell(40, 6, _t(value), align="R", new_x="LMARGIN", new_y="NEXT")
    for note in r.notes:
        pdf.multi_cell(0, 5, _t(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _row(pdf: FPDF, text: str, height: float = 5) -> None:
    pdf.cell(0, height, _t(text), new_x="LMARGIN", new_y="NEXT")


def _lines(pdf: FPDF, r: Receipt) -> None:
    pdf.set_font("Helvetica", "B", 9)
    for name, width in _COLUMNS:
        pdf.cell(width, 6, name, border="B", align="R" if name == "Amount" else "L")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in r.lines:
        credit = " (package credit)" if line.paid_with_credit else ""
        cells = (
            line.date_of_service,
            f"{line.description}{credit}",
            "Yes" if line.hsa_fsa_eligible else "No",
            line.total,
        )
        for (name, width), value in zip(_COLUMNS, cells, strict=True):
            pdf.cell(
                width, 6, _t(value)[: int(width / 1.6)], align="R" if name == "Amount" else "L"
            )
        pdf.ln()
        price = f"price {line.unit}, discount -{line.discount}"
        codes = "; ".join(
            part
            for part in (
                f"CPT {', '.join(line.cpt_codes)}" if line.cpt_codes else "",
                f"ICD-10 {', '.join(line.icd10_codes)}" if line.icd10_codes else "",
            )
            if part
        )
        pdf.set_font("Helvetica", "I", 8)
        details = (line.practitioner, price, codes)
        pdf.cell(30, 5, "")
        pdf.multi_cell(0, 5, _t("; ".join(p for p in details if p)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
