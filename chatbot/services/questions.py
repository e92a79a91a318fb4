"""Questions about declarations: the look taken afterwards, in the open (the cooperative trusts first).

Any member may question a declaration, with a reason; it keeps counting in its envelope meanwhile. The owner, the
keepers of the envelope's circle or an admin close the question by confirming the declaration; cancelling the
declaration closes it too (`close_for_cancellation`, called by the cancel path in the same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from chatbot.clock import Clock
from chatbot.config import Settings, holds_role
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    Circle,
    Contribution,
    ContributionKind,
    ContributionQuestion,
    ContributionStatus,
    Envelope,
    Member,
    OutboxMessage,
    ReviewState,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.services.budget import BudgetService
from chatbot.services.contributions import ContributionLine, ContributionService
from chatbot.services.limits import MAX_BUDGET_REASON, check_length

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


def post_id_of(question_id: int) -> str:
    """The message id the bot gives the question's post: later messages about it go into its thread."""
    return f"question-{question_id}"


@dataclass(frozen=True)
class QuestionView:
    """A question with what its messages need: the declaration, who asked, who answers for it."""

    id: int
    contribution: ContributionLine
    asked_by: str
    asked_at: datetime
    reason: str
    post_id: str | None
    keepers: tuple[str, ...]  # who answers for the envelope: the circle's keepers, else the treasurers
    outcome: str | None = None
    note: str = ""


@dataclass(frozen=True)
class QuestionPage:
    questions: list[QuestionView]
    count: int  # open questions matching, on every page


@dataclass(frozen=True)
class PostPlace:
    """Where a question's post is: a room by id (as the outbox recorded it) or by name."""

    room_id: str | None
    room_name: str | None


class QuestionService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, budget: BudgetService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.budget = budget
        self._keepers: dict[int | None, tuple[str, ...]] = {}  # by circle id, for this unit of work

    # --- asking and closing ---------------------------------------------------------------------------------

    async def ask(self, actor: Member, contribution_id: int, reason: str) -> QuestionView:
        """Mark the declaration questioned and record the question; it still counts in its envelope."""
        reason = reason.strip()
        if not reason:
            raise DomainError("question_reason_required", id=contribution_id)
        check_length(reason, MAX_BUDGET_REASON, "question_reason_too_long")
        contribution = await self._contribution(contribution_id)
        if contribution.kind != ContributionKind.DECLARATION:
            raise DomainError("question_not_declaration", id=contribution_id)
        if contribution.status == ContributionStatus.CANCELLED:
            raise DomainError("question_cancelled", id=contribution_id)
        mine = await self.session.scalar(
            select(ContributionQuestion.id).where(
                ContributionQuestion.contribution_id == contribution.id,
                ContributionQuestion.asked_by_id == actor.id,
                ContributionQuestion.closed_at.is_(None),
            )
        )
        if mine is not None:
            raise DomainError("question_already_asked", id=contribution_id)
        question = ContributionQuestion(
            contribution_id=contribution.id,
            asked_by_id=actor.id,
            asked_at=self.clock.now(),
            reason=reason,
            note="",
        )
        self.session.add(question)
        await self.session.flush()
        question.post_id = post_id_of(question.id)
        contribution.review = ReviewState.QUESTIONED
        envelope = await self.session.get(Envelope, contribution.envelope_id)
        assert envelope is not None
        self.budget.audit(
            actor,
            "question",
            envelope.year,
            envelope=envelope,
            contribution=contribution,
            old_cents=contribution.amount_cents,
            reason=reason,
        )
        await self.session.flush()
        return await self._view(question, contribution)

    async def confirm(self, actor: Member, contribution_id: int, note: str, *, is_admin: bool) -> list[QuestionView]:
        """Close the open questions about a declaration, keeping it (`review = confirmed`)."""
        note = note.strip()
        check_length(note, MAX_BUDGET_REASON, "question_note_too_long")
        contribution = await self._contribution(contribution_id)
        questions = await self._open_questions(contribution.id)
        if not questions:
            raise DomainError("question_none_open", id=contribution_id)
        owner = await self.session.get(Member, contribution.member_id)
        envelope = await self.session.get(Envelope, contribution.envelope_id)
        assert owner is not None and envelope is not None
        keepers = await self.keepers_of(envelope)
        if not (is_admin or actor.id == owner.id or holds_role(actor.username, keepers)):
            if not keepers:
                raise PermissionDenied("question_confirm_owner_only", id=contribution_id, owner=owner.username)
            raise PermissionDenied(
                "question_confirm_not_allowed", id=contribution_id, owner=owner.username, keepers=list(keepers)
            )
        contribution.review = ReviewState.CONFIRMED
        views = self._close(actor, questions, CONFIRMED, note)
        self.budget.audit(
            actor,
            "question_confirmed",
            envelope.year,
            envelope=envelope,
            contribution=contribution,
            old_cents=contribution.amount_cents,
            reason=note,
        )
        await self.session.flush()
        return [replace(await self._view(q, contribution), outcome=CONFIRMED, note=note) for q in views]

    async def close_for_cancellation(self, actor: Member, contribution_id: int) -> list[QuestionView]:
        """The hook of the cancel path: a questioned declaration that gets cancelled closes its open questions as
        "cancelled" (audited). Call it in the same transaction, after the cancellation was allowed; it returns the
        questions closed (none when nobody had asked), for a word in each question's thread."""
        questions = await self._open_questions(contribution_id)
        if not questions:
            return []
        contribution = await self._contribution(contribution_id)
        envelope = await self.session.get(Envelope, contribution.envelope_id)
        assert envelope is not None
        views = self._close(actor, questions, CANCELLED, "")
        self.budget.audit(
            actor,
            "question_cancelled",
            envelope.year,
            envelope=envelope,
            contribution=contribution,
            old_cents=contribution.amount_cents,
        )
        await self.session.flush()
        return [replace(await self._view(q, contribution), outcome=CANCELLED) for q in views]

    def _close(
        self, actor: Member, questions: list[ContributionQuestion], outcome: str, note: str
    ) -> list[ContributionQuestion]:
        now = self.clock.now()
        for question in questions:
            question.closed_at = now
            question.closed_by_id = actor.id
            question.outcome = outcome
            question.note = note
        return questions

    # --- reading --------------------------------------------------------------------------------------------

    async def open_page(self, *, envelope_slug: str | None = None, offset: int = 0, limit: int = 15) -> QuestionPage:
        """The open questions, oldest first (the longest waiting at the top)."""
        conditions: list[ColumnElement[bool]] = [ContributionQuestion.closed_at.is_(None)]
        if envelope_slug is not None:
            conditions.append(Envelope.slug == envelope_slug)
        base = (
            select(ContributionQuestion, Contribution)
            .join(Contribution, Contribution.id == ContributionQuestion.contribution_id)
            .join(Envelope, Envelope.id == Contribution.envelope_id)
            .where(*conditions)
        )
        count = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = (
            await self.session.execute(
                base.order_by(ContributionQuestion.asked_at, ContributionQuestion.id).offset(offset).limit(limit)
            )
        ).all()
        return QuestionPage([await self._view(q, c) for q, c in rows], int(count or 0))

    async def open_for_member(
        self, member: Member, envelope_ids: list[int], *, offset: int = 0, limit: int = 15
    ) -> QuestionPage:
        """The open questions about this member's declarations on these envelopes (their dashboard)."""
        asker = aliased(Member)
        conditions = [
            ContributionQuestion.closed_at.is_(None),
            Contribution.member_id == member.id,
            Contribution.envelope_id.in_(envelope_ids),
        ]
        base = (
            select(ContributionQuestion.id)
            .join(Contribution, Contribution.id == ContributionQuestion.contribution_id)
            .where(*conditions)
        )
        count = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        if not count or limit <= 0:
            return QuestionPage([], int(count or 0))
        query = (
            select(ContributionQuestion, Contribution, asker.username)
            .join(Contribution, Contribution.id == ContributionQuestion.contribution_id)
            .join(asker, asker.id == ContributionQuestion.asked_by_id)
            .where(*conditions)
            .order_by(ContributionQuestion.asked_at, ContributionQuestion.id)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return QuestionPage([await self._view(q, c, asked_by=name) for q, c, name in rows], int(count))

    async def keepers_of(self, envelope: Envelope) -> tuple[str, ...]:
        """Who answers for an envelope: its circle's keepers; the treasurers for an envelope of no circle, or of a
        circle that names no keeper."""
        if envelope.circle_id in self._keepers:
            return self._keepers[envelope.circle_id]
        circle_slug = None
        if envelope.circle_id is not None:
            circle_slug = await self.session.scalar(select(Circle.slug).where(Circle.id == envelope.circle_id))
        self._keepers[envelope.circle_id] = keepers = self.settings.keepers_of(circle_slug)
        return keepers

    async def post_place(self, post_id: str | None) -> PostPlace | None:
        """Where the question's post went: as the outbox recorded it, else the contribution channel; None when
        neither tells (the console without a contribution channel)."""
        if post_id is None:
            return None
        row = (
            await self.session.execute(
                select(OutboxMessage.room_id, OutboxMessage.room_name).where(OutboxMessage.message_id == post_id)
            )
        ).first()
        if row is not None and (row.room_id or row.room_name):
            return PostPlace(row.room_id, row.room_name)
        channel = self.settings.budget.contribution_channel
        return PostPlace(None, channel) if channel else None

    async def _contribution(self, contribution_id: int) -> Contribution:
        contribution = await self.session.get(Contribution, contribution_id, with_for_update=ROW_LOCK)
        if contribution is None:
            raise DomainError("contribution_unknown", id=contribution_id)
        return contribution

    async def _open_questions(self, contribution_id: int) -> list[ContributionQuestion]:
        query = (
            select(ContributionQuestion)
            .where(ContributionQuestion.contribution_id == contribution_id, ContributionQuestion.closed_at.is_(None))
            .order_by(ContributionQuestion.id)
            .with_for_update(**ROW_LOCK)
        )
        return list((await self.session.scalars(query)).all())

    async def _view(
        self, question: ContributionQuestion, contribution: Contribution, *, asked_by: str | None = None
    ) -> QuestionView:
        owner = await self.session.get(Member, contribution.member_id)
        envelope = await self.session.get(Envelope, contribution.envelope_id)
        assert owner is not None and envelope is not None
        if asked_by is None:
            asker = await self.session.get(Member, question.asked_by_id)
            asked_by = asker.username if asker else "?"
        line = ContributionService._line(contribution, owner.username, envelope.slug, envelope.name, envelope.year)
        return QuestionView(
            id=question.id,
            contribution=replace(line, review=contribution.review),
            asked_by=asked_by,
            asked_at=question.asked_at,
            reason=question.reason,
            post_id=question.post_id,
            keepers=await self.keepers_of(envelope),
            outcome=question.outcome,
            note=question.note,
        )
