"""`/reunion sondage`: a date poll for a circle's meeting — one line per slot with its number emoji, answered by
reaction or by command until the deadline, when the slot most chosen is announced as a meeting.

The poll, its result and the meeting are top-level posts of the circle's public channel (where `/reunion`
announces); acknowledgements go where the command was typed. Registered on the `/reunion` group by
commands/reunion.py, which also routes reactions, catch-up reads and the deadline task here.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.clock import zone
from chatbot.config import Settings
from chatbot.context import Context, ReactionContext
from chatbot.db.engine import read_only
from chatbot.db.models import Meeting, MeetingPoll, MeetingPollSlot, Member, PollStatus
from chatbot.errors import DomainError, PermissionDenied, UsageError
from chatbot.formatting import Formatter
from chatbot.grammar.meeting_arguments import Video
from chatbot.grammar.poll_arguments import NUMBER_EMOJIS, NewPoll, PollAnswer, PollChoice, PollRequest
from chatbot.messages import Catalogue
from chatbot.scheduler import Firing, TaskHandler
from chatbot.services import Services
from chatbot.services.meeting_polls import POLL_DEADLINE, Outcome, PollService, SlotRequest, poll_of_post
from chatbot.text import chat_safe
from chatbot.transport.base import Outgoing, ReactionChange, Room, RoomKind
from commands.reactions import reactors_by_meaning
from commands.reunion_text import MeetingTexts

log = logging.getLogger(__name__)
TITLE_SHOWN = 200
LIST_LIMIT = 20  # open polls in one answer of `/reunion sondage`
WATCH_MARGIN = timedelta(days=7)  # polls whose deadline is this recent are still read back at start


class PollTexts:
    """What members read about a poll (texts from the catalogue)."""

    def __init__(self, t: Catalogue, fmt: Formatter, settings: Settings) -> None:
        self.t = t
        self.fmt = fmt
        self.meeting = MeetingTexts(t, fmt, settings)

    def when(self, poll: MeetingPoll, slot: MeetingPollSlot) -> str:
        """The slot as a meeting's date reads: `mardi 1er décembre 2026 de 14 h à 15 h 30`."""
        return self.meeting.span(Meeting(start_at=slot.start_at, minutes=slot.minutes, timezone=poll.timezone))

    def deadline(self, poll: MeetingPoll) -> str:
        return self.fmt.datetime_long(poll.deadline.astimezone(zone(poll.timezone)))

    def slot_line(self, poll: MeetingPoll, slot: MeetingPollSlot, votes: dict[int, list[Member]] | None = None) -> str:
        emoji = NUMBER_EMOJIS[slot.number - 1]
        if votes is None:
            return self.t("sondage.slot_line", emoji=emoji, when=self.when(poll, slot))
        members = votes.get(slot.number, [])
        names = self.t("reunion.attendance_names", names=self.meeting.names(members)) if members else ""
        return self.t("sondage.slot_count", emoji=emoji, when=self.when(poll, slot), count=len(members), names=names)

    def how_to_answer(self, poll: MeetingPoll, slots: list[MeetingPollSlot]) -> str:
        """How to answer, its example naming slots the poll has (`1 3`, or `1 2` for a poll of two)."""
        return self.t("sondage.how_to_answer", id=poll.id, other=3 if len(slots) >= 3 else 2)

    def _head(self, key: str, poll: MeetingPoll) -> list[str]:
        lines = [self.t(key, id=poll.id, circle=self.meeting.circle_name(poll.circle_slug))]
        if poll.title:
            lines.append(self.t("sondage.title", title=chat_safe(poll.title, TITLE_SHOWN)))
        return lines

    def post(self, poll: MeetingPoll, slots: list[MeetingPollSlot], author: str) -> str:
        lines = self._head("sondage.post_head", poll)
        lines += [self.slot_line(poll, slot) for slot in slots]
        if poll.video:
            lines.append(self.t("sondage.video"))
        elif poll.link:
            lines.append(self.t("reunion.link", link=chat_safe(poll.link, 200)))
        lines.append(self.t("sondage.deadline", deadline=self.deadline(poll)))
        lines.append(self.how_to_answer(poll, slots))
        lines.append(self.t("sondage.proposed_by", author=chat_safe(author, 40)))
        return "\n".join(lines)

    def show(
        self,
        poll: MeetingPoll,
        slots: list[MeetingPollSlot],
        votes: dict[int, list[Member]],
        author: str,
        now: datetime,
    ) -> str:
        lines = self._head("sondage.show_head", poll)
        lines += [self.slot_line(poll, slot, votes) for slot in slots]
        if poll.status == PollStatus.OPEN:
            lines.append(self.t("sondage.show_open", deadline=self.deadline(poll)))
            lines.append(self.how_to_answer(poll, slots))
        elif poll.status == PollStatus.TIED:  # the author may still choose a slot to come, if one is left
            to_come = [slot.number for slot in slots if slot.start_at > now]
            if to_come:
                lines.append(self.t("sondage.show_tied", id=poll.id, author=chat_safe(author, 40), first=to_come[0]))
            else:
                lines.append(self.t("sondage.result_no_slot_left"))
        else:
            emoji = NUMBER_EMOJIS[(poll.chosen_slot or 1) - 1]
            lines.append(self.t("sondage.show_decided", emoji=emoji, meeting=poll.meeting_id or "?"))
        return "\n".join(lines)

    def result(
        self,
        outcome: Outcome,
        slots: list[MeetingPollSlot],
        votes: dict[int, list[Member]],
        author: str,
        *,
        chosen_by: str | None = None,
        late: bool = False,
    ) -> str:
        poll = outcome.poll
        lines = self._head("sondage.result_head", poll)
        lines += [self.slot_line(poll, slot, votes) for slot in slots]
        if outcome.created is not None:
            slot = next(s for s in slots if s.number == poll.chosen_slot)
            key = "sondage.result_chosen_by" if chosen_by else "sondage.result_chosen"
            lines.append(
                self.t(
                    key,
                    emoji=NUMBER_EMOJIS[slot.number - 1],
                    when=self.when(poll, slot),
                    meeting=outcome.created.meeting.id,
                    who=chat_safe(chosen_by or "", 40),
                )
            )
        elif not outcome.tied:
            lines.append(self.t("sondage.result_no_slot_left"))
        else:
            lines.append(self.tie(poll, outcome.tied, votes, author))
        if late:
            lines.append(self.t("sondage.late"))
        return "\n".join(lines)

    def tie(self, poll: MeetingPoll, tied: list[int], votes: dict[int, list[Member]], author: str) -> str:
        emojis = " ".join(NUMBER_EMOJIS[n - 1] for n in tied)
        count = len(votes.get(tied[0], []))
        key = "sondage.result_tie" if count > 1 else "sondage.result_tie_one" if count else "sondage.result_nobody"
        return self.t(key, slots=emojis, count=count, author=chat_safe(author, 40), id=poll.id, first=tied[0])


def _texts(t: Catalogue, fmt: Formatter, settings: Settings) -> PollTexts:
    return PollTexts(t, fmt, settings)


def _target(settings: Settings, poll: MeetingPoll) -> tuple[str | None, str | None]:
    """(room id, room name) where the poll's posts go: its private room, or its circle's public channel."""
    if poll.private_room_id is not None:
        return poll.private_room_id, poll.private_room_name
    circle = settings.circle(poll.circle_slug)
    return None, circle.public_channel if circle else None


def _post(ctx: Context, room: tuple[str | None, str | None], text: str, post_id: str) -> bool:
    """A top-level post in the poll's room; it counts as the answer when that is where the command was typed.
    Returns whether it did."""
    room_id, room_name = room
    here = room_id == ctx.message.room.id if room_id else room_name == ctx.message.room.name
    ctx.outgoing.append(Outgoing(text=text, room_id=room_id, room_name=room_name, is_reply=here, id=post_id))
    return here


async def _check_visible(ctx: Context, poll: MeetingPoll) -> None:
    if poll.private_room_id is not None:
        room = Room(poll.private_room_id, poll.private_room_name, RoomKind.GROUP)
        if not await ctx.may_see(room):
            raise PermissionDenied("poll_private", id=poll.id)


async def poll_command(ctx: Context, poll: PollRequest | None) -> None:
    """`/reunion sondage …`: open a poll, show it, answer it, or choose its slot; alone, the open polls."""
    if poll is None:
        await _list_open(ctx)
        return
    if isinstance(poll, NewPoll):
        await _open(ctx, poll)
        return
    service = PollService(ctx.services)
    row = await service.get(poll.number)
    await _check_visible(ctx, row)
    if isinstance(poll, PollChoice):
        await _choose(ctx, service, row, poll.slot)
    elif poll.slots is None:
        await _show(ctx, service, row)
    else:
        await _answer(ctx, service, row, poll)


async def _open(ctx: Context, request: NewPoll) -> None:
    if request.circle is None:
        if ctx.room_circle is None:
            raise UsageError("poll_circle_required", known=ctx.parse.circles.slugs)
        circle_slug = ctx.room_circle.slug
    else:
        circle_slug = request.circle.slug
    circle = ctx.settings.circle(circle_slug)
    room = ctx.message.room
    private_room = None
    target: tuple[str | None, str | None]
    if circle is not None and circle.public_channel:
        target = (None, circle.public_channel)
    elif room.kind is RoomKind.GROUP:  # no public channel: the poll is said in the private room typed in, only
        target = (room.id, room.name)
        private_room = (room.id, room.name)
    else:  # nowhere its result could be posted
        raise DomainError("poll_no_channel", circle=circle.name if circle else circle_slug)
    service = PollService(ctx.services)
    poll, slots = await service.create(
        ctx.member,
        circle_slug,
        title=request.title,
        slots=[SlotRequest(slot.start, slot.minutes) for slot in request.slots],
        deadline=request.deadline,
        video=isinstance(request.place, Video),
        link="" if request.place is None or isinstance(request.place, Video) else request.place.url,
        private_room=private_room,
    )
    texts = _texts(ctx.t, ctx.fmt, ctx.settings)
    here = _post(ctx, target, texts.post(poll, slots, ctx.member.username), f"poll-{poll.id}")
    if not here or ctx.message.thread_id is not None:
        ctx.reply(
            ctx.t(
                "sondage.acknowledged",
                id=poll.id,
                channel=target[1] or "?",
                count=len(slots),
                deadline=texts.deadline(poll),
            )
        )


async def _list_open(ctx: Context) -> None:
    """The open polls (those said only in a private room, where they may be seen), soonest deadline first."""
    service = PollService(ctx.services)
    rows = await service.open_polls()
    rooms = [Room(p.private_room_id, p.private_room_name, RoomKind.GROUP) for p in rows if p.private_room_id]
    seen = await ctx.private_rooms_seen(rooms)
    shown = [p for p in rows if p.private_room_id is None or p.private_room_id in seen]
    if not shown:
        ctx.reply(ctx.t("sondage.list_empty"))
        return
    texts = _texts(ctx.t, ctx.fmt, ctx.settings)
    lines = [ctx.t("sondage.list_header")]
    for row in shown[:LIST_LIMIT]:
        title = f" · {chat_safe(row.title, 80)}" if row.title else ""
        circle = texts.meeting.circle_name(row.circle_slug)
        lines.append(ctx.t("sondage.list_line", id=row.id, circle=circle, deadline=texts.deadline(row)) + title)
    if len(shown) > LIST_LIMIT:  # the rest by number only: short, and each one a command away
        rest = ", ".join(f"n°{row.id}" for row in shown[LIST_LIMIT:])
        lines.append(
            ctx.t("sondage.list_more", more=len(shown) - LIST_LIMIT, numbers=rest, example=shown[LIST_LIMIT].id)
        )
    ctx.reply("\n".join(lines))


async def _show(ctx: Context, service: PollService, poll: MeetingPoll) -> None:
    texts = _texts(ctx.t, ctx.fmt, ctx.settings)
    slots = await service.slots(poll.id)
    author = await service.author_name(poll)
    ctx.reply(texts.show(poll, slots, await service.votes(poll.id), author, ctx.clock.now()))


async def _answer(ctx: Context, service: PollService, poll: MeetingPoll, request: PollAnswer) -> None:
    assert request.slots is not None
    await service.answer(poll.id, ctx.member, request.slots)
    texts = _texts(ctx.t, ctx.fmt, ctx.settings)
    slots = await service.slots(poll.id)
    votes = await service.votes(poll.id)
    if request.slots:
        chosen = ", ".join(
            f"{NUMBER_EMOJIS[s.number - 1]} {texts.when(poll, s)}" for s in slots if s.number in request.slots
        )
        head = ctx.t("sondage.answered", id=poll.id, slots=chosen)
    else:
        head = ctx.t("sondage.answered_none", id=poll.id)
    ctx.reply("\n".join([head, *(texts.slot_line(poll, slot, votes) for slot in slots)]))


async def _choose(ctx: Context, service: PollService, poll: MeetingPoll, slot: int) -> None:
    outcome = await service.choose(ctx.member, poll.id, slot, is_admin=ctx.is_admin)
    assert outcome.created is not None
    texts = _texts(ctx.t, ctx.fmt, ctx.settings)
    author = await service.author_name(poll)
    slots = await service.slots(poll.id)
    result = texts.result(outcome, slots, await service.votes(poll.id), author, chosen_by=ctx.member.username)
    target = _target(ctx.settings, poll)
    here = _post(ctx, target, result, f"poll-{poll.id}-result")
    meeting = outcome.created.meeting
    announcement = texts.meeting.announcement(meeting, author)
    room_id, room_name = target
    ctx.outgoing.append(
        Outgoing(text=announcement, room_id=room_id, room_name=room_name, is_reply=False, id=f"meeting-{meeting.id}")
    )
    if not here or ctx.message.thread_id is not None:
        ctx.reply(ctx.t("sondage.choose_done", id=poll.id, meeting=meeting.id, channel=room_name or "?"))


# --- the deadline -----------------------------------------------------------------------------------------------


async def close_at_deadline(firing: Firing) -> list[Outgoing]:
    """The deadline: the result, and the meeting announced; on a tie, its author is asked to choose (DM)."""
    service = PollService(firing.services)
    outcome = await service.close(firing.task.ref_id)
    if outcome is None:
        firing.skip("poll already decided or gone")
        return []
    poll = outcome.poll
    texts = _texts(firing.t, firing.fmt, firing.settings)
    author = await service.author_name(poll)
    slots = await service.slots(poll.id)
    votes = await service.votes(poll.id)
    room_id, room_name = _target(firing.settings, poll)
    if room_id is None and room_name is None:
        firing.skip("circle has no public channel")
        return []
    result = texts.result(outcome, slots, votes, author, late=firing.late)
    out = [Outgoing(text=result, room_id=room_id, room_name=room_name, is_reply=False, id=f"poll-{poll.id}-result")]
    if outcome.created is not None:
        meeting = outcome.created.meeting
        out.append(
            Outgoing(
                text=texts.meeting.announcement(meeting, author, late=firing.late),
                room_id=room_id,
                room_name=room_name,
                is_reply=False,
                id=f"meeting-{meeting.id}",
            )
        )
    elif outcome.tied:
        text = firing.t(
            "sondage.tie_direct",
            id=poll.id,
            circle=texts.meeting.circle_name(poll.circle_slug),
            slots=" ".join(NUMBER_EMOJIS[n - 1] for n in outcome.tied),
            first=outcome.tied[0],
        )
        out.append(Outgoing(text=text, room_name=f"@{author}", is_reply=False, id=f"poll-{poll.id}-tie"))
    return out


TASKS: dict[str, TaskHandler] = {POLL_DEADLINE: close_at_deadline}


# --- reactions: :one: … :nine: ----------------------------------------------------------------------------------


async def on_reaction(ctx: ReactionContext, change: ReactionChange) -> None:
    """A slot's number emoji added or removed on the poll's post: that slot, for that member."""
    number = poll_of_post(change.message_id)
    if number is None or change.emoji not in NUMBER_EMOJIS:
        return
    service = PollService(ctx.services)
    if await service.find(number) is None:
        return
    slot = NUMBER_EMOJIS.index(change.emoji) + 1
    if change.added:
        await service.add_by_reaction(number, ctx.member, slot)
    else:
        await service.remove_by_reaction(number, ctx.member, slot)


async def on_reactions_read(services: Services, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
    """The poll's post read whole after a start: the slots given by a reaction removed meanwhile go."""
    number = poll_of_post(post_id)
    if number is None:
        return
    service = PollService(services)
    poll = await service.find(number)
    if poll is None or poll.status != PollStatus.OPEN:
        return
    slots = {emoji: number for number, emoji in enumerate(NUMBER_EMOJIS, start=1)}
    gone = await service.unset_reactions_not_shown(poll.id, reactors_by_meaning(shown, slots))
    if gone:
        log.info("poll %s: slots whose reaction was removed while the bot was down: %s", poll.id, gone)


async def watched_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The posts of the open polls said in a public channel (a week's margin past their deadline, whatever the
    bot's clock says: a reaction after the deadline is refused by the service)."""
    since = datetime.now(UTC) - WATCH_MARGIN
    async with sessions() as session:
        await read_only(session)
        rows = await session.scalars(
            select(MeetingPoll.id)
            .where(
                MeetingPoll.status == PollStatus.OPEN,
                MeetingPoll.private_room_id.is_(None),
                MeetingPoll.deadline > since,
            )
            .order_by(MeetingPoll.id)
        )
        return [f"poll-{number}" for number in rows]


__all__ = ["TASKS", "on_reaction", "on_reactions_read", "poll_command", "watched_posts"]
