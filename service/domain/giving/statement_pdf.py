"""A giving statement as a PDF (fpdf2), in a font that ships with the service.

fpdf2's built-in fonts know Latin-1 only, and donors' names do not: the statement uses DejaVu
Sans from service/static/fonts (licence beside it), which covers Latin with every accent,
Greek, Cyrillic, Hebrew and Arabic, so `make run` needs no system font. It has no Chinese,
Japanese or Korean: such characters print as "?" (the email address beside the name still
says who the donor is). fpdf2 shapes right-to-left scripts only with uharfbuzz, which the
service does not depend on; without it, `visual` puts such text in display order itself
(fpdf2's Unicode bidi algorithm, then Arabic letters in their joined forms).

The statement is in the donor's language (`Member.language`, English when unset), with amounts
and dates as that language writes them; a right-to-left one (Arabic) is laid out from the right,
the table's columns in reading order. The document carries its build time as creation date and
nothing random, so the same statement gives the same text.
"""
from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext
from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace, TTFFont

from service.i18n import N_, format_day, in_language, text_direction
from service.models import Contribution, ContributionKind
from service.money import format_money

if TYPE_CHECKING:
    from service.domain.giving.statements import GivingStatement  # for type checking only: statements.py imports this module

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
FONT = "DejaVuSans"
SHAPING = importlib.util.find_spec("uharfbuzz") is not None
KINDS = {ContributionKind.MEMBERSHIP: N_("Membership"), ContributionKind.ONE_TIME: N_("One-time gift"),
         ContributionKind.GIFT_PURCHASE: N_("Gift membership")}
# TRANSLATORS: the headings of the statement's table of contributions (and of the account page's).
COLUMNS = (N_("Date"), N_("Receipt"), N_("Kind"), N_("Amount"), N_("Refunded"), N_("Disputed"), N_("Net"))
WIDTHS = (22, 26, 32, 28, 27, 27, 28)  # millimetres: the 190 between A4's margins
ALIGNS = ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
MIRRORED = dict(zip("()[]{}<>«»", ")(][}{><»«", strict=True))


def kind_name(kind: ContributionKind) -> str:
    """What a contribution was, in the page's or statement's language: "One-time gift", "Don ponctuel"."""
    message = KINDS.get(kind)
    return gettext(message) if message else str(kind)


def render(statement: GivingStatement, built_at: datetime) -> bytes:
    """The statement as PDF bytes, in the donor's language: organisation, donor, the year's exact
    dates, every contribution, totals per currency net of refunds and disputes, and the
    organisation's tax statement (printed as configured)."""
    config = current_app.config
    with in_language(statement.member.language) as language:
        pdf = _document(built_at, language)
        _heading(pdf, config["RECEIPT_ORG_NAME"], config["RECEIPT_TAX_ID"], statement)
        _table(pdf, statement.contributions)
        _totals(pdf, statement.totals)
        _paragraph(pdf, config["RECEIPT_STATEMENT"])
        pdf.ln(3)
        _paragraph(pdf, gettext("Thank you for supporting our journalism."))
    return bytes(pdf.output())


def _document(built_at: datetime, language: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(built_at)
    pdf.set_lang(language)
    pdf.set_margins(10, 12)
    pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    if SHAPING:
        pdf.set_text_shaping(True)
    pdf.add_page()
    return pdf


def _rtl() -> bool:
    return text_direction() == "rtl"


def _line(pdf: FPDF, text: str, size: float = 10, style: str = "") -> None:
    pdf.set_font(FONT, style, size)
    pdf.cell(0, size * 0.55, _printable(text), align="R" if _rtl() else "L", new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(0, 5, _printable(text), align="R" if _rtl() else "J", new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, org_name: str, tax_id: str, statement: GivingStatement) -> None:
    title = gettext("Giving statement, fiscal year %(year)s", year=statement.year.year)
    pdf.set_title(title)
    pdf.set_author(org_name)
    _line(pdf, org_name, 16, "B")
    if tax_id:
        _line(pdf, gettext("Tax id: %(tax_id)s", tax_id=tax_id))
    pdf.ln(4)
    _line(pdf, title, 13, "B")
    _line(pdf, gettext("Contributions paid from %(period)s (UTC)", period=statement.year.period))
    pdf.ln(3)
    member = statement.member
    if member.name:
        _line(pdf, gettext("Donor: %(name)s", name=member.name))
    _line(pdf, gettext("Email: %(email)s", email=member.email))
    pdf.ln(4)


def _table(pdf: FPDF, contributions: Sequence[Contribution]) -> None:
    """One row per contribution; in a right-to-left language the columns run from the right."""
    rtl = _rtl()

    def ordered(cells: Sequence[str]) -> tuple[str, ...]:
        return tuple(reversed(cells)) if rtl else tuple(cells)

    mirrored = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
    pdf.set_font(FONT, size=9)
    with pdf.table(col_widths=tuple(reversed(WIDTHS)) if rtl else WIDTHS,
                   text_align=ordered([mirrored[a] for a in ALIGNS] if rtl else ALIGNS),
                   headings_style=FontFace(emphasis="BOLD"), borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                   line_height=5.5, first_row_as_headings=True) as table:
        table.row(ordered([_printable(gettext(heading)) for heading in COLUMNS]))
        for c in contributions:
            table.row(ordered([_printable(cell) for cell in (
                format_day(c.paid_at, "yyyy-MM-dd", "short"), c.receipt_number or "", kind_name(c.kind), _money(c.amount, c.currency),
                _money(c.refunded_amount, c.currency, "-"), _money(c.disputed_amount, c.currency, "-"),
                _money(c.net_amount, c.currency))]))
    pdf.ln(4)


def _money(amount: int, currency: str, zero: str | None = None) -> str:
    """As the statement's language writes it ("$25.00", "25,00 $US")."""
    return zero if zero is not None and not amount else format_money(amount, currency)


def _totals(pdf: FPDF, totals: dict[str, int]) -> None:
    _line(pdf, gettext("Total, net of refunds and disputes"), 11, "B")
    for currency, amount in totals.items():
        # TRANSLATORS: one line of the statement's totals, e.g. "USD: $40.00".
        _line(pdf, gettext("%(currency)s: %(amount)s", currency=currency.upper(), amount=_money(amount, currency)), 11)
    pdf.ln(4)


# --- text the font can show, in the order it is shown -----------------------------------------


def _printable(text: str) -> str:
    """`text` in display order (unless fpdf2 shapes text itself), with what the font lacks as "?",
    and without the invisible marks it lacks (the isolates Babel puts around a currency sign in
    Arabic: the order is already settled)."""
    glyphs, shown = _glyphs(), text if SHAPING else visual(text)
    return "".join(ch if ord(ch) in glyphs or not ch.isprintable() else "?" for ch in shown
                   if ord(ch) in glyphs or unicodedata.category(ch) != "Cf")


@cache
def _glyphs() -> frozenset[int]:
    pdf = FPDF()
    pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
    font = pdf.fonts[FONT.lower()]
    assert isinstance(font, TTFFont)
    font.close()  # fpdf2 closes a font's file when it writes a document; this one never does
    return frozenset(font.cmap)


def visual(text: str) -> str:
    """Text containing right-to-left script in the order it is drawn: Arabic letters joined, runs
    reordered by the Unicode bidi algorithm, brackets mirrored inside right-to-left runs."""
    if not any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return text
    shaped = _join_arabic(text)
    paragraph = BidiParagraph(text=shaped, base_direction=auto_detect_base_direction(shaped))
    return "".join(MIRRORED.get(c.character, c.character) if c.embedding_level % 2 else c.character
                   for c in paragraph.get_reordered_characters())


@cache
def _arabic_forms() -> dict[str, dict[str, str]]:
    """Letter -> {"isolated"|"final"|"initial"|"medial": presentation form}, from Unicode's own
    decompositions of the presentation forms (the font has glyphs for them)."""
    glyphs = _glyphs()
    forms: dict[str, dict[str, str]] = {}
    for code in chain(range(0xFE70, 0xFF00), range(0xFB50, 0xFE00)):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and parts[0] in ("<isolated>", "<final>", "<initial>", "<medial>") and code in glyphs:
            forms.setdefault(chr(int(parts[1], 16)), {}).setdefault(parts[0].strip("<>"), chr(code))
    return forms


LAM, ALEFS = "\u0644", {"\u0622": "\ufef5", "\u0623": "\ufef7", "\u0625": "\ufef9", "\u0627": "\ufefb"}


def _join_arabic(text: str) -> str:
    """Each Arabic letter in its contextual form (isolated, final, initial, medial), lam-alef as one."""
    forms, out, i = _arabic_forms(), [], 0
    while i < len(text):
        ch = text[i]
        before = _neighbour(text, i, -1)
        joined_before = before is not None and _joins_next(before, forms) and "final" in forms.get(ch, {})
        if ch == LAM and i + 1 < len(text) and text[i + 1] in ALEFS:
            # The isolated ligature's final form is the next code point.
            out.append(chr(ord(ALEFS[text[i + 1]]) + joined_before))
            i += 2
            continue
        after = _neighbour(text, i, 1)
        joined_after = _joins_next(ch, forms) and after is not None and "final" in forms.get(after, {})
        shape = {(True, True): "medial", (True, False): "final", (False, True): "initial"}.get((joined_before, joined_after), "isolated")
        out.append(forms.get(ch, {}).get(shape, ch))
        i += 1
    return "".join(out)


def _joins_next(ch: str, forms: dict[str, dict[str, str]]) -> bool:
    return "initial" in forms.get(ch, {}) or "medial" in forms.get(ch, {})


def _neighbour(text: str, i: int, step: int) -> str | None:
    """The next letter before or after position i, skipping vowel marks (which do not break joining)."""
    i += step
    while 0 <= i < len(text) and unicodedata.category(text[i]) in ("Mn", "Me"):
        i += step
    return text[i] if 0 <= i < len(text) else None
