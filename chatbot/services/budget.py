"""Envelopes, budget years and the audit trail of every change made to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from chatbot.clock import Clock
from chatbot.config import EnvelopeSettings, Settings
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    COUNTING_DECLARATION,
    AuditEvent,
    BudgetYear,
    Circle,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
)
from chatbot.directories import envelope_names
from chatbot.errors import DomainError
from chatbot.services.limits import MAX_BUDGET_REASON, MAX_ENVELOPE_NAME, check_length
from chatbot.text import slug
from chatbot.values import BUDGET_YEARS


@dataclass(frozen=True)
class EnvelopeStatus:
    slug: str
    name: str
    year: int
    amount_cents: int
    spent_cents: int
    committed_cents: int
    rate_cents: int
    mode: str
    flat_min_cents: int | None
    flat_max_cents: int | None
    circle_id: int | None
    id: int  # the envelope row's

    @property
    def used_cents(self) -> int:
        return self.spent_cents + self.committed_cents

    @property
    def remaining_cents(self) -> int:
        return self.amount_cents - self.used_cents

    @property
    def overrun_cents(self) -> int:
        """How far spending and commitments go beyond the amount (0 when they do not)."""
        return max(0, -self.remaining_cents)

    @property
    def used_percent(self) -> int:
        """Share of the envelope spent or committed: rounded down up to the amount, rounded up beyond it, so that
        an overrun always reads above 100 % (80 € over 10 000 € is 101 %). An empty envelope counts as full."""
        if self.amount_cents <= 0:
            return 100 if self.used_cents > 0 else 0
        if self.used_cents > self.amount_cents:
            return -(-self.used_cents * 100 // self.amount_cents)
        return self.used_cents * 100 // self.amount_cents

    @classmethod
    def of(cls, envelope: Envelope) -> EnvelopeStatus:
        return cls(
            slug=envelope.slug,
            name=envelope.name,
            year=envelope.year,
            amount_cents=envelope.amount_cents,
            spent_cents=envelope.spent_cents,
            committed_cents=envelope.committed_cents,
            rate_cents=envelope.rate_cents,
            mode=envelope.mode,
            flat_min_cents=envelope.flat_min_cents,
            flat_max_cents=envelope.flat_max_cents,
            circle_id=envelope.circle_id,
            id=envelope.id,
        )


@dataclass(frozen=True)
class RecentContribution:
    id: int
    username: str
    kind: str
    amount_cents: int
    minutes: int | None
    work_date: date
    description: str


@dataclass(frozen=True)
class EnvelopeDetail:
    status: EnvelopeStatus
    recent: list[RecentContribution]
    runs_out_on: date | None  # at the pace of spending so far this year; None when it lasts the year
    pace_known: bool


@dataclass(frozen=True)
class AuditLine:
    at_year: int
    action: str
    envelope_slug: str | None
    actor: str | None
    old_cents: int | None
    new_cents: int | None
    reason: str
    at: object
    detail: str = ""  # AuditEvent.detail: what else changed, or the other envelope of a transfer
    contribution_id: int | None = None  # the declaration the event is about, if any


# Built once (every declaration reads its envelope): building a statement costs more than SQLite's answer.
_ENVELOPE = select(Envelope).where(Envelope.year == bindparam("year"), Envelope.slug == bindparam("slug"))
# Locking reads the row afresh even if this session holds it: its totals are then the database's.
_ENVELOPE_FOR_UPDATE = _ENVELOPE.with_for_update(**ROW_LOCK).execution_options(populate_existing=True)
_SET_TOTALS = (
    update(Envelope)
    .where(Envelope.id == bindparam("envelope_id"))
    .values(spent_cents=bindparam("spent_cents"), committed_cents=bindparam("committed_cents"))
)


class BudgetService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        *,
        open_years: set[int] | None = None,
        reuse_locks: bool = False,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        # With `reuse_locks`, an envelope locked once in this transaction is not read again: it stays locked until
        # the commit and every change goes through this session. Only where no savepoint can undo a change under
        # it (the bot's batches run without savepoints, see Bot.handle_many).
        self._locked: dict[tuple[int, str], Envelope] | None = {} if reuse_locks else None
        # Envelopes whose running totals are ahead of their rows, by id (see `set_totals`): only with `reuse_locks`,
        # while `batch_totals` is set.
        self._unwritten: dict[int, tuple[int, int]] = {}
        self.batch_totals = False
        # Years read as open (every declaration checks; closing is rare): by default for this unit of work only;
        # the bot shares one set between its units of work and empties it after every /budget command. Forgotten
        # here by close_year and reopen_year.
        self._open_years: set[int] = set() if open_years is None else open_years

    # --- years -----------------------------------------------------------------------------------------------

    def current_year(self) -> int:
        return self.clock.now().year

    async def is_closed(self, year: int) -> bool:
        if year in self._open_years:
            return False
        row = await self.session.get(BudgetYear, year)
        closed = row is not None and row.closed_at is not None
        if not closed:
            self._open_years.add(year)
        return closed

    async def ensure_open(self, year: int) -> None:
        if await self.is_closed(year):
            raise DomainError("year_closed", year=year)

    async def close_year(self, actor: Member, year: int) -> None:
        self._open_years.discard(year)
        if year > self.current_year():
            raise DomainError("year_in_future", year=year)
        row = await self.session.get(BudgetYear, year)
        if row is not None and row.closed_at is not None:
            raise DomainError("year_already_closed", year=year)
        if row is None:
            row = BudgetYear(year=year)
            self.session.add(row)
        row.closed_at = self.clock.now()
        row.closed_by_id = actor.id
        self._audit(actor, "close_year", year)

    async def reopen_year(self, actor: Member, year: int, reason: str) -> None:
        self._open_years.discard(year)
        row = await self.session.get(BudgetYear, year)
        if row is None or row.closed_at is None:
            raise DomainError("year_not_closed", year=year)
        if not reason.strip():
            raise DomainError("reason_required")
        check_length(reason, MAX_BUDGET_REASON, "budget_reason_too_long")
        row.closed_at = None
        row.closed_by_id = None
        self._audit(actor, "reopen_year", year, reason=reason)

    # --- configuration seeding --------------------------------------------------------------------------------

    async def sync_circles(self) -> None:
        """Circles come from the configuration; their rows exist so that envelopes can point at them."""
        existing = {c.slug: c for c in (await self.session.scalars(select(Circle))).all()}
        for circle in self.settings.circles:
            row = existing.get(circle.slug)
            if row is None:
                row = Circle(slug=circle.slug)
                self.session.add(row)
            row.name = circle.name
            row.public_channel = circle.public_channel
            row.private_channel = circle.private_channel
        await self.session.flush()

    def configured_year(self) -> int:
        return self.settings.budget.year or self.current_year()

    async def ensure_configured_envelopes(self, year: int) -> None:
        """Create the configured envelopes for `year` if it is the configured (or current) year and they are missing.

        Past years are never filled from the configuration: their budgets were kept elsewhere.
        """
        if year != self.configured_year() or not self.settings.envelopes:
            return
        have = set((await self.session.scalars(select(Envelope.slug).where(Envelope.year == year))).all())
        missing = [e for e in self.settings.envelopes if e.slug not in have]
        if not missing:
            return
        await self.sync_circles()
        circle_ids = dict((await self.session.execute(select(Circle.slug, Circle.id))).all())
        for settings in missing:
            envelope = self._new_envelope(settings, year, circle_ids.get(settings.circle) if settings.circle else None)
            self.session.add(envelope)
            await self.session.flush()
            self._audit(None, "create", year, envelope, new_cents=envelope.amount_cents, reason="configuration")

    def _new_envelope(self, settings: EnvelopeSettings, year: int, circle_id: int | None) -> Envelope:
        return Envelope(
            year=year,
            slug=settings.slug,
            name=settings.name,
            circle_id=circle_id,
            amount_cents=settings.amount_cents,
            rate_cents=settings.rate_cents or self.settings.budget.hourly_cap_cents,
            mode=settings.mode,
            flat_min_cents=settings.flat_min_cents,
            flat_max_cents=settings.flat_max_cents,
            spent_cents=0,
            committed_cents=0,
            created_at=self.clock.now(),
        )

    # --- reading ----------------------------------------------------------------------------------------------

    async def known_names(self) -> dict[str, str]:
        """Every name a member may type for an envelope → its slug (configuration, then database)."""
        names = envelope_names(self.settings)
        rows = (await self.session.execute(select(Envelope.slug, Envelope.name).distinct())).all()
        for env_slug, env_name in rows:
            names.setdefault(slug(env_slug), env_slug)
            names.setdefault(slug(env_name), env_slug)
        return names

    async def set_totals(self, envelope: Envelope, spent_cents: int, committed_cents: int) -> None:
        """New running totals of an envelope this transaction holds locked. Written with a plain statement rather
        than the unit of work, which costs more than it does; the envelope keeps them as loaded values (this
        session's changes all go through it; a savepoint undone makes Bot._run_command expire it, and the next
        transaction's lock reads it afresh).

        With `batch_totals` (the bot's batches, between declarations, see Bot._run_command) the row is written by
        `write_totals` instead, once per envelope for the whole batch: a declaration reads no envelope but the one
        it holds, and every other command, and the commit, come after `write_totals`."""
        set_committed_value(envelope, "spent_cents", spent_cents)
        set_committed_value(envelope, "committed_cents", committed_cents)
        if self.batch_totals and self._locked is not None:
            self._unwritten[envelope.id] = (spent_cents, committed_cents)
            return
        connection = await self.session.connection()  # Core: no ORM bookkeeping
        parameters = {"envelope_id": envelope.id, "spent_cents": spent_cents, "committed_cents": committed_cents}
        await connection.execute(_SET_TOTALS, parameters)

    async def write_totals(self) -> None:
        """Write the running totals `set_totals` kept back, in one statement."""
        if not self._unwritten:
            return
        rows = [
            {"envelope_id": envelope_id, "spent_cents": spent, "committed_cents": committed}
            for envelope_id, (spent, committed) in self._unwritten.items()
        ]
        self._unwritten.clear()
        await (await self.session.connection()).execute(_SET_TOTALS, rows)

    def forget_locks(self) -> None:
        """Read locked envelopes again (after an admin command that may have renamed or replaced one)."""
        if self._locked is not None:
            self._locked.clear()

    async def get(self, envelope_slug: str, year: int, *, for_update: bool = False) -> Envelope:
        if for_update and self._locked is not None and (year, envelope_slug) in self._locked:
            held = self._locked[(year, envelope_slug)]
            state = inspect(held)
            if state.persistent and not state.expired_attributes:
                return held
        envelope = await self._read(envelope_slug, year, for_update)
        if for_update and self._locked is not None:
            self._locked[(year, envelope_slug)] = envelope
        return envelope

    async def _read(self, envelope_slug: str, year: int, for_update: bool) -> Envelope:
        query = _ENVELOPE_FOR_UPDATE if for_update else _ENVELOPE
        parameters = {"year": year, "slug": envelope_slug}
        envelope = await self.session.scalar(query, parameters)
        if envelope is None:  # perhaps a configured envelope of a new year, not created yet
            await self.ensure_configured_envelopes(year)
            envelope = await self.session.scalar(query, parameters)
        if envelope is None:
            check_budget_year(year)  # else the hint would suggest a year that `/budget definir` refuses
            raise DomainError("envelope_missing_for_year", envelope=envelope_slug, year=year)
        return envelope

    async def statuses(self, year: int) -> list[EnvelopeStatus]:
        await self.ensure_configured_envelopes(year)
        rows = (await self.session.scalars(select(Envelope).where(Envelope.year == year).order_by(Envelope.id))).all()
        return [EnvelopeStatus.of(e) for e in rows]

    async def detail(self, envelope_slug: str, year: int, recent: int = 5) -> EnvelopeDetail:
        envelope = await self.get(envelope_slug, year)
        query = (
            select(Contribution, Member.username)
            .join(Member, Member.id == Contribution.member_id)
            .where(
                Contribution.envelope_id == envelope.id,
                Contribution.status.in_([*COUNTING_DECLARATION, ContributionStatus.PLANNED]),
            )
            .order_by(Contribution.id.desc())
            .limit(recent)
        )
        lines = [
            RecentContribution(c.id, username, c.kind, c.amount_cents, c.minutes, c.work_date, c.description)
            for c, username in (await self.session.execute(query)).all()
        ]
        status = EnvelopeStatus.of(envelope)
        runs_out_on, pace_known = self._pace(status)
        return EnvelopeDetail(status, lines, runs_out_on, pace_known)

    def _pace(self, status: EnvelopeStatus) -> tuple[date | None, bool]:
        """When the envelope runs out if spending goes on at this year's pace (only for the current year)."""
        today = self.clock.now().date()
        if status.year != today.year or status.spent_cents <= 0:
            return None, False
        if status.remaining_cents <= 0:
            return today, True
        elapsed_days = (today - date(today.year, 1, 1)).days + 1
        days_left = status.remaining_cents * elapsed_days // status.spent_cents
        runs_out = today + timedelta(days=days_left)
        return (runs_out if runs_out.year == today.year else None), True

    async def journal(
        self, year: int, envelope_slug: str | None = None, offset: int = 0, limit: int = 15
    ) -> tuple[list[AuditLine], int]:
        """One page of the year's budget journal, newest first, and how many events the journal holds in all (so
        the answer can say what it leaves out)."""
        query = (
            select(AuditEvent, Envelope.slug, Member.username)
            .outerjoin(Envelope, Envelope.id == AuditEvent.envelope_id)
            .outerjoin(Member, Member.id == AuditEvent.actor_id)
            .where(AuditEvent.year == year)
        )
        if envelope_slug is not None:
            query = query.where(Envelope.slug == envelope_slug)
        count = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await self.session.execute(query.order_by(AuditEvent.id.desc()).offset(offset).limit(limit))).all()
        lines = [
            AuditLine(
                e.year,
                e.action,
                env_slug,
                username,
                e.old_cents,
                e.new_cents,
                e.reason,
                e.at,
                e.detail or "",
                e.contribution_id,
            )
            for e, env_slug, username in rows
        ]
        return lines, int(count or 0)

    # --- admin changes ----------------------------------------------------------------------------------------

    async def define(
        self, actor: Member, envelope_slug: str, amount_cents: int, year: int, reason: str = ""
    ) -> Envelope:
        """Set an envelope's amount; a configured envelope or a circle gets its row for that year if it has none."""
        await self.ensure_open(year)
        if amount_cents < 0:
            raise DomainError("amount_negative")
        check_length(reason, MAX_BUDGET_REASON, "budget_reason_too_long")
        await self.ensure_configured_envelopes(year)
        envelope = await self.session.scalar(
            select(Envelope).where(Envelope.year == year, Envelope.slug == envelope_slug).with_for_update(**ROW_LOCK)
        )
        if envelope is None:
            envelope = await self._create_for_year(envelope_slug, year)
            self._audit(actor, "create", year, envelope, new_cents=amount_cents, reason=reason)
            envelope.amount_cents = amount_cents
            return envelope
        old = envelope.amount_cents
        envelope.amount_cents = amount_cents
        self._audit(actor, "define", year, envelope, old_cents=old, new_cents=amount_cents, reason=reason)
        return envelope

    async def _create_for_year(self, envelope_slug: str, year: int) -> Envelope:
        settings = next((e for e in self.settings.envelopes if e.slug == envelope_slug), None)
        if settings is None:
            previous = await self.session.scalar(
                select(Envelope).where(Envelope.slug == envelope_slug).order_by(Envelope.year.desc()).limit(1)
            )
            if previous is None:
                circle = self.settings.circle(envelope_slug)
                if circle is None:
                    raise DomainError("envelope_unknown_create", envelope=envelope_slug)
                settings = EnvelopeSettings(slug=circle.slug, name=circle.name, amount_cents=0, circle=circle.slug)
            else:
                settings = EnvelopeSettings(
                    slug=previous.slug,
                    name=previous.name,
                    amount_cents=0,
                    rate_cents=previous.rate_cents,
                    mode=previous.mode,
                    flat_min_cents=previous.flat_min_cents,
                    flat_max_cents=previous.flat_max_cents,
                )
        circle_id = None
        if settings.circle:
            await self.sync_circles()
            circle_id = await self.session.scalar(select(Circle.id).where(Circle.slug == settings.circle))
        envelope = self._new_envelope(settings, year, circle_id)
        self.session.add(envelope)
        await self.session.flush()
        return envelope

    async def adjust(self, actor: Member, envelope_slug: str, delta_cents: int, reason: str, year: int) -> Envelope:
        await self.ensure_open(year)
        if not reason.strip():
            raise DomainError("reason_required")
        check_length(reason, MAX_BUDGET_REASON, "budget_reason_too_long")
        envelope = await self.get(envelope_slug, year, for_update=True)
        old = envelope.amount_cents
        if old + delta_cents < 0:
            raise DomainError(
                "adjust_below_zero", amount_cents=old, delta_cents=delta_cents, result_cents=old + delta_cents
            )
        envelope.amount_cents = old + delta_cents
        self._audit(actor, "adjust", year, envelope, old_cents=old, new_cents=envelope.amount_cents, reason=reason)
        return envelope

    async def create(self, actor: Member, envelope_slug: str, name: str, amount_cents: int, year: int) -> Envelope:
        await self.ensure_open(year)
        await self.ensure_configured_envelopes(year)
        new_slug = slug(envelope_slug)
        if not new_slug:
            raise DomainError("envelope_slug_invalid", given=envelope_slug)
        names = await self.known_names()
        exists = await self.session.scalar(select(Envelope.id).where(Envelope.year == year, Envelope.slug == new_slug))
        owner = names.get(new_slug)
        if exists is not None or (owner is not None and owner != new_slug):
            raise DomainError("envelope_exists", envelope=new_slug, year=year)
        check_length(name, MAX_ENVELOPE_NAME, "envelope_name_too_long")
        settings = EnvelopeSettings(slug=new_slug, name=name.strip() or new_slug, amount_cents=amount_cents)
        envelope = self._new_envelope(settings, year, None)
        self.session.add(envelope)
        await self.session.flush()
        self._audit(actor, "create", year, envelope, new_cents=amount_cents, reason=name)
        return envelope

    async def set_rate(self, actor: Member, envelope_slug: str, rate_cents: int, year: int) -> Envelope:
        await self.ensure_open(year)
        cap = self.settings.budget.hourly_cap_cents
        if not 0 < rate_cents <= cap:
            raise DomainError("rate_above_global_cap", rate_cents=rate_cents, cap_cents=cap)
        envelope = await self.get(envelope_slug, year, for_update=True)
        old = envelope.rate_cents
        envelope.rate_cents = rate_cents
        self._audit(actor, "rate", year, envelope, old_cents=old, new_cents=rate_cents)
        return envelope

    async def lock_envelopes(self, year: int, slugs: list[str]) -> dict[str, Envelope]:
        """Lock several envelopes of one year (FOR UPDATE on PostgreSQL) in a stable order, their ids ascending, so
        that two commands locking the same envelopes never wait on each other crosswise (no deadlock)."""
        wanted = sorted(set(slugs))
        ids = dict(
            (
                await self.session.execute(
                    select(Envelope.slug, Envelope.id).where(Envelope.year == year, Envelope.slug.in_(wanted))
                )
            ).all()
        )
        # A missing one first, in the order given: get() creates it (a configured envelope) or refuses it.
        ordered = sorted(wanted, key=lambda s: (ids.get(s, 0), slugs.index(s)))
        return {s: await self.get(s, year, for_update=True) for s in ordered}

    async def transfer(
        self,
        actor: Member,
        source_slug: str,
        target_slug: str,
        amount_cents: int,
        year: int,
        reason: str,
        *,
        force: bool = False,
    ) -> tuple[Envelope, Envelope]:
        """Move part of one envelope's amount to another of the same year, in one step, audited on both.

        The source keeps at least what it has spent and committed, unless `force` (then it may overrun, never go
        below zero). Returns (source, target) with their new amounts."""
        await self.ensure_open(year)
        if source_slug == target_slug:
            raise DomainError("transfer_same_envelope", envelope=source_slug)
        if amount_cents <= 0:
            raise DomainError("transfer_amount_not_positive")
        if not reason.strip():
            raise DomainError("transfer_reason_required")
        check_length(reason, MAX_BUDGET_REASON, "budget_reason_too_long")
        locked = await self.lock_envelopes(year, [source_slug, target_slug])
        source, target = locked[source_slug], locked[target_slug]
        used = source.spent_cents + source.committed_cents
        after = source.amount_cents - amount_cents
        if after < 0:
            raise DomainError(
                "transfer_below_zero", envelope=source.name, amount_cents=source.amount_cents, delta_cents=amount_cents
            )
        if after < used and not force:
            raise DomainError(
                "transfer_below_used",
                envelope=source.name,
                slug=source.slug,
                target=target.slug,
                amount_cents=source.amount_cents,
                used_cents=used,
                spent_cents=source.spent_cents,
                committed_cents=source.committed_cents,
                delta_cents=amount_cents,
                most_cents=max(0, source.amount_cents - used),
            )
        old_source, old_target = source.amount_cents, target.amount_cents
        source.amount_cents = after
        target.amount_cents = old_target + amount_cents
        if after < used:  # forced: said as such in the journal
            self._audit(
                actor,
                "transfer_out_forced",
                year,
                source,
                old_cents=old_source,
                new_cents=after,
                reason=reason,
                detail=target.slug,
            )
        else:
            self._audit(
                actor,
                "transfer_out",
                year,
                source,
                old_cents=old_source,
                new_cents=after,
                reason=reason,
                detail=target.slug,
            )
        self._audit(
            actor,
            "transfer_in",
            year,
            target,
            old_cents=old_target,
            new_cents=target.amount_cents,
            reason=reason,
            detail=source.slug,
        )
        return source, target

    # --- running totals ---------------------------------------------------------------------------------------

    async def recomputed_totals(self, envelope_id: int) -> tuple[int, int]:
        """(spent, committed) recomputed from the contributions: the invariant the running totals must keep."""
        spent = await self.session.scalar(
            select(func.coalesce(func.sum(Contribution.amount_cents), 0)).where(
                Contribution.envelope_id == envelope_id,
                Contribution.kind == ContributionKind.DECLARATION,
                Contribution.status.in_(COUNTING_DECLARATION),
            )
        )
        intentions = (
            await self.session.execute(
                select(Contribution.amount_cents, Contribution.realized_cents).where(
                    Contribution.envelope_id == envelope_id,
                    Contribution.kind == ContributionKind.INTENTION,
                    Contribution.status == ContributionStatus.PLANNED,
                )
            )
        ).all()
        committed = sum(max(0, amount - realized) for amount, realized in intentions)
        return int(spent or 0), committed

    def _audit(
        self,
        actor: Member | None,
        action: str,
        year: int,
        envelope: Envelope | None = None,
        *,
        contribution: Contribution | None = None,
        old_cents: int | None = None,
        new_cents: int | None = None,
        reason: str = "",
        detail: str = "",
    ) -> None:
        self.session.add(
            AuditEvent(
                at=self.clock.now(),
                actor_id=actor.id if actor else None,
                action=action,
                year=year,
                envelope_id=envelope.id if envelope else None,
                contribution_id=contribution.id if contribution else None,
                old_cents=old_cents,
                new_cents=new_cents,
                reason=reason,
                detail=detail,
            )
        )

    def audit(self, actor: Member | None, action: str, year: int, **kwargs: object) -> None:
        self._audit(actor, action, year, **kwargs)  # type: ignore[arg-type]


def check_budget_year(year: int) -> None:
    """Refuse a year no budget can have (a work date in year 1, say), naming the years that can."""
    if year not in BUDGET_YEARS:
        raise DomainError("year_out_of_range", year=year, first=BUDGET_YEARS[0], last=BUDGET_YEARS[-1])
