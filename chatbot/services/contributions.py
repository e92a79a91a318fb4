"""Declaring, planning, listing, cancelling and exporting contributions, keeping envelope totals exact."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import bindparam, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    COUNTING_DECLARATION,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.money import amount_for_minutes
from chatbot.services.budget import BudgetService, EnvelopeStatus, check_budget_year
from chatbot.services.limits import MAX_BUDGET_REASON, MAX_DESCRIPTION, check_length
from chatbot.values import Duration, FlatAmount, Period, Quantity

# Built once (every declaration runs it; building a statement costs more than SQLite takes to answer it): in one
# round trip, the last declaration just like this one (same member, envelope, day, amount, text, kind), and the
# member's oldest intention on the envelope that still has something left to realise.
_SAME_AND_OPEN_INTENTION = select(
    select(Contribution.id)
    .where(
        Contribution.member_id == bindparam("member_id"),
        Contribution.envelope_id == bindparam("envelope_id"),
        Contribution.work_date == bindparam("work_date"),
        Contribution.amount_cents == bindparam("amount_cents"),
        Contribution.description == bindparam("description"),
        Contribution.kind == bindparam("kind"),
        Contribution.status != ContributionStatus.CANCELLED,
    )
    .order_by(Contribution.id.desc())
    .limit(1)
    .scalar_subquery(),
    select(Contribution.id)
    .where(
        Contribution.member_id == bindparam("member_id"),
        Contribution.envelope_id == bindparam("envelope_id"),
        Contribution.kind == ContributionKind.INTENTION,
        Contribution.status == ContributionStatus.PLANNED,
        Contribution.realized_cents < Contribution.amount_cents,
    )
    .order_by(Contribution.id)
    .limit(1)
    .scalar_subquery(),
)
_INSERT = insert(Contribution).returning(Contribution.id)


@dataclass(frozen=True)
class Outcome:
    """What a declaration or an intention did, for the reply."""

    id: int
    kind: str
    amount_cents: int
    minutes: int | None
    rate_cents: int | None
    work_date: date
    envelope: EnvelopeStatus
    overrun: bool
    near_limit: bool
    flagged: bool
    intention_id: int | None
    intention_left_cents: int | None
    same_as: int | None = None  # an earlier identical declaration by the same member: perhaps sent twice


@dataclass(frozen=True)
class ContributionLine:
    id: int
    username: str
    envelope_slug: str
    envelope_name: str
    year: int
    kind: str
    status: str
    minutes: int | None
    rate_cents: int | None
    amount_cents: int
    work_date: date
    description: str
    flagged: bool
    # What the accountant needs besides (the export and the statements fill them in).
    review: str | None = None  # ReviewState
    intention_id: int | None = None  # the intention this declaration realises
    invoice_ref: str | None = None
    billed_at: datetime | None = None
    paid_at: datetime | None = None
    # With the declarations before it (by number), it took the envelope's counting total beyond its amount.
    overrun: bool = False


@dataclass(frozen=True)
class Listing:
    lines: list[ContributionLine]  # newest first, at most the limit, after the `offset` newest
    count: int  # every line of the listing, on every page
    total_cents: int  # declarations that count (not intentions, not cancelled)
    offset: int = 0  # how many newer lines earlier pages show


@dataclass(frozen=True)
class Cancellation:
    id: int
    kind: str
    amount_cents: int
    owner: str
    envelope: EnvelopeStatus
    released_cents: int  # what the envelope gets back: the amount, or what an intention still held
    reason: str = ""


def overrun_refused(envelope: Envelope, amount_cents: int, remaining_cents: int) -> DomainError:
    """The refusal of an amount that would take an envelope past its amount (`overrun_policy = "refuse"`), worded
    for what is left: some, nothing, or already less than nothing."""
    key = (
        "overrun_refused"
        if remaining_cents > 0
        else "overrun_refused_empty"
        if remaining_cents == 0
        else "overrun_refused_over"
    )
    return DomainError(
        key,
        envelope=envelope.name,
        slug=envelope.slug,
        amount_cents=amount_cents,
        remaining_cents=remaining_cents,
        over_cents=-remaining_cents,
    )


class ContributionService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, budget: BudgetService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.budget = budget

    async def declare(
        self,
        member: Member,
        quantity: Quantity,
        envelope_slug: str,
        *,
        rate_cents: int | None = None,
        work_date: date | None = None,
        description: str = "",
        source_message_id: str,
        intention: bool = False,
    ) -> Outcome:
        """Record work done (or, with `intention`, announced). Raises DomainError and writes nothing if refused."""
        today = self.clock.now().date()
        work_date = work_date or today
        if work_date > today and not intention:
            raise DomainError("date_in_future", date=work_date)
        check_length(description, MAX_DESCRIPTION, "description_too_long")
        year = work_date.year
        check_budget_year(year)
        await self.budget.ensure_open(year)
        envelope = await self.budget.get(envelope_slug, year, for_update=True)
        minutes, rate, amount = self._price(quantity, envelope, rate_cents, intention)
        kind = ContributionKind.INTENTION if intention else ContributionKind.DECLARATION

        same_as, linked = await self._same_and_open_intention(member, envelope, work_date, amount, description, kind)
        before = envelope.spent_cents + envelope.committed_cents
        spent_delta, committed_delta = 0, amount
        if not intention:
            spent_delta, committed_delta = amount, 0
            if linked is not None:
                committed_delta = -min(amount, linked.amount_cents - linked.realized_cents)
        after = before + spent_delta + committed_delta
        overrun = after > envelope.amount_cents and after > before
        if overrun and self.settings.budget.overrun_policy == "refuse":
            raise overrun_refused(envelope, amount, envelope.amount_cents - before)
        flagged = not intention and linked is None and amount > self.settings.budget.announcement_threshold_cents
        row = {
            "member_id": member.id,
            "envelope_id": envelope.id,
            "kind": kind,
            "status": ContributionStatus.PLANNED if intention else ContributionStatus.DECLARED,
            "minutes": minutes,
            "rate_cents": rate,
            "amount_cents": amount,
            "work_date": work_date,
            "description": description.strip(),
            "intention_id": linked.id if linked else None,
            "realized_cents": 0,
            "flagged": flagged,
            "source_message_id": source_message_id,
            "created_at": self.clock.now(),
        }
        if linked is not None:
            linked.realized_cents += amount
            await self.session.flush()
        # Written with two plain statements rather than the unit of work, which costs more than they do. The
        # envelope keeps the new totals as loaded values (this session's changes all go through it; a savepoint
        # undone makes Bot._run_command expire it, and the next transaction's lock reads it afresh).
        connection = await self.session.connection()  # Core: no ORM bookkeeping for these two
        contribution_id = (await connection.execute(_INSERT, row)).scalar_one()
        await self.budget.set_totals(
            envelope, envelope.spent_cents + spent_delta, envelope.committed_cents + committed_delta
        )
        status = EnvelopeStatus.of(envelope)
        threshold = self.settings.budget.warning_percent
        return Outcome(
            id=contribution_id,
            kind=kind,
            amount_cents=amount,
            minutes=minutes,
            rate_cents=rate,
            work_date=work_date,
            envelope=status,
            overrun=overrun,
            near_limit=status.used_percent >= threshold and after > before,
            flagged=flagged,
            intention_id=linked.id if linked else None,
            intention_left_cents=max(0, linked.amount_cents - linked.realized_cents) if linked else None,
            same_as=same_as,
        )

    def _price(
        self, quantity: Quantity, envelope: Envelope, rate_cents: int | None, intention: bool
    ) -> tuple[int | None, int | None, int]:
        """(minutes, rate, amount in cents) for this quantity on this envelope, or the rule that refuses it."""
        if isinstance(quantity, Duration):
            if envelope.mode == "flat":
                raise DomainError(
                    "envelope_flat_only",
                    envelope=envelope.name,
                    slug=envelope.slug,
                    low_cents=envelope.flat_min_cents,
                    high_cents=envelope.flat_max_cents,
                )
            limit = (
                self.settings.budget.max_minutes_per_intention
                if intention
                else self.settings.budget.max_minutes_per_declaration
            )
            if quantity.minutes > limit:
                raise DomainError(
                    "intention_too_long" if intention else "duration_too_long",
                    duration_minutes=quantity.minutes,
                    limit_minutes=limit,
                )
            rate = envelope.rate_cents if rate_cents is None else rate_cents
            if rate > envelope.rate_cents:
                raise DomainError(
                    "rate_above_cap",
                    rate_cents=rate,
                    cap_cents=envelope.rate_cents,
                    envelope=envelope.name,
                    slug=envelope.slug,
                )
            amount = amount_for_minutes(quantity.minutes, rate)
            if amount <= 0:
                raise DomainError("amount_zero")
            return quantity.minutes, rate, amount
        assert isinstance(quantity, FlatAmount)
        if rate_cents is not None:
            raise DomainError("rate_with_flat")
        if envelope.mode == "hours":
            raise DomainError("envelope_hours_only", envelope=envelope.name, slug=envelope.slug)
        low, high = envelope.flat_min_cents, envelope.flat_max_cents
        if (low is not None and quantity.cents < low) or (high is not None and quantity.cents > high):
            raise DomainError(
                "flat_out_of_bounds",
                envelope=envelope.name,
                amount_cents=quantity.cents,
                low_cents=low,
                high_cents=high,
            )
        return None, None, quantity.cents

    async def _same_and_open_intention(
        self, member: Member, envelope: Envelope, work_date: date, amount: int, description: str, kind: str
    ) -> tuple[int | None, Contribution | None]:
        """The id of the last declaration just like this one, and (for a declaration) the member's oldest open
        intention on this envelope, locked: the declaration realises it."""
        parameters = {
            "member_id": member.id,
            "envelope_id": envelope.id,
            "work_date": work_date,
            "amount_cents": amount,
            "description": description.strip(),
            "kind": kind,
        }
        connection = await self.session.connection()
        same, intention_id = (await connection.execute(_SAME_AND_OPEN_INTENTION, parameters)).one()
        if kind == ContributionKind.INTENTION or intention_id is None:
            return same, None
        return same, await self.session.get(Contribution, intention_id, with_for_update=ROW_LOCK)

    async def cancel(self, actor: Member, contribution_id: int, *, is_admin: bool, reason: str = "") -> Cancellation:
        """Cancel a declaration or an intention: its owner may, an admin may for anyone, with a reason then (kept in
        the audit, told to the owner). A billed or paid declaration stays. Locks the envelope, then the line."""
        reason = reason.strip()
        check_length(reason, MAX_BUDGET_REASON, "cancel_reason_too_long")
        contribution = await self.session.get(Contribution, contribution_id)
        if contribution is None:
            raise DomainError("contribution_unknown", id=contribution_id)
        owner = await self.session.get(Member, contribution.member_id)
        assert owner is not None
        if contribution.member_id != actor.id and not is_admin:
            raise PermissionDenied("cancel_not_yours", id=contribution_id, owner=owner.username)
        await self.session.flush()  # the locking reads below refresh rows: nothing pending may be overwritten
        envelope = await self.session.get(
            Envelope, contribution.envelope_id, with_for_update=ROW_LOCK, populate_existing=True
        )
        assert envelope is not None
        # Read again under the envelope's lock: a concurrent correction or cancellation may have changed the line
        # (moved it to another envelope: its new envelope is locked in turn).
        while True:
            contribution = await self.session.get(
                Contribution, contribution_id, with_for_update=ROW_LOCK, populate_existing=True
            )
            assert contribution is not None
            if contribution.envelope_id == envelope.id:
                break
            envelope = await self.session.get(
                Envelope, contribution.envelope_id, with_for_update=ROW_LOCK, populate_existing=True
            )
            assert envelope is not None
        if contribution.status == ContributionStatus.CANCELLED:
            raise DomainError("already_cancelled", id=contribution_id)
        if contribution.status in (ContributionStatus.BILLED, ContributionStatus.PAID):
            raise DomainError(f"already_{contribution.status}", id=contribution_id)
        if contribution.member_id != actor.id and not reason:
            raise DomainError("cancel_reason_required", id=contribution_id, owner=owner.username)
        await self.budget.ensure_open(envelope.year)
        used_before = envelope.spent_cents + envelope.committed_cents
        if contribution.kind == ContributionKind.INTENTION:
            envelope.committed_cents -= max(0, contribution.amount_cents - contribution.realized_cents)
        else:
            envelope.spent_cents -= contribution.amount_cents
            if contribution.intention_id is not None:
                await self._unrealize(envelope, contribution)
        released = used_before - (envelope.spent_cents + envelope.committed_cents)
        contribution.status = ContributionStatus.CANCELLED
        contribution.cancelled_at = self.clock.now()
        contribution.cancelled_by_id = actor.id
        self.budget.audit(
            actor,
            "cancel",
            envelope.year,
            envelope=envelope,
            contribution=contribution,
            old_cents=contribution.amount_cents,
            new_cents=0,
            reason=reason,
        )
        await self.session.flush()
        return Cancellation(
            contribution.id,
            contribution.kind,
            contribution.amount_cents,
            owner.username,
            EnvelopeStatus.of(envelope),
            released,
            reason,
        )

    async def _unrealize(self, envelope: Envelope, declaration: Contribution) -> None:
        """A cancelled declaration gives its share back to the intention it realised, if that is still open."""
        intention = await self.session.get(
            Contribution, declaration.intention_id, with_for_update=ROW_LOCK, populate_existing=True
        )
        if intention is None:
            return
        open_before = max(0, intention.amount_cents - intention.realized_cents)
        intention.realized_cents -= declaration.amount_cents
        if intention.status == ContributionStatus.PLANNED:
            envelope.committed_cents += max(0, intention.amount_cents - intention.realized_cents) - open_before

    async def listing(
        self,
        *,
        member: Member | None = None,
        envelope_slug: str | None = None,
        period: Period,
        limit: int = 15,
        offset: int = 0,
    ) -> Listing:
        """Newest first, `limit` lines after the `offset` newest (a page); an envelope filter narrows to that year's
        envelope, so the indexes do the work. `count` and `total_cents` cover every line, on every page."""
        conditions = [Contribution.work_date >= period.start, Contribution.work_date < period.end]
        if member is not None:
            conditions.append(Contribution.member_id == member.id)
        if envelope_slug is not None:
            envelope_ids = select(Envelope.id).where(Envelope.slug == envelope_slug, Envelope.year == period.year)
            conditions.append(Contribution.envelope_id.in_(envelope_ids.scalar_subquery()))
        query = (
            select(Contribution, Member.username, Envelope.slug, Envelope.name, Envelope.year)
            .join(Member, Member.id == Contribution.member_id)
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .where(*conditions)
            .order_by(Contribution.id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        counts_declared = (Contribution.kind == ContributionKind.DECLARATION) & Contribution.status.in_(
            COUNTING_DECLARATION
        )
        totals = select(
            func.count(),
            func.coalesce(func.sum(case((counts_declared, Contribution.amount_cents), else_=0)), 0),
        ).where(*conditions)
        count, total = (await self.session.execute(totals)).one()
        lines = [replace(self._line(*row), review=row[0].review) for row in rows]
        return Listing(lines, int(count), int(total), offset)

    async def export_rows(
        self,
        year: int,
        *,
        member_id: int | None = None,
        envelope_slug: str | None = None,
        month: int | None = None,
    ) -> list[ContributionLine]:
        """Every declaration of the year (cancelled ones too, marked so), oldest first: the accountant's view;
        narrowed to a member, an envelope or a month of that year for a statement. `overrun` is read over the whole
        envelope whatever the filters: a running total of the counting declarations, by number."""
        counting = Contribution.status.in_(COUNTING_DECLARATION)
        running = (
            select(
                Contribution.id.label("contribution_id"),
                func.sum(case((counting, Contribution.amount_cents), else_=0))
                .over(partition_by=Contribution.envelope_id, order_by=Contribution.id)
                .label("running_cents"),
            )
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .where(Envelope.year == year, Contribution.kind == ContributionKind.DECLARATION)
            .subquery()
        )
        query = (
            select(
                Contribution,
                Member.username,
                Envelope.slug,
                Envelope.name,
                Envelope.year,
                Envelope.amount_cents,
                running.c.running_cents,
            )
            .join(running, running.c.contribution_id == Contribution.id)
            .join(Member, Member.id == Contribution.member_id)
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .order_by(Contribution.work_date, Contribution.id)
        )
        if member_id is not None:
            query = query.where(Contribution.member_id == member_id)
        if envelope_slug is not None:
            query = query.where(Envelope.slug == envelope_slug)
        if month is not None:
            period = Period(year, month)
            query = query.where(Contribution.work_date >= period.start, Contribution.work_date < period.end)
        rows = (await self.session.execute(query)).all()
        return [
            self._line(
                c,
                username,
                env_slug,
                env_name,
                env_year,
                overrun=c.status in COUNTING_DECLARATION and int(running_cents) > envelope_cents,
            )
            for c, username, env_slug, env_name, env_year, envelope_cents, running_cents in rows
        ]

    @staticmethod
    def _line(
        c: Contribution, username: str, env_slug: str, env_name: str, year: int, *, overrun: bool = False
    ) -> ContributionLine:
        return ContributionLine(
            id=c.id,
            username=username,
            envelope_slug=env_slug,
            envelope_name=env_name,
            year=year,
            kind=c.kind,
            status=c.status,
            minutes=c.minutes,
            rate_cents=c.rate_cents,
            amount_cents=c.amount_cents,
            work_date=c.work_date,
            description=c.description,
            flagged=c.flagged,
            review=c.review,
            intention_id=c.intention_id,
            invoice_ref=c.invoice_ref,
            billed_at=c.billed_at,
            paid_at=c.paid_at,
            overrun=overrun,
        )
