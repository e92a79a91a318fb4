"""Invoicing and payment of declarations by the treasurers: declared → billed (« facturée ») → paid (« payée »).

Billing changes no amount and no envelope total: it records that an internal billing voucher exists (its
reference, e.g. in Louty), then that it was paid. A batch does what it can: each line that may take the step takes
it, the others are named with their reason (an unknown number, a cancelled declaration, an intention, a line already
billed or not yet billed, a declaration under question). The step is one conditional UPDATE (`… WHERE status =
'declared'`): two treasurers billing the same lines at once bill each line once, the second one is told which lines
the first took. A closed year may still be billed and paid: vouchers usually come after the year is closed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    AuditEvent,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
    ReviewState,
)
from chatbot.services import Services
from chatbot.values import Period

MAX_REF = 64  # Contribution.invoice_ref


class Step(enum.StrEnum):
    BILL = "bill"  # declared → billed, with the voucher's reference
    PAY = "pay"  # billed → paid (the reference given, if any, is the payment's, kept in the audit)

    @property
    def before(self) -> ContributionStatus:
        return ContributionStatus.DECLARED if self is Step.BILL else ContributionStatus.BILLED

    @property
    def after(self) -> ContributionStatus:
        return ContributionStatus.BILLED if self is Step.BILL else ContributionStatus.PAID


class Refusal(enum.StrEnum):
    """Why a line did not take the step (catalogue `billing.refused.<value>`)."""

    UNKNOWN = "unknown"
    INTENTION = "intention"
    CANCELLED = "cancelled"
    ALREADY_BILLED = "already_billed"
    ALREADY_PAID = "already_paid"
    NOT_BILLED = "not_billed"
    QUESTIONED = "questioned"
    TAKEN_MEANWHILE = "taken_meanwhile"  # another treasurer's command took it a moment before


@dataclass(frozen=True)
class Line:
    id: int
    owner: str
    amount_cents: int
    invoice_ref: str | None


@dataclass(frozen=True)
class Refused:
    id: int
    reason: Refusal
    invoice_ref: str | None = None  # for a line already billed: under which reference


@dataclass
class Marked:
    """What one `/contrib facturer` or `/contrib payer` did."""

    step: Step
    ref: str | None
    done: list[Line] = field(default_factory=list)  # by number
    refused: list[Refused] = field(default_factory=list)  # in the order given

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.done)


class BillingService:
    def __init__(self, services: Services) -> None:
        self.session = services.session
        self.clock = services.clock

    async def mark(
        self,
        actor: Member,
        step: Step,
        *,
        ids: tuple[int, ...] = (),
        member: Member | None = None,
        period: Period | None = None,
        envelope_slug: str | None = None,
        ref: str | None = None,
    ) -> Marked:
        """Mark these numbers, or all the member's declarations of the period (on that envelope) that are at the
        step before (so nothing already billed or cancelled is selected), as billed or paid."""
        query = (
            select(
                Contribution.id,
                Contribution.kind,
                Contribution.status,
                Contribution.review,
                Contribution.amount_cents,
                Contribution.invoice_ref,
                Contribution.envelope_id,
                Envelope.year,
                Member.username,
            )
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .join(Member, Member.id == Contribution.member_id)
            .order_by(Contribution.id)
        )
        if ids:
            query = query.where(Contribution.id.in_(ids))
        else:
            assert member is not None and period is not None
            query = query.where(
                Contribution.member_id == member.id,
                Contribution.kind == ContributionKind.DECLARATION,
                Contribution.status == step.before,
                Contribution.work_date >= period.start,
                Contribution.work_date < period.end,
            )
            if envelope_slug is not None:
                query = query.where(Envelope.slug == envelope_slug)
        rows = {row.id: row for row in (await self.session.execute(query)).all()}
        result = Marked(step, ref)
        wanted = ids or tuple(rows)
        candidates = []
        for number in dict.fromkeys(wanted):  # each number once, in the order given
            row = rows.get(number)
            reason = _refusal(step, row.kind, row.status, row.review) if row is not None else Refusal.UNKNOWN
            if reason is None:
                candidates.append(number)
            else:
                result.refused.append(Refused(number, reason, row.invoice_ref if row is not None else None))
        if not candidates:
            return result
        taken = await self._take(actor, step, candidates, ref)
        for number in candidates:
            row = rows[number]
            if number not in taken:
                result.refused.append(Refused(number, Refusal.TAKEN_MEANWHILE))
                continue
            result.done.append(
                Line(number, row.username, row.amount_cents, ref if step is Step.BILL else row.invoice_ref)
            )
            self.session.add(
                AuditEvent(
                    at=self.clock.now(),
                    actor_id=actor.id,
                    action=step.value,
                    year=row.year,
                    envelope_id=row.envelope_id,
                    contribution_id=number,
                    old_cents=row.amount_cents,  # billing changes no amount
                    new_cents=row.amount_cents,
                    detail=ref or "",  # the voucher's reference (bill), the payment's (pay)
                )
            )
        await self.session.flush()
        return result

    async def _take(self, actor: Member, step: Step, ids: list[int], ref: str | None) -> set[int]:
        """Move these lines to the next step if they are still where they were: the ids that moved."""
        now = self.clock.now()
        values: dict[str, object] = {"status": step.after}
        if step is Step.BILL:
            values |= {"invoice_ref": ref, "billed_at": now, "billed_by_id": actor.id}
        else:
            values |= {"paid_at": now, "paid_by_id": actor.id}
        statement = (
            update(Contribution)
            .where(
                Contribution.id.in_(ids),
                Contribution.kind == ContributionKind.DECLARATION,
                Contribution.status == step.before,
                or_(Contribution.review.is_(None), Contribution.review != ReviewState.QUESTIONED),
            )
            .values(**values)
            .returning(Contribution.id)
        )
        connection = await self.session.connection()  # Core: no ORM bookkeeping for this one
        # The rows are locked in the order of their ids first: an UPDATE locks them in the order it finds them
        # (the table's, which corrections change), and two treasurers' overlapping batches would then deadlock.
        await connection.execute(
            select(Contribution.id)
            .where(Contribution.id.in_(ids))
            .order_by(Contribution.id)
            .with_for_update(**ROW_LOCK)
        )
        taken = set((await connection.execute(statement)).scalars().all())
        # An earlier command of the same transaction may hold some of these rows: read them again at next use.
        for held in list(self.session.identity_map.values()):
            if isinstance(held, Contribution) and held.id in taken:
                self.session.expire(held)
        return taken


def _refusal(step: Step, kind: str, status: str, review: str | None) -> Refusal | None:
    if kind == ContributionKind.INTENTION:
        return Refusal.INTENTION
    if status == ContributionStatus.CANCELLED:
        return Refusal.CANCELLED
    if step is Step.BILL and status == ContributionStatus.BILLED:
        return Refusal.ALREADY_BILLED
    if status == ContributionStatus.PAID:
        return Refusal.ALREADY_PAID
    if step is Step.PAY and status == ContributionStatus.DECLARED:
        return Refusal.NOT_BILLED
    if review == ReviewState.QUESTIONED:
        return Refusal.QUESTIONED
    return None
