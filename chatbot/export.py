"""The CSV the accountant turns into internal billing vouchers: French spreadsheet conventions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from chatbot.formatting import Formatter
from chatbot.messages import Catalogue
from chatbot.money import CENTS_PER_EURO
from chatbot.services.contributions import ContributionLine
from chatbot.text import spreadsheet_cell


def contributions_csv(rows: list[ContributionLine], t: Catalogue, fmt: Formatter) -> bytes:
    """`;`-separated, decimal commas, UTF-8 with a BOM so that spreadsheet software opens it right. Hours are
    rounded to two decimals, so the exact minutes come too, last (the columns before keep the places spreadsheets
    already rely on): amount = round(minutes × rate / 60, 2)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(t.strings("export.columns"))
    for row in rows:
        writer.writerow(
            [
                row.id,
                fmt.date_short(row.work_date),
                spreadsheet_cell(row.username),
                spreadsheet_cell(row.envelope_name),
                _decimal(Decimal(row.minutes) / 60) if row.minutes is not None else "",
                _decimal(Decimal(row.rate_cents) / CENTS_PER_EURO) if row.rate_cents is not None else "",
                _decimal(Decimal(row.amount_cents) / CENTS_PER_EURO),
                spreadsheet_cell(row.description),
                t(f"export.status.{row.status}"),
                row.minutes if row.minutes is not None else "",  # exact: the hours are rounded
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _decimal(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}".replace(".", ",")
