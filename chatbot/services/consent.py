"""Consent rounds: opening, positions (one per member, changeable until closing), closing, withdrawing, amending.

Positions are upserted on the (round, member) unique key, so many members answering at once, or one member's
command racing their own reaction, leave exactly one row each. Answering takes a shared lock on the round and
closing an exclusive one (PostgreSQL), so no position slips in after the outcome was counted; SQLite gets the same
from BEGIN IMMEDIATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.models import (
    ConsentPosition,
    ConsentQuestion,
    ConsentRound,
    Decision,
    Member,
    PositionKind,
    RoundStatus,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.grammar.deadlines import ReviewSpec, review_date
from chatbot.services.limits import MAX_POSITION_REASON, MAX_PROPOSAL, check_length
from chatbot.services.tasks import TaskService
from chatbot.wiki import schedule_publication

TASK_DEADLINE = "consent_deadline"
TASK_REMINDER = "consent_reminder"
TASK_REVIEW = "decision_review"
TASK_POSITIONS_OPEN = "consent_positions_open"  # the end of a clarification phase, said in the room
REVIEW_REMINDER_AT = time(9, 0)
SOFA_KINDS = (PositionKind.CONSENT, PositionKind.OBJECTION)
PRIVATE = "p"  # ConsentRound.room_kind of a private room (transport.base.RoomKind.GROUP)


@dataclass(frozen=True)
class Answer:
    member_id: int
    user_id: str
    username: str
    kind: PositionKind
    reason: str

    @property
    def counted(self) -> bool:
        """An objection without its reason is not counted (the bot asks for the reason)."""
        return not (self.kind is PositionKind.OBJECTION and not self.reason)


@dataclass(frozen=True)
class Tally:
    answers: tuple[Answer, ...]

    def of(self, kind: PositionKind) -> list[Answer]:
        return [a for a in self.answers if a.kind is kind and a.counted]

    @property
    def objections(self) -> list[Answer]:
        return self.of(PositionKind.OBJECTION)

    @property
    def pending_objections(self) -> list[Answer]:
        return [a for a in self.answers if not a.counted]

    @property
    def counted(self) -> int:
        return sum(1 for a in self.answers if a.counted)


@dataclass(frozen=True)
class PositionChange:
    round: ConsentRound
    kind: PositionKind | None  # None: the position was removed
    counted: bool
    previous: PositionKind | None


@dataclass(frozen=True)
class Closure:
    round: ConsentRound
    tally: Tally
    adopted: bool
    quorum_met: bool
    decision: Decision | None

    @property
    def nobody_answered(self) -> bool:
        """No member but the author answered: an adoption then only means that nobody objected in time."""
        return not any(a.member_id != self.round.author_id for a in self.tally.answers)


class ConsentService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, tasks: TaskService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.tasks = tasks

    # --- opening ---------------------------------------------------------------------------------------------

    def default_deadline(self, circle: str | None) -> datetime:
        hours = self.settings.consent.rules(circle).deadline_hours
        return (self.clock.now().astimezone(UTC) + timedelta(hours=hours)).astimezone(self.clock.tz)

    async def open(
        self,
        author: Member,
        text: str,
        *,
        circle: str | None,
        room_id: str,
        room_name: str | None,
        room_kind: str,
        deadline: datetime,
        review: ReviewSpec | None,
        parent_id: int | None = None,
        clarification: timedelta | None = None,
    ) -> ConsentRound:
        """`clarification`: a time for questions before positions, which must end before the deadline."""
        check_length(text, MAX_PROPOSAL, "proposal_too_long")
        rules = self.settings.consent.rules(circle)
        now = self.clock.now()
        positions_from = (now.astimezone(UTC) + clarification).astimezone(self.clock.tz) if clarification else None
        if positions_from is not None and positions_from >= deadline - timedelta(hours=1):
            raise DomainError("clarification_too_long")
        round_ = ConsentRound(
            circle=circle,
            room_id=room_id,
            room_name=room_name,
            room_kind=room_kind,
            author_id=author.id,
            text=text,
            style=rules.style,
            quorum=rules.quorum,
            status=RoundStatus.OPEN,
            opened_at=now,
            deadline=deadline,
            closed_late=False,
            parent_id=parent_id,
            review_months=review.months if review else None,
            review_on=review.on if review else None,
            positions_from=positions_from,
        )
        self.session.add(round_)
        await self.session.flush()
        round_.post_id = f"consent-{round_.id}"
        await self.tasks.schedule(TASK_DEADLINE, round_.id, deadline)
        if positions_from is not None:
            await self.tasks.schedule(TASK_POSITIONS_OPEN, round_.id, positions_from)
        if rules.reminder_hours:
            remind_at = deadline - timedelta(hours=rules.reminder_hours)
            if remind_at > now:
                await self.tasks.schedule(TASK_REMINDER, round_.id, remind_at)
        return round_

    # --- reading ---------------------------------------------------------------------------------------------

    async def get(self, number: int, *, lock: str | None = None) -> ConsentRound:
        query = select(ConsentRound).where(ConsentRound.id == number).execution_options(populate_existing=True)
        if lock == "share":
            query = query.with_for_update(read=True)
        elif lock == "update":
            query = query.with_for_update()
        round_ = await self.session.scalar(query)
        if round_ is None:
            raise DomainError("round_unknown", number=number)
        return round_

    async def by_post(self, post_id: str) -> ConsentRound | None:
        return await self.session.scalar(select(ConsentRound).where(ConsentRound.post_id == post_id))

    async def tally(self, round_: ConsentRound) -> Tally:
        rows = await self.session.execute(
            select(ConsentPosition, Member)
            .join(Member, Member.id == ConsentPosition.member_id)
            .where(ConsentPosition.round_id == round_.id)
            .order_by(ConsentPosition.updated_at, ConsentPosition.id)
        )
        return Tally(
            tuple(
                Answer(member.id, member.user_id, member.username, PositionKind(position.kind), position.reason)
                for position, member in rows.all()
            )
        )

    async def author_name(self, round_: ConsentRound) -> str:
        member = await self.session.get(Member, round_.author_id)
        return member.username if member else "?"

    async def known_in_room(self, room_id: str) -> list[Member]:
        """Members the bot has seen take part in consent in this room (authors and answerers of its rounds): the
        fallback for "who has not answered yet" when the transport cannot list the room's members."""
        authors = select(ConsentRound.author_id).where(ConsentRound.room_id == room_id)
        answerers = (
            select(ConsentPosition.member_id)
            .join(ConsentRound, ConsentRound.id == ConsentPosition.round_id)
            .where(ConsentRound.room_id == room_id)
        )
        query = select(Member).where(Member.id.in_(authors.union(answerers))).order_by(Member.username)
        return list((await self.session.scalars(query)).all())

    async def open_in_room(self, room_id: str) -> list[int]:
        """Numbers of the rounds open in a room, newest first."""
        query = (
            select(ConsentRound.id)
            .where(ConsentRound.room_id == room_id, ConsentRound.status == RoundStatus.OPEN)
            .order_by(ConsentRound.id.desc())
        )
        return list((await self.session.scalars(query)).all())

    async def chain(self, round_: ConsentRound) -> list[int]:
        """The rounds that led to this one, oldest first (amend-and-rerun links), this one last."""
        numbers = [round_.id]
        parent_id = round_.parent_id
        while parent_id is not None and len(numbers) < 100:
            numbers.append(parent_id)
            parent = await self.session.get(ConsentRound, parent_id)
            parent_id = parent.parent_id if parent else None
        return numbers[::-1]

    # --- clarifying questions ------------------------------------------------------------------------------

    async def ask(self, number: int, member: Member, text: str) -> ConsentQuestion:
        """A clarifying question on an open round, numbered per round (the round is locked while numbering)."""
        text = text.strip()
        if not text:
            raise DomainError("question_missing", number=number)
        check_length(text, MAX_POSITION_REASON, "question_too_long")
        round_ = await self.get(number, lock="update")
        if round_.status != RoundStatus.OPEN:
            raise DomainError("round_closed", number=number)
        last = await self.session.scalar(
            select(func.max(ConsentQuestion.number)).where(ConsentQuestion.round_id == round_.id)
        )
        question = ConsentQuestion(
            round_id=round_.id, number=(last or 0) + 1, author_id=member.id, text=text, asked_at=self.clock.now()
        )
        self.session.add(question)
        await self.session.flush()
        return question

    async def answer_question(self, number: int, question_number: int, member: Member, text: str) -> ConsentQuestion:
        """Answer a question of a round, from its author or anyone; a later answer replaces the former one."""
        text = text.strip()
        check_length(text, MAX_POSITION_REASON, "question_too_long")
        round_ = await self.get(number, lock="update")
        question = await self.session.scalar(
            select(ConsentQuestion).where(
                ConsentQuestion.round_id == round_.id, ConsentQuestion.number == question_number
            )
        )
        if question is None:
            raise DomainError("question_unknown", number=number, question=question_number)
        question.answer, question.answered_by, question.answered_at = text, member.id, self.clock.now()
        await self.session.flush()
        return question

    async def questions(self, round_: ConsentRound, *, open_only: bool = False) -> list[tuple[ConsentQuestion, str]]:
        """The round's questions with their askers' names, in order; `open_only`: those not answered yet."""
        query = (
            select(ConsentQuestion, Member.username)
            .join(Member, Member.id == ConsentQuestion.author_id)
            .where(ConsentQuestion.round_id == round_.id)
            .order_by(ConsentQuestion.number)
        )
        if open_only:
            query = query.where(ConsentQuestion.answer.is_(None))
        return [(q, name) for q, name in (await self.session.execute(query)).all()]

    async def member_name(self, member_id: int | None) -> str:
        member = await self.session.get(Member, member_id) if member_id is not None else None
        return member.username if member else "?"

    # --- positions -------------------------------------------------------------------------------------------

    async def set_position(
        self, number: int, member: Member, kind: PositionKind, reason: str = "", *, by_reaction: bool = False
    ) -> PositionChange:
        """Record a member's position, by command or `by_reaction`. A reaction carries no text: re-objecting by
        reaction keeps the reason already given. A reaction of the kind already recorded changes nothing, not even
        where the position came from: after a restart every current reaction comes back as added, and must not
        turn an answer given by command into one that removing the reaction would take back."""
        round_ = await self._open_round(number)
        if round_.style == "sofa" and kind not in SOFA_KINDS:
            raise DomainError("sofa_refuses", kind=kind.value, number=number)
        current = await self._position(round_.id, member.id)
        previous = PositionKind(current.kind) if current else None
        if by_reaction and current is not None and current.kind == kind:
            reason, by_reaction = current.reason, current.by_reaction
        reason = reason.strip()
        check_length(reason, MAX_POSITION_REASON, "position_reason_too_long")
        await self._upsert(round_.id, member.id, kind, reason, by_reaction)
        counted = not (kind is PositionKind.OBJECTION and not reason)
        return PositionChange(round_, kind, counted, previous)

    async def unset_position(self, number: int, member: Member, kind: PositionKind) -> PositionChange | None:
        """A reaction removed: the member's position goes, if it still is that kind (another reaction may have
        replaced it since) and was given by reaction (an answer by command stays until answered otherwise)."""
        round_ = await self._open_round(number)
        current = await self._position(round_.id, member.id)
        if current is None or current.kind != kind or not current.by_reaction:
            return None
        await self.session.delete(current)
        await self.session.flush()
        return PositionChange(round_, None, False, kind)

    async def unset_reactions_not_shown(self, number: int, shown: dict[PositionKind, set[str]]) -> list[str]:
        """The round's post as read now, `shown`: kind → user ids of the members whose reaction on it gives that
        kind. The positions given by reaction that the post no longer shows (the reaction was removed while the
        bot was not running) go; answers by command stay. Returns the usernames whose position went."""
        round_ = await self._open_round(number)
        rows = await self.session.execute(
            select(ConsentPosition, Member)
            .join(Member, Member.id == ConsentPosition.member_id)
            .where(ConsentPosition.round_id == round_.id, ConsentPosition.by_reaction.is_(True))
            .order_by(Member.username)
        )
        gone: list[str] = []
        for position, member in rows.all():
            if member.user_id not in shown.get(PositionKind(position.kind), set()):
                await self.session.delete(position)
                gone.append(member.username)
        await self.session.flush()
        return gone

    async def _open_round(self, number: int) -> ConsentRound:
        round_ = await self.get(number, lock="share")
        if round_.status != RoundStatus.OPEN:
            raise DomainError("round_closed", number=number)
        return round_

    async def _position(self, round_id: int, member_id: int) -> ConsentPosition | None:
        return await self.session.scalar(
            select(ConsentPosition)
            .where(ConsentPosition.round_id == round_id, ConsentPosition.member_id == member_id)
            .execution_options(populate_existing=True)
        )

    async def _upsert(self, round_id: int, member_id: int, kind: PositionKind, reason: str, by_reaction: bool) -> None:
        bind = self.session.bind
        insert = pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert
        now = self.clock.now()
        values = {"kind": kind.value, "reason": reason, "updated_at": now, "by_reaction": by_reaction}
        statement = insert(ConsentPosition).values(round_id=round_id, member_id=member_id, **values)
        statement = statement.on_conflict_do_update(index_elements=["round_id", "member_id"], set_=values)
        await self.session.execute(statement)

    # --- closing ---------------------------------------------------------------------------------------------

    async def close(self, number: int, actor: Member, *, is_admin: bool) -> Closure:
        """Close before the deadline. Refused while nobody but the author has answered: closing at once would
        adopt a proposal nobody had the time to read (the author may withdraw it, or wait for the deadline)."""
        round_ = await self._own_open_round(number, actor, is_admin)
        tally = await self.tally(round_)
        if not any(a.member_id != round_.author_id for a in tally.answers):
            raise DomainError("close_nobody_answered", number=number)
        return await self._finish(round_, late=False)

    async def close_due(self, round_id: int, *, late: bool) -> Closure | None:
        """The deadline task: close the round if it is still open (it may have been closed early)."""
        round_ = await self.get(round_id, lock="update")
        if round_.status != RoundStatus.OPEN:
            return None
        return await self._finish(round_, late=late)

    async def withdraw(self, number: int, actor: Member, *, is_admin: bool) -> ConsentRound:
        round_ = await self._own_open_round(number, actor, is_admin)
        round_.status = RoundStatus.WITHDRAWN
        round_.closed_at = self.clock.now()
        await self.tasks.cancel([TASK_DEADLINE, TASK_REMINDER], round_.id)
        return round_

    async def amend(
        self,
        number: int,
        actor: Member,
        *,
        is_admin: bool,
        text: str,
        deadline: datetime | None,
        review: ReviewSpec | None = None,
    ) -> tuple[ConsentRound, Tally, ConsentRound]:
        """Open the amended proposal as a round linked to one that met objections: an open round is closed as
        amended; a round already closed without adoption may be amended once. The new round takes the deadline and
        review date given with the amendment; without them, the default deadline and the former round's review."""
        check_length(text, MAX_PROPOSAL, "proposal_too_long")
        old = await self.get(number, lock="update")
        if old.author_id != actor.id and not is_admin:
            raise PermissionDenied("round_not_yours", number=number, author=await self.author_name(old))
        if old.status not in (RoundStatus.OPEN, RoundStatus.REJECTED):
            raise DomainError("round_not_amendable", number=number)
        child = await self.session.scalar(select(ConsentRound.id).where(ConsentRound.parent_id == old.id))
        if child is not None:
            raise DomainError("round_already_amended", number=number, child=child)
        tally = await self.tally(old)
        if not any(a.kind is PositionKind.OBJECTION for a in tally.answers):
            raise DomainError("amend_needs_objection", number=number)
        if old.status == RoundStatus.OPEN:
            old.status = RoundStatus.AMENDED
            old.closed_at = self.clock.now()
            await self.tasks.cancel([TASK_DEADLINE, TASK_REMINDER], old.id)
        if review is None and (old.review_months or old.review_on):
            review = ReviewSpec(old.review_months, old.review_on)
        author = await self.session.get(Member, old.author_id)
        assert author is not None
        new = await self.open(
            author,
            text,
            circle=old.circle,
            room_id=old.room_id,
            room_name=old.room_name,
            room_kind=old.room_kind,
            deadline=deadline or self.default_deadline(old.circle),
            review=review,
            parent_id=old.id,
        )
        return old, tally, new

    async def _own_open_round(self, number: int, actor: Member, is_admin: bool) -> ConsentRound:
        round_ = await self.get(number, lock="update")
        if round_.status != RoundStatus.OPEN:
            raise DomainError("round_closed", number=number)
        if round_.author_id != actor.id and not is_admin:
            raise PermissionDenied("round_not_yours", number=number, author=await self.author_name(round_))
        return round_

    async def _finish(self, round_: ConsentRound, *, late: bool) -> Closure:
        tally = await self.tally(round_)
        quorum_met = round_.quorum is None or tally.counted >= round_.quorum
        adopted = quorum_met and not tally.objections
        now = self.clock.now()
        round_.status = RoundStatus.ADOPTED if adopted else RoundStatus.REJECTED
        round_.closed_at = now
        round_.closed_late = late
        await self.tasks.cancel([TASK_DEADLINE, TASK_REMINDER], round_.id)
        decision = None
        if adopted:
            review = None
            if round_.review_months or round_.review_on:
                review = review_date(ReviewSpec(round_.review_months, round_.review_on), now.date())
            decision = Decision(
                round_id=round_.id,
                circle=round_.circle,
                text=round_.text,
                author_id=round_.author_id,
                adopted_at=now,
                review_on=review,
            )
            self.session.add(decision)
            await self.session.flush()
            await schedule_publication(self.tasks, self.settings)  # the register on the wiki, if configured
            if review is not None:
                due = datetime.combine(review, REVIEW_REMINDER_AT, tzinfo=self.clock.tz)
                await self.tasks.schedule(TASK_REVIEW, decision.id, max(due, now))
        return Closure(round_, tally, adopted, quorum_met, decision)
