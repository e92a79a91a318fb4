"""The CSV the accountant turns into internal billing vouchers: French spreadsheet conventions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from chatbot.db.models import ContributionStatus, ReviewState
from chatbot.formatting import Formatter
from chatbot.messages import Catalogue
from chatbot.money import CENTS_PER_EURO
from chatbot.services.contributions import ContributionLine
from chatbot.services.statements import standing
from chatbot.text import spreadsheet_cell


def status_key(row: ContributionLine) -> str:
    """The catalogue key of the one word for where a declaration stands (see statements.standing)."""
    return f"export.status.{standing(row)}"


def flags(row: ContributionLine, t: Catalogue) -> list[str]:
    """What deserves a look: beyond the announcement threshold without an intention, beyond the envelope, asked
    about."""
    found = []
    if row.flagged:
        found.append(t("export.flags.threshold"))
    if row.overrun:
        found.append(t("export.flags.overrun"))
    if row.review == ReviewState.QUESTIONED:
        found.append(t("export.flags.questioned"))
    return found


def contributions_csv(rows: Iterable[ContributionLine], t: Catalogue, fmt: Formatter, timezone: tzinfo) -> bytes:
    """`;`-separated, decimal commas, UTF-8 with a BOM so that spreadsheet software opens it right. Hours are
    rounded to two decimals, so the exact minutes come too, last (the columns before keep the places spreadsheets
    already rely on): amount = round(minutes × rate / 60, 2). Billing and payment dates are days in `timezone`."""

    def day(at: datetime | None) -> str:
        return fmt.date_short(at.astimezone(timezone).date()) if at is not None else ""

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
                t(status_key(row)),
                ", ".join(flags(row, t)),
                row.intention_id if row.intention_id is not None else "",
                spreadsheet_cell(row.invoice_ref or ""),
                day(row.billed_at),
                day(row.paid_at),
                row.minutes if row.minutes is not None else "",  # exact: the hours are rounded; always last
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class MemberTotal:
    username: str
    count: int  # declarations that count (not cancelled)
    minutes: int
    declared_cents: int  # declared, not yet billed (questioned and confirmed ones included)
    billed_cents: int  # billed, not yet paid
    paid_cents: int
    cancelled_count: int

    @property
    def total_cents(self) -> int:
        return self.declared_cents + self.billed_cents + self.paid_cents


def member_totals(rows: Iterable[ContributionLine]) -> list[MemberTotal]:
    """One total per member, by username (the order of a summary)."""
    by_member: dict[str, list[ContributionLine]] = {}
    for row in rows:
        by_member.setdefault(row.username, []).append(row)
    totals = []
    for username in sorted(by_member, key=str.casefold):
        lines = by_member[username]
        counting = [r for r in lines if r.status != ContributionStatus.CANCELLED]

        def cents(status: str, of: list[ContributionLine] = counting) -> int:
            return sum(r.amount_cents for r in of if r.status == status)

        totals.append(
            MemberTotal(
                username=username,
                count=len(counting),
                minutes=sum(r.minutes or 0 for r in counting),
                declared_cents=cents(ContributionStatus.DECLARED),
                billed_cents=cents(ContributionStatus.BILLED),
                paid_cents=cents(ContributionStatus.PAID),
                cancelled_count=len(lines) - len(counting),
            )
        )
    return totals


def member_summary_csv(totals: Iterable[MemberTotal], t: Catalogue) -> bytes:
    """The per-member summary that goes with `/contrib export <année> par-membre`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(t.strings("export.summary_columns"))
    for total in totals:
        writer.writerow(
            [
                spreadsheet_cell(total.username),
                total.count,
                _decimal(Decimal(total.declared_cents) / CENTS_PER_EURO),
                _decimal(Decimal(total.billed_cents) / CENTS_PER_EURO),
                _decimal(Decimal(total.paid_cents) / CENTS_PER_EURO),
                _decimal(Decimal(total.total_cents) / CENTS_PER_EURO),
                total.cancelled_count,
                total.minutes,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _decimal(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}".replace(".", ",")
