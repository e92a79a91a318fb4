"""Correcting a declaration or an intention afterwards: its quantity, rate, envelope, date or description.

The correction undoes the line's effect on the envelope totals and applies it again as it now reads, with the
pricing and realisation rules of a declaration (ContributionService), under the same locks: every envelope touched
(in the order of their ids, so that two corrections never wait for each other), then the line itself, then the
intentions it realises. Nothing is written before every rule has accepted the correction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    AuditEvent,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.services import Services
from chatbot.services.budget import EnvelopeStatus, check_budget_year
from chatbot.services.contributions import overrun_refused
from chatbot.services.limits import MAX_BUDGET_REASON, MAX_DESCRIPTION, check_length
from chatbot.values import Duration, FlatAmount, Quantity

BILLED = (ContributionStatus.BILLED, ContributionStatus.PAID)
MAX_LOCK_ROUNDS = 5  # a line moved by another correction while we waited: lock its new envelopes (rarely twice)


@dataclass(frozen=True)
class Changes:
    """What the member asks to change; None: unchanged."""

    quantity: Quantity | None = None
    envelope_slug: str | None = None
    rate_cents: int | None = None
    work_date: date | None = None
    description: str | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.quantity, self.envelope_slug, self.rate_cents, self.work_date)) and (
            self.description is None
        )


@dataclass(frozen=True)
class LineState:
    """A line as it reads before or after the correction."""

    envelope_slug: str
    envelope_name: str
    year: int
    minutes: int | None
    rate_cents: int | None
    amount_cents: int
    work_date: date
    description: str


@dataclass(frozen=True)
class Correction:
    id: int
    kind: str
    owner: str
    before: LineState
    after: LineState
    envelopes: list[EnvelopeStatus]  # every envelope touched, the line's (new) envelope first
    overrun: bool  # an envelope touched went over, or further over, its amount
    near_limit: bool  # the line's envelope reached the warning threshold with this correction
    flagged: bool  # a declaration above the announcement threshold without an intention (newly so)
    intention_id: int | None
    intention_left_cents: int | None
    detail: str


@dataclass
class _Deltas:
    spent: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)

    def add(self, envelope_id: int, *, spent: int = 0, committed: int = 0) -> None:
        self.spent[envelope_id] = self.spent.get(envelope_id, 0) + spent
        self.committed[envelope_id] = self.committed.get(envelope_id, 0) + committed


def open_part(intention: Contribution, realized: int) -> int:
    """What an intention still holds in its envelope when `realized` of it is done (nothing once cancelled)."""
    if intention.status != ContributionStatus.PLANNED:
        return 0
    return max(0, intention.amount_cents - realized)


class CorrectionService:
    def __init__(self, services: Services) -> None:
        self.session = services.session
        self.settings = services.settings
        self.clock = services.clock
        self.budget = services.budget
        self.contributions = services.contributions

    async def correct(
        self,
        actor: Member,
        contribution_id: int,
        changes: Changes,
        *,
        reason: str = "",
        is_admin: bool,
        is_treasurer: bool,
        describe: Callable[[LineState, LineState], str],
    ) -> Correction:
        """Correct line n°`contribution_id`; `describe` words the change for the audit (`durée : 3 h → 2 h 30`).
        Raises DomainError / PermissionDenied and writes nothing if refused."""
        reason = reason.strip()
        check_length(reason, MAX_BUDGET_REASON, "correction_reason_too_long")
        if changes.description is not None:
            check_length(changes.description, MAX_DESCRIPTION, "description_too_long")
        if changes.empty:
            raise DomainError("correction_nothing", id=contribution_id)
        line, envelopes = await self._lock(contribution_id, changes)
        owner = await self.session.get(Member, line.member_id)
        assert owner is not None
        self._check_rights(actor, owner, line, reason, is_admin=is_admin, is_treasurer=is_treasurer)
        intention = line.kind == ContributionKind.INTENTION
        if intention and changes.work_date is not None:
            raise DomainError("correction_intention_date", id=line.id)
        old_envelope = envelopes[line.envelope_id]
        new_envelope = self._target(line, old_envelope, changes, envelopes)
        for year in sorted({old_envelope.year, new_envelope.year}):
            await self.budget.ensure_open(year)
        if intention and new_envelope.id != old_envelope.id and line.realized_cents > 0:
            raise DomainError("correction_intention_realised", id=line.id, envelope=old_envelope.name)
        work_date = changes.work_date or line.work_date
        if not intention and work_date > self.clock.now().date():
            raise DomainError("date_in_future", date=work_date)
        minutes, rate, amount = self._reprice(line, old_envelope, new_envelope, changes)
        description = line.description if changes.description is None else changes.description.strip()
        before = self._state(line, old_envelope)
        after = LineState(
            new_envelope.slug, new_envelope.name, new_envelope.year, minutes, rate, amount, work_date, description
        )
        if after == before:
            raise DomainError("correction_no_change", id=line.id)

        deltas = _Deltas()
        realized: dict[int, int] = {}  # intention id → its realised part after the correction
        linked: Contribution | None = None
        if intention:
            deltas.add(old_envelope.id, committed=-open_part(line, line.realized_cents))
            linked_open = max(0, amount - line.realized_cents)
            deltas.add(new_envelope.id, committed=linked_open)
        else:
            deltas.add(old_envelope.id, spent=-line.amount_cents)
            linked = await self._realisation(line, owner, old_envelope, new_envelope, amount, deltas, realized)
        for envelope_id in sorted({*deltas.spent, *deltas.committed} - set(envelopes)):
            # An intention on another envelope than its declarations' (never made so by the commands): lock it too.
            held = await self.session.get(Envelope, envelope_id, with_for_update=ROW_LOCK, populate_existing=True)
            assert held is not None
            envelopes[envelope_id] = held
        used = {eid: e.spent_cents + e.committed_cents for eid, e in envelopes.items()}
        overrun = False
        for envelope_id, envelope in envelopes.items():
            change = deltas.spent.get(envelope_id, 0) + deltas.committed.get(envelope_id, 0)
            after_used = used[envelope_id] + change
            if after_used > envelope.amount_cents and change > 0:
                overrun = True
                if self.settings.budget.overrun_policy == "refuse":
                    raise overrun_refused(envelope, change, envelope.amount_cents - used[envelope_id])
        flagged = not intention and linked is None and amount > self.settings.budget.announcement_threshold_cents

        # Every rule accepted the correction: write it.
        for envelope_id, envelope in envelopes.items():
            envelope.spent_cents += deltas.spent.get(envelope_id, 0)
            envelope.committed_cents += deltas.committed.get(envelope_id, 0)
        for intention_id, value in realized.items():
            realising = await self.session.get(Contribution, intention_id)
            assert realising is not None
            realising.realized_cents = value
        newly_flagged = flagged and not line.flagged
        line.envelope_id = new_envelope.id
        line.minutes, line.rate_cents, line.amount_cents = minutes, rate, amount
        line.work_date, line.description = work_date, description
        if not intention:
            line.intention_id = linked.id if linked is not None else None
            line.flagged = flagged
        detail = describe(before, after)
        self.session.add(
            AuditEvent(
                at=self.clock.now(),
                actor_id=actor.id,
                action="correct",
                year=new_envelope.year,
                envelope_id=new_envelope.id,
                contribution_id=line.id,
                old_cents=before.amount_cents,
                new_cents=after.amount_cents,
                reason=reason,
                detail=detail,
            )
        )
        await self.session.flush()
        touched = [new_envelope, *(e for e in envelopes.values() if e.id != new_envelope.id)]
        status = EnvelopeStatus.of(new_envelope)
        grew = deltas.spent.get(new_envelope.id, 0) + deltas.committed.get(new_envelope.id, 0) > 0
        return Correction(
            id=line.id,
            kind=line.kind,
            owner=owner.username,
            before=before,
            after=after,
            envelopes=[EnvelopeStatus.of(e) for e in touched if e.id in deltas.spent or e.id in deltas.committed],
            overrun=overrun,
            near_limit=grew and status.used_percent >= self.settings.budget.warning_percent,
            flagged=newly_flagged,
            intention_id=linked.id if linked is not None else None,
            intention_left_cents=max(0, linked.amount_cents - linked.realized_cents) if linked is not None else None,
            detail=detail,
        )

    # --- locks -------------------------------------------------------------------------------------------------

    async def _lock(self, contribution_id: int, changes: Changes) -> tuple[Contribution, dict[int, Envelope]]:
        """The line, locked, and every envelope the correction may touch, locked first in the order of their ids
        (as a declaration and a cancellation lock the envelope before the lines)."""
        await self.session.flush()  # locking reads rows afresh: nothing pending may be overwritten
        line = await self.session.get(Contribution, contribution_id, populate_existing=True)
        if line is None:
            raise DomainError("contribution_unknown", id=contribution_id)
        for _ in range(MAX_LOCK_ROUNDS):
            wanted = await self._envelopes_for(line, changes)
            envelopes: dict[int, Envelope] = {}
            for envelope_id, (envelope_slug, year) in sorted(wanted.items()):
                envelopes[envelope_id] = await self.budget.get(envelope_slug, year, for_update=True)
            line = await self.session.get(
                Contribution, contribution_id, with_for_update=ROW_LOCK, populate_existing=True
            )
            assert line is not None
            if line.envelope_id in envelopes:
                return line, envelopes
        raise DomainError("correction_busy", id=contribution_id)  # pragma: no cover - moved five times meanwhile

    async def _envelopes_for(self, line: Contribution, changes: Changes) -> dict[int, tuple[str, int]]:
        """id → (slug, year) of the line's envelope and of the one it would move to (not locked yet)."""
        current = await self.session.get(Envelope, line.envelope_id)
        assert current is not None
        wanted = {current.id: (current.slug, current.year)}
        year = changes.work_date.year if changes.work_date is not None else current.year
        target_slug = changes.envelope_slug or current.slug
        if (target_slug, year) != (current.slug, current.year):
            check_budget_year(year)
            target = await self.budget.get(target_slug, year)
            wanted[target.id] = (target.slug, target.year)
        return wanted

    @staticmethod
    def _target(line: Contribution, old: Envelope, changes: Changes, envelopes: dict[int, Envelope]) -> Envelope:
        year = changes.work_date.year if changes.work_date is not None else old.year
        target_slug = changes.envelope_slug or old.slug
        return next(e for e in envelopes.values() if (e.slug, e.year) == (target_slug, year))

    # --- rules -------------------------------------------------------------------------------------------------

    @staticmethod
    def _check_rights(
        actor: Member, owner: Member, line: Contribution, reason: str, *, is_admin: bool, is_treasurer: bool
    ) -> None:
        if line.status == ContributionStatus.CANCELLED:
            raise DomainError("correction_cancelled", id=line.id)
        if line.status in BILLED:
            if not is_treasurer:
                raise PermissionDenied(f"correction_{line.status}", id=line.id)
        elif actor.id != owner.id and not is_admin:
            raise PermissionDenied("correction_not_yours", id=line.id, owner=owner.username)
        if actor.id != owner.id and not reason:
            raise DomainError("correction_reason_required", id=line.id, owner=owner.username)

    def _reprice(
        self, line: Contribution, old: Envelope, new: Envelope, changes: Changes
    ) -> tuple[int | None, int | None, int]:
        """(minutes, rate, amount) once corrected. Priced again only when the quantity, the rate or the envelope
        changes; a rate nobody typed again follows the envelope's own (the rate a declaration without one gets),
        a lower rate typed at the time is kept."""
        if changes.quantity is None and changes.rate_cents is None and new.id == old.id:
            return line.minutes, line.rate_cents, line.amount_cents
        quantity: Quantity = changes.quantity or (
            Duration(line.minutes) if line.minutes is not None else FlatAmount(line.amount_cents)
        )
        rate = changes.rate_cents
        if rate is None and isinstance(quantity, Duration) and line.rate_cents is not None:
            rate = new.rate_cents if line.rate_cents == old.rate_cents else line.rate_cents
        intention = line.kind == ContributionKind.INTENTION
        return self.contributions._price(quantity, new, rate, intention)

    async def _realisation(
        self,
        line: Contribution,
        owner: Member,
        old: Envelope,
        new: Envelope,
        amount: int,
        deltas: _Deltas,
        realized: dict[int, int],
    ) -> Contribution | None:
        """The intention the corrected declaration realises, and the moves of committed money this makes: on its
        envelope, a declaration keeps its intention; moved, it gives its share back and realises the owner's
        oldest open intention on the new envelope, as a new declaration would."""
        deltas.add(new.id, spent=amount)
        previous = None
        if line.intention_id is not None:
            previous = await self.session.get(
                Contribution, line.intention_id, with_for_update=ROW_LOCK, populate_existing=True
            )
        if previous is not None:
            base = previous.realized_cents - line.amount_cents
            realized[previous.id] = base
            shift = open_part(previous, base) - open_part(previous, previous.realized_cents)
            deltas.add(previous.envelope_id, committed=shift)
        if new.id == old.id:
            linked = previous
        else:
            linked = await self._oldest_open_intention(owner, new)
        if linked is not None:
            base = realized.get(linked.id, linked.realized_cents)
            realized[linked.id] = base + amount
            shift = open_part(linked, base + amount) - open_part(linked, base)
            deltas.add(linked.envelope_id, committed=shift)
        return linked

    async def _oldest_open_intention(self, owner: Member, envelope: Envelope) -> Contribution | None:
        intention_id = await self.session.scalar(
            select(Contribution.id)
            .where(
                Contribution.member_id == owner.id,
                Contribution.envelope_id == envelope.id,
                Contribution.kind == ContributionKind.INTENTION,
                Contribution.status == ContributionStatus.PLANNED,
                Contribution.realized_cents < Contribution.amount_cents,
            )
            .order_by(Contribution.id)
            .limit(1)
        )
        if intention_id is None:
            return None
        return await self.session.get(Contribution, intention_id, with_for_update=ROW_LOCK, populate_existing=True)

    @staticmethod
    def _state(line: Contribution, envelope: Envelope) -> LineState:
        return LineState(
            envelope.slug,
            envelope.name,
            envelope.year,
            line.minutes,
            line.rate_cents,
            line.amount_cents,
            line.work_date,
            line.description,
        )
