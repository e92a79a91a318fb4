"""Statements for the accounting tool (Louty): a member's or an envelope's declarations over a month or a year,
where each one stands, and the totals per standing."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.db.models import ContributionStatus, Member, ReviewState
from chatbot.services import Services
from chatbot.services.contributions import ContributionLine
from chatbot.values import Period

# Where a declaration stands, in the order a statement gives its totals (catalogue `export.status.<standing>`).
STANDINGS = ("declared", "questioned", "confirmed", "billed", "paid", "cancelled")


def standing(line: ContributionLine) -> str:
    """Its step (declared, billed, paid, cancelled), and for a declared one the review it is under (questioned,
    confirmed). A billed or paid one questioned afterwards keeps its step (the flags say it is questioned)."""
    if line.status == ContributionStatus.DECLARED and line.review in (ReviewState.QUESTIONED, ReviewState.CONFIRMED):
        return str(line.review)
    return str(line.status)


@dataclass(frozen=True)
class StandingTotal:
    standing: str
    count: int
    cents: int


@dataclass(frozen=True)
class Statement:
    lines: list[ContributionLine]  # oldest first
    totals: list[StandingTotal]  # the standings present, in STANDINGS order
    total_cents: int  # every declaration that counts (all but the cancelled ones)


class StatementService:
    def __init__(self, services: Services) -> None:
        self.contributions = services.contributions

    async def statement(
        self, *, period: Period, member: Member | None = None, envelope_slug: str | None = None
    ) -> Statement:
        lines = await self.contributions.export_rows(
            period.year,
            member_id=member.id if member is not None else None,
            envelope_slug=envelope_slug,
            month=period.month,
        )
        totals = []
        for name in STANDINGS:
            mine = [line for line in lines if standing(line) == name]
            if mine:
                totals.append(StandingTotal(name, len(mine), sum(line.amount_cents for line in mine)))
        total = sum(line.amount_cents for line in lines if line.status != ContributionStatus.CANCELLED)
        return Statement(lines, totals, total)
