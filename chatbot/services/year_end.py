"""The end of a budget year: the closing report (`/budget bilan`), closing with confirmation, and carrying the
envelopes over to the next year (`/budget reconduire`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.models import (
    Contribution,
    ContributionStatus,
    Envelope,
    Member,
    ReviewState,
)
from chatbot.errors import DomainError
from chatbot.services.budget import BudgetService, EnvelopeStatus

UNPAID_SHOWN = 15
_COUNTERS = (
    "to_bill_cents", "to_bill_count", "billed_cents", "billed_count", "open_intentions", "questioned_count",
    "questioned_cents",
)  # fmt: skip  # members named in the report; the others are counted
# A rollover changes amounts by at most this many percent either way (more is surely a typo).
MAX_ROLLOVER_PERCENT = Decimal(100)


@dataclass(frozen=True)
class EnvelopeClosing:
    """One envelope's year, from its row (amount, running totals) and one aggregate over its contributions."""

    status: EnvelopeStatus
    declared_cents: int = 0  # every declaration that counts: to bill + billed + paid
    to_bill_cents: int = 0  # status `declared`: no voucher yet
    to_bill_count: int = 0
    billed_cents: int = 0  # « facturé », not paid yet
    billed_count: int = 0
    paid_cents: int = 0  # « payé »
    open_intentions: int = 0
    open_intention_cents: int = 0  # what they still reserve (their amount less what declarations realised)
    questioned_count: int = 0
    questioned_cents: int = 0


@dataclass(frozen=True)
class UnpaidMember:
    username: str
    lines: int
    cents: int


@dataclass(frozen=True)
class YearReport:
    year: int
    closed: bool
    envelopes: list[EnvelopeClosing]
    unpaid: list[UnpaidMember]  # the first UNPAID_SHOWN, largest amounts first
    unpaid_members: int  # all of them

    def total(self, field: str) -> int:
        return sum(int(getattr(e, field)) for e in self.envelopes)

    @property
    def overrun_cents(self) -> int:
        return sum(e.status.overrun_cents for e in self.envelopes)

    @property
    def needs_confirmation(self) -> bool:
        """Open intentions or declarations not billed yet: closing then is asked twice."""
        return any(e.open_intentions or e.to_bill_count for e in self.envelopes)


@dataclass(frozen=True)
class RolledOver:
    slug: str
    name: str
    old_cents: int
    new_cents: int


@dataclass(frozen=True)
class Rollover:
    year: int
    created: list[RolledOver]
    skipped: list[str]  # slugs that already had an envelope that year, left as they are


def scaled_cents(cents: int, basis_points: int) -> int:
    """`cents` raised (or lowered) by `basis_points` hundredths of a percent, rounded to the nearest cent, a half
    cent up. Integer arithmetic: exact for any amount."""
    numerator = cents * (10_000 + basis_points)
    return (2 * numerator + 10_000) // 20_000


AnySelect = Select[*tuple[Any, ...]]


def unpaid_statements(of_year: ColumnElement[bool], unpaid: list[ContributionStatus]) -> tuple[AnySelect, AnySelect]:
    """Where no GROUPING SETS exist (SQLite): the lines not paid yet and the open intentions per envelope, status
    and review, and the unpaid ones per member — each read from ix_contribution_envelope_id_status_review alone."""
    status, amount = Contribution.status, Contribution.amount_cents
    by_status = (
        select(status, Contribution.review, Contribution.envelope_id, func.count(), func.sum(amount))
        .where(of_year, status.in_([*unpaid, ContributionStatus.PLANNED]))
        .group_by(Contribution.envelope_id, status, Contribution.review)  # the index's order
    )
    by_member = (
        select(Contribution.member_id, func.count(), func.sum(amount))
        .where(of_year, status.in_(unpaid))
        .group_by(Contribution.member_id)
    )
    return by_status, by_member


class YearEndService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, budget: BudgetService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.budget = budget

    async def report(self, year: int) -> YearReport:
        """The closing report, from the year's envelope rows and their running totals, plus two aggregates that read
        only the rows not paid yet and the questioned paid ones, through ix_contribution_envelope_id_status_review
        (an index-only range per envelope and status): a year of paid declarations costs nothing to read again.

        Paid = spent − to bill − billed, and the open intentions' amount is the running `committed_cents`: the
        invariant every change keeps (see BudgetService.recomputed_totals)."""
        statuses = await self.budget.statuses(year)
        closed = await self.budget.is_closed(year)
        if not statuses:
            return YearReport(year, closed, [], [], 0)
        rows = (await self.session.execute(select(Envelope.slug, Envelope.id).where(Envelope.year == year))).all()
        ids = {slug: envelope_id for slug, envelope_id in rows}
        of_year = Contribution.envelope_id.in_(list(ids.values()))
        status = Contribution.status
        amount = Contribution.amount_cents
        review = Contribution.review
        unpaid = [ContributionStatus.DECLARED, ContributionStatus.BILLED]
        per_status, per_member = await self._unpaid_aggregates(of_year, unpaid)
        questioned_paid = (  # the unpaid questioned ones are counted above
            select(Contribution.envelope_id, func.count(), func.sum(amount))
            .where(of_year, status == ContributionStatus.PAID, review == ReviewState.QUESTIONED)
            .group_by(Contribution.envelope_id)
        )
        per_envelope = {envelope_id: dict.fromkeys(_COUNTERS, 0) for envelope_id in ids.values()}
        # Core rather than ORM execution: plain tuples.
        connection = await self.session.connection()
        for row_status, row_review, envelope_id, n, cents in per_status:
            counters = per_envelope[envelope_id]
            if row_status == ContributionStatus.PLANNED:
                counters["open_intentions"] += n
                continue
            prefix = "to_bill" if row_status == ContributionStatus.DECLARED else "billed"
            counters[prefix + "_count"] += n
            counters[prefix + "_cents"] += cents
            if row_review == ReviewState.QUESTIONED:
                counters["questioned_count"] += n
                counters["questioned_cents"] += cents
        for envelope_id, n, total in (await connection.execute(questioned_paid)).all():
            per_envelope[envelope_id]["questioned_count"] += n
            per_envelope[envelope_id]["questioned_cents"] += int(total)
        envelopes = []
        for envelope in statuses:
            counters = per_envelope[ids[envelope.slug]]
            envelopes.append(
                EnvelopeClosing(
                    envelope,
                    declared_cents=envelope.spent_cents,
                    paid_cents=envelope.spent_cents - counters["to_bill_cents"] - counters["billed_cents"],
                    open_intention_cents=envelope.committed_cents,
                    **counters,
                )
            )
        return YearReport(year, closed, envelopes, await self._named(per_member), len(per_member))

    async def _unpaid_aggregates(
        self, of_year: ColumnElement[bool], unpaid: list[ContributionStatus]
    ) -> tuple[list[tuple[str, str | None, int, int, int]], dict[int, list[int]]]:
        """The lines not paid yet (and the open intentions), summed per envelope, status and review — a few dozen
        groups — and the unpaid ones per member. On PostgreSQL one scan of the index gives both (GROUPING SETS);
        SQLite, which has none, reads the range twice. Sums come back as int (PostgreSQL sums a bigint as a
        numeric)."""
        status, review, envelope, member = (
            Contribution.status,
            Contribution.review,
            Contribution.envelope_id,
            Contribution.member_id,
        )
        amount = Contribution.amount_cents
        is_unpaid = status.in_(unpaid)
        connection = await self.session.connection()  # Core: plain tuples
        if connection.dialect.name == "postgresql":
            both = (
                select(
                    status,
                    review,
                    envelope,
                    member,
                    func.count(),
                    func.sum(amount),
                    func.count().filter(is_unpaid),
                    func.coalesce(func.sum(amount).filter(is_unpaid), 0),
                    func.grouping(member),
                )
                .where(of_year, status.in_([*unpaid, ContributionStatus.PLANNED]))
                .group_by(func.grouping_sets(tuple_(envelope, status, review), tuple_(member)))
            )
            per_status, per_member = [], {}
            for row_status, row_review, envelope_id, member_id, n, total, n_unpaid, unpaid_total, by_envelope in (
                await connection.execute(both)
            ).all():
                if by_envelope:
                    per_status.append((row_status, row_review, envelope_id, n, int(total)))
                elif n_unpaid:
                    per_member[member_id] = [n_unpaid, int(unpaid_total)]
            return per_status, per_member
        by_status, by_member = unpaid_statements(of_year, unpaid)
        rows = [(s_, r_, e_, n, int(t)) for s_, r_, e_, n, t in (await connection.execute(by_status)).all()]
        members = {m: [n, int(t)] for m, n, t in (await connection.execute(by_member)).all()}
        return rows, members

    async def _named(self, per_member: dict[int, list[int]]) -> list[UnpaidMember]:
        """The members with declarations not paid yet, largest amounts first (then by name), the first ones."""
        if not per_member:
            return []
        names = dict(
            (
                await self.session.execute(select(Member.id, Member.username).where(Member.id.in_(list(per_member))))
            ).all()
        )
        ranked = sorted(per_member.items(), key=lambda item: (-item[1][1], names.get(item[0], "")))
        return [UnpaidMember(names.get(i, "?"), n, cents) for i, (n, cents) in ranked[:UNPAID_SHOWN]]

    async def close(self, actor: Member, year: int, *, confirmed: bool) -> tuple[YearReport, bool]:
        """Close the year, unless intentions are open or declarations not billed and it is not `confirmed`: then
        nothing changes. Returns the report (as it was before closing) and whether the year was closed."""
        if year > self.budget.current_year():
            raise DomainError("year_in_future", year=year)
        if await self.budget.is_closed(year):
            raise DomainError("year_already_closed", year=year)
        report = await self.report(year)
        if not report.envelopes:
            raise DomainError("year_end_no_envelopes", year=year)
        if report.needs_confirmation and not confirmed:
            return report, False
        await self.budget.close_year(actor, year)
        return report, True

    async def missing_counterparts(self, year: int) -> list[EnvelopeStatus]:
        """The envelopes of the year before that have none of the same slug in `year` (not carried over yet)."""
        have = select(Envelope.slug).where(Envelope.year == year)
        rows = (
            await self.session.scalars(
                select(Envelope).where(Envelope.year == year - 1, Envelope.slug.not_in(have)).order_by(Envelope.id)
            )
        ).all()
        return [EnvelopeStatus.of(e) for e in rows]

    async def roll_over(self, actor: Member, year: int, basis_points: int = 0) -> Rollover:
        """Create `year`'s envelopes from the year before's: same names, circles, rates, modes and flat bounds; the
        amounts changed by `basis_points` (hundredths of a percent), rounded to the nearest cent. Envelopes that
        already exist in `year` are left as they are (and listed); each one created is audited."""
        await self.budget.ensure_open(year)
        if not -10_000 < basis_points <= int(MAX_ROLLOVER_PERCENT) * 100:
            raise DomainError("rollover_percent_out_of_range", most=int(MAX_ROLLOVER_PERCENT))
        await self.budget.ensure_configured_envelopes(year)
        previous = (
            await self.session.scalars(select(Envelope).where(Envelope.year == year - 1).order_by(Envelope.id))
        ).all()
        if not previous:
            raise DomainError("rollover_no_previous", year=year, previous=year - 1)
        have = set((await self.session.scalars(select(Envelope.slug).where(Envelope.year == year))).all())
        created: list[RolledOver] = []
        skipped: list[str] = []
        now = self.clock.now()
        for old in previous:
            if old.slug in have:
                skipped.append(old.slug)
                continue
            envelope = Envelope(
                year=year,
                slug=old.slug,
                name=old.name,
                circle_id=old.circle_id,
                amount_cents=scaled_cents(old.amount_cents, basis_points),
                rate_cents=old.rate_cents,
                mode=old.mode,
                flat_min_cents=old.flat_min_cents,
                flat_max_cents=old.flat_max_cents,
                spent_cents=0,
                committed_cents=0,
                created_at=now,
            )
            self.session.add(envelope)
            await self.session.flush()
            self.budget.audit(
                actor,
                "rollover",
                year,
                envelope=envelope,
                old_cents=old.amount_cents,
                new_cents=envelope.amount_cents,
                detail=_percent_text(basis_points),
            )
            created.append(RolledOver(old.slug, old.name, old.amount_cents, envelope.amount_cents))
        if not created:
            raise DomainError("rollover_nothing", year=year, previous=year - 1)
        return Rollover(year, created, skipped)


def _percent_text(basis_points: int) -> str:
    """`+3 %`, `-2,5 %`, `0 %`: a figure, kept in the audit's detail."""
    value = Decimal(basis_points) / 100
    text = f"{value.normalize():f}".replace(".", ",")
    return ("+" if basis_points > 0 else "") + text + " %"
