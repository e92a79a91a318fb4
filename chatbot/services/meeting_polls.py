"""Date polls: when should a circle meet? Members say which slots suit them until the deadline (a scheduled task,
so that it survives restarts and fires once); then the slot most chosen is announced as a meeting through the
meetings service (reminders and all). On a tie (or with no answer) the poll waits for its author to choose.

An answer by command replaces the member's whole answer; a reaction adds or removes one slot. As for meetings, a
reaction of a slot already chosen changes nothing, not even where the answer came from: after a restart every
reaction comes back as added, and must not turn an answer by command into one that removing a reaction takes back.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import zone
from chatbot.config import holds_role
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import MeetingPoll, MeetingPollSlot, MeetingPollVote, Member, PollStatus
from chatbot.errors import DomainError, PermissionDenied
from chatbot.grammar.meeting_dates import MeetingTime
from chatbot.services import Services
from chatbot.services.limits import MAX_LINK, check_length
from chatbot.services.meetings import Created

POLL_DEADLINE = "meeting_poll_deadline"
_POST_ID = re.compile(r"poll-(\d{1,9})")


def poll_of_post(post_id: str) -> int | None:
    """The poll a post shows (`poll-4`), else None."""
    found = _POST_ID.fullmatch(post_id)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class SlotRequest:
    start: datetime
    minutes: int | None  # None: the circle's usual length


@dataclass(frozen=True)
class Outcome:
    """How a poll ended: the meeting announced, or the slots tied (the author chooses)."""

    poll: MeetingPoll
    created: Created | None
    tied: list[int]  # slot numbers, when no single slot won


class PollService:
    """Built on the services of one unit of work (its session, clock, tasks and meetings)."""

    def __init__(self, services: Services) -> None:
        self.session: AsyncSession = services.session
        self.settings = services.settings
        self.clock = services.clock
        self.tasks = services.tasks
        self.meetings = services.meetings

    async def create(
        self,
        author: Member,
        circle_slug: str,
        *,
        title: str,
        slots: Sequence[SlotRequest],
        deadline: datetime,
        video: bool,
        link: str,
        private_room: tuple[str, str | None] | None = None,
    ) -> tuple[MeetingPoll, list[MeetingPollSlot]]:
        check_length(link, MAX_LINK, "meeting_link_too_long")
        circle = self.meetings.circle(circle_slug)
        now = self.clock.now()
        poll = MeetingPoll(
            circle_slug=circle.slug,
            author_id=author.id,
            title=title,
            video=video,
            link=link,
            timezone=str(self.settings.timezone),
            deadline=deadline.astimezone(UTC),
            status=PollStatus.OPEN,
            created_at=now,
            private_room_id=private_room[0] if private_room else None,
            private_room_name=private_room[1] if private_room else None,
        )
        self.session.add(poll)
        await self.session.flush()
        rows = [
            MeetingPollSlot(
                poll_id=poll.id,
                number=number,
                start_at=slot.start.astimezone(UTC),
                minutes=slot.minutes or circle.meeting_minutes,
            )
            for number, slot in enumerate(slots, start=1)
        ]
        self.session.add_all(rows)
        await self.session.flush()
        await self.tasks.schedule(POLL_DEADLINE, poll.id, poll.deadline)
        return poll, rows

    # --- reading ----------------------------------------------------------------------------------------------

    async def find(self, number: int) -> MeetingPoll | None:
        return await self.session.get(MeetingPoll, number)

    async def get(self, number: int) -> MeetingPoll:
        poll = await self.find(number)
        if poll is None:
            raise DomainError("poll_unknown", id=number)
        return poll

    async def _locked(self, number: int) -> MeetingPoll:
        """The poll, its row locked on PostgreSQL: its closing and its answers do not cross."""
        poll = await self.session.scalar(
            select(MeetingPoll)
            .where(MeetingPoll.id == number)
            .with_for_update(**ROW_LOCK)
            .execution_options(populate_existing=True)
        )
        if poll is None:
            raise DomainError("poll_unknown", id=number)
        return poll

    async def open_polls(self) -> list[MeetingPoll]:
        """The polls still open, soonest deadline first."""
        rows = await self.session.scalars(
            select(MeetingPoll)
            .where(MeetingPoll.status == PollStatus.OPEN)
            .order_by(MeetingPoll.deadline, MeetingPoll.id)
        )
        return list(rows.all())

    async def slots(self, poll_id: int) -> list[MeetingPollSlot]:
        rows = await self.session.scalars(
            select(MeetingPollSlot).where(MeetingPollSlot.poll_id == poll_id).order_by(MeetingPollSlot.number)
        )
        return list(rows.all())

    async def votes(self, poll_id: int) -> dict[int, list[Member]]:
        """Slot number → the members available then, by username."""
        rows = await self.session.execute(
            select(MeetingPollVote.slot_number, Member)
            .join(Member, Member.id == MeetingPollVote.member_id)
            .where(MeetingPollVote.poll_id == poll_id)
            .order_by(MeetingPollVote.slot_number, Member.username)
        )
        found: dict[int, list[Member]] = {}
        for number, member in rows.all():
            found.setdefault(number, []).append(member)
        return found

    async def author_name(self, poll: MeetingPoll) -> str:
        member = await self.session.get(Member, poll.author_id)
        return member.username if member else "?"

    # --- answers ----------------------------------------------------------------------------------------------

    async def _answerable(self, number: int) -> tuple[MeetingPoll, set[int]]:
        poll = await self._locked(number)
        if poll.status != PollStatus.OPEN or poll.deadline <= self.clock.now():
            raise DomainError("poll_closed", id=poll.id)
        return poll, {slot.number for slot in await self.slots(poll.id)}

    async def answer(self, number: int, member: Member, chosen: Collection[int]) -> MeetingPoll:
        """The member's answer becomes exactly `chosen` (slot numbers; empty: none suits)."""
        poll, known = await self._answerable(number)
        unknown = sorted(set(chosen) - known)
        if unknown:
            raise DomainError("poll_slot_unknown", id=poll.id, slot=unknown[0], count=len(known))
        await self.session.execute(
            delete(MeetingPollVote).where(MeetingPollVote.poll_id == poll.id, MeetingPollVote.member_id == member.id)
        )
        now = self.clock.now()
        self.session.add_all(
            MeetingPollVote(poll_id=poll.id, slot_number=n, member_id=member.id, by_reaction=False, updated_at=now)
            for n in sorted(set(chosen))
        )
        await self.session.flush()
        return poll

    async def _vote(self, poll_id: int, slot: int, member_id: int) -> MeetingPollVote | None:
        return await self.session.scalar(
            select(MeetingPollVote).where(
                MeetingPollVote.poll_id == poll_id,
                MeetingPollVote.slot_number == slot,
                MeetingPollVote.member_id == member_id,
            )
        )

    async def add_by_reaction(self, number: int, member: Member, slot: int) -> bool:
        """A slot's emoji added: the member is available then (an emoji beyond the poll's slots means nothing).
        A reaction already counted changes nothing, even once the poll is closed: after a restart every reaction
        comes back as added, and only one new since the closing is refused."""
        poll = await self._locked(number)
        if slot not in {row.number for row in await self.slots(poll.id)}:
            return False
        if await self._vote(poll.id, slot, member.id) is not None:
            return False
        await self._answerable(number)
        self.session.add(
            MeetingPollVote(
                poll_id=poll.id, slot_number=slot, member_id=member.id, by_reaction=True, updated_at=self.clock.now()
            )
        )
        await self.session.flush()
        return True

    async def remove_by_reaction(self, number: int, member: Member, slot: int) -> bool:
        """A slot's emoji removed: the slot goes from the answer if it was given by that reaction."""
        poll = await self._locked(number)
        if poll.status != PollStatus.OPEN or poll.deadline <= self.clock.now():
            return False
        vote = await self._vote(poll.id, slot, member.id)
        if vote is None or not vote.by_reaction:
            return False
        await self.session.delete(vote)
        await self.session.flush()
        return True

    async def unset_reactions_not_shown(self, poll_id: int, shown: Mapping[int, Collection[str]]) -> list[str]:
        """The poll's post as read now, `shown`: slot number → user ids reacting with its emoji. The slots given by a
        reaction the post no longer shows go; answers by command stay. Returns `username:slot` of what went."""
        rows = await self.session.execute(
            select(MeetingPollVote, Member)
            .join(Member, Member.id == MeetingPollVote.member_id)
            .where(MeetingPollVote.poll_id == poll_id, MeetingPollVote.by_reaction.is_(True))
            .order_by(Member.username, MeetingPollVote.slot_number)
        )
        gone: list[str] = []
        for vote, member in rows.all():
            if member.user_id not in shown.get(vote.slot_number, ()):
                await self.session.delete(vote)
                gone.append(f"{member.username}:{vote.slot_number}")
        await self.session.flush()
        return gone

    # --- the end of a poll ------------------------------------------------------------------------------------

    async def close(self, number: int) -> Outcome | None:
        """At the deadline: the slot most chosen (among those still to come) is announced; a tie waits for the
        author. None when the poll is no longer open (chosen before its deadline)."""
        poll = await self._locked(number)
        if poll.status != PollStatus.OPEN:
            return None
        now = self.clock.now()
        votes = await self.votes(poll.id)
        counts = {
            slot.number: len(votes.get(slot.number, [])) for slot in await self.slots(poll.id) if slot.start_at > now
        }
        best = max(counts.values(), default=0)
        leaders = sorted(n for n, count in counts.items() if count == best)
        poll.closed_at = now
        if best > 0 and len(leaders) == 1:
            return Outcome(poll, await self._decide(poll, leaders[0]), [])
        poll.status = PollStatus.TIED
        return Outcome(poll, None, leaders)

    async def choose(self, actor: Member, number: int, slot: int, *, is_admin: bool) -> Outcome:
        """The author (exact account), a keeper of the circle's meetings or an admin chooses the slot; before the
        deadline too, which closes the poll."""
        poll = await self._locked(number)
        keepers = self.meetings.circle(poll.circle_slug).meeting_keepers
        if not (is_admin or actor.id == poll.author_id or holds_role(actor.username, keepers)):
            raise PermissionDenied("poll_not_yours", id=poll.id)
        if poll.status == PollStatus.DECIDED:
            raise DomainError("poll_already_decided", id=poll.id, slot=poll.chosen_slot, meeting=poll.meeting_id)
        slots = {row.number: row for row in await self.slots(poll.id)}
        if slot not in slots:
            raise DomainError("poll_slot_unknown", id=poll.id, slot=slot, count=len(slots))
        if slots[slot].start_at <= self.clock.now():
            raise DomainError("poll_slot_over", id=poll.id, slot=slot)
        poll.closed_at = poll.closed_at or self.clock.now()
        await self.tasks.cancel([POLL_DEADLINE], poll.id)
        return Outcome(poll, await self._decide(poll, slot), [])

    async def _decide(self, poll: MeetingPoll, number: int) -> Created:
        slot = next(row for row in await self.slots(poll.id) if row.number == number)
        author = await self.session.get(Member, poll.author_id)
        assert author is not None
        link = self.meetings.video_link(poll.circle_slug) if poll.video else poll.link
        private_room = (poll.private_room_id, poll.private_room_name) if poll.private_room_id else None
        created = await self.meetings.create(
            author,
            poll.circle_slug,
            MeetingTime(slot.start_at.astimezone(zone(poll.timezone))),
            minutes=slot.minutes,
            link=link,
            place="",
            agenda=poll.title,
            private_room=private_room,
        )
        poll.status = PollStatus.DECIDED
        poll.chosen_slot = number
        poll.meeting_id = created.meeting.id
        return created
