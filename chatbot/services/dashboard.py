"""A member's dashboard for a budget year (`/contrib moi`): totals per envelope, open intentions, what awaits
invoicing or payment, the questions about their declarations.

Built from aggregates (one grouped query over the member's rows of the year, through the index on member, envelope
and status) and only the rows of the page asked for, so its cost does not follow the size of the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import Contribution, ContributionKind, ContributionStatus, Envelope, Member, ReviewState
from chatbot.services.contributions import ContributionLine, ContributionService

# The dashboard's itemised sections, in the order they are shown.
QUESTIONS = "questions"
INTENTIONS = "intentions"
TO_BILL = "to_bill"  # declared, not yet billed
BILLED = "billed"  # billed, not yet paid
SECTIONS = (QUESTIONS, INTENTIONS, TO_BILL, BILLED)


@dataclass(frozen=True)
class EnvelopeName:
    id: int
    slug: str
    name: str
    year: int


@dataclass
class EnvelopeTotals:
    """One envelope's figures for the member. Declared = to bill + billed + paid (the declarations that count)."""

    envelope: EnvelopeName
    to_bill_cents: int = 0
    to_bill_count: int = 0
    billed_cents: int = 0
    billed_count: int = 0
    paid_cents: int = 0
    paid_count: int = 0
    intentions_open: int = 0
    planned_left_cents: int = 0  # what the member's open intentions still hold in the envelope

    @property
    def declared_cents(self) -> int:
        return self.to_bill_cents + self.billed_cents + self.paid_cents

    @property
    def declared_count(self) -> int:
        return self.to_bill_count + self.billed_count + self.paid_count


@dataclass
class Summary:
    year: int
    envelopes: list[EnvelopeTotals]  # only those where the member has something, in the configuration's order
    envelope_ids: list[int]  # the envelopes of the year where the member has a row (cancelled ones too)
    questioned: int = 0  # the member's declarations in the questioned state (each has an open question)
    questions_open: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # items in each section

    @property
    def empty(self) -> bool:
        return not self.envelopes and not self.questions_open

    def total(self, name: str) -> int:
        return sum(getattr(e, name) for e in self.envelopes)


@dataclass(frozen=True)
class IntentionItem:
    id: int
    envelope_slug: str
    amount_cents: int
    realized_cents: int
    description: str

    @property
    def realized_percent(self) -> int:
        if self.amount_cents <= 0:
            return 100
        return min(100, self.realized_cents * 100 // self.amount_cents)


class DashboardService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._envelopes: dict[int, EnvelopeName] = {}

    async def summary(self, member: Member, year: int) -> Summary:
        """The member's totals for the year, per envelope, and how many items each section holds, in one grouped
        query. The questions are counted by the caller (through the questions service) only when `questioned` says
        some declaration is questioned: an open question keeps its declaration in that state."""
        left = case(
            (
                Contribution.amount_cents > Contribution.realized_cents,
                Contribution.amount_cents - Contribution.realized_cents,
            ),
            else_=0,
        )
        questioned = case((Contribution.review == ReviewState.QUESTIONED, 1), else_=0)
        grouped = (
            select(
                Envelope.id,
                Envelope.slug,
                Envelope.name,
                Contribution.kind,
                Contribution.status,
                func.count(),
                func.coalesce(func.sum(Contribution.amount_cents), 0),
                func.coalesce(func.sum(left), 0),
                func.coalesce(func.sum(questioned), 0),
            )
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .where(Contribution.member_id == member.id, Envelope.year == year)
            .group_by(Envelope.id, Envelope.slug, Envelope.name, Contribution.kind, Contribution.status)
            .order_by(Envelope.id)
        )
        summary = Summary(year, [], [])
        totals: dict[int, EnvelopeTotals] = {}
        for row in (await self.session.execute(grouped)).all():
            envelope_id, slug, name, kind, status, count, cents, left_cents, questioned_count = row
            if envelope_id not in self._envelopes:
                self._envelopes[envelope_id] = EnvelopeName(envelope_id, slug, name, year)
                summary.envelope_ids.append(envelope_id)
            summary.questioned += int(questioned_count)
            if status == ContributionStatus.CANCELLED:
                continue
            entry = totals.setdefault(envelope_id, EnvelopeTotals(self._envelopes[envelope_id]))
            count, cents = int(count), int(cents)
            if kind == ContributionKind.INTENTION:
                if status == ContributionStatus.PLANNED:
                    entry.intentions_open += count
                    entry.planned_left_cents += int(left_cents)
            elif status == ContributionStatus.DECLARED:
                entry.to_bill_count, entry.to_bill_cents = entry.to_bill_count + count, entry.to_bill_cents + cents
            elif status == ContributionStatus.BILLED:
                entry.billed_count, entry.billed_cents = entry.billed_count + count, entry.billed_cents + cents
            elif status == ContributionStatus.PAID:
                entry.paid_count, entry.paid_cents = entry.paid_count + count, entry.paid_cents + cents
        summary.envelopes = [totals[i] for i in summary.envelope_ids if i in totals]
        summary.counts = {
            QUESTIONS: 0,
            INTENTIONS: summary.total("intentions_open"),
            TO_BILL: summary.total("to_bill_count"),
            BILLED: summary.total("billed_count"),
        }
        return summary

    async def intentions(self, member: Member, summary: Summary, offset: int, limit: int) -> list[IntentionItem]:
        """The member's open intentions of the year, oldest first."""
        if limit <= 0:
            return []
        query = (
            select(Contribution)
            .where(
                Contribution.member_id == member.id,
                Contribution.envelope_id.in_(summary.envelope_ids),
                Contribution.status == ContributionStatus.PLANNED,
                Contribution.kind == ContributionKind.INTENTION,
            )
            .order_by(Contribution.id)
            .offset(offset)
            .limit(limit)
        )
        return [
            IntentionItem(c.id, self._envelopes[c.envelope_id].slug, c.amount_cents, c.realized_cents, c.description)
            for c in (await self.session.scalars(query)).all()
        ]

    async def declarations(
        self, member: Member, summary: Summary, status: str, offset: int, limit: int
    ) -> list[ContributionLine]:
        """The member's declarations of the year in this status (declared: to bill; billed: to be paid), oldest
        work first."""
        if limit <= 0:
            return []
        query = (
            select(Contribution)
            .where(
                Contribution.member_id == member.id,
                Contribution.envelope_id.in_(summary.envelope_ids),
                Contribution.status == status,
                Contribution.kind == ContributionKind.DECLARATION,
            )
            .order_by(Contribution.work_date, Contribution.id)
            .offset(offset)
            .limit(limit)
        )
        lines = []
        for c in (await self.session.scalars(query)).all():
            envelope = self._envelopes[c.envelope_id]
            line = ContributionService._line(c, member.username, envelope.slug, envelope.name, envelope.year)
            lines.append(replace(line, review=c.review))
        return lines
