"""`/reunion`: announce circle meetings, list, cancel and move them; reminders, the calendar feed, and date polls
(`/reunion sondage`, commands/reunion_poll.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.commandkit import Arg, Command, CommandGroup, opt
from chatbot.context import Context, ReactionContext
from chatbot.db.engine import read_only
from chatbot.db.models import Meeting, MeetingStatus
from chatbot.errors import ArgumentError, PermissionDenied, UsageError
from chatbot.grammar.arguments import NumberConverter
from chatbot.grammar.base import FreeText, ParseContext
from chatbot.grammar.meeting_arguments import (
    AllCircles,
    CircleConverter,
    CircleRef,
    Link,
    ListScopeConverter,
    MeetingDurationConverter,
    PlaceConverter,
    Video,
    place_and_agenda,
)
from chatbot.grammar.meeting_dates import MeetingTime, MeetingWhenConverter, OccurrenceDateConverter
from chatbot.grammar.poll_arguments import PollConverter
from chatbot.grammar.recurrences import Recurrence
from chatbot.grammar.tokens import Token, tokenize
from chatbot.services import Services
from chatbot.services.meetings import LIST_LIMIT, Attendance, meeting_of_post
from chatbot.text import chat_safe, fold
from chatbot.transport.base import Outgoing, ReactionChange, Room, RoomKind
from chatbot.values import Duration
from commands import reunion_poll
from commands.common import PageConverter, command_text, pages
from commands.reactions import reactors_by_meaning
from commands.reunion_feed import ROUTES
from commands.reunion_tasks import TASKS as MEETING_TASKS
from commands.reunion_text import AGENDA_LIMIT, MeetingTexts

__all__ = ["REACTIONS", "REACTIONS_READ", "ROUTES", "TASKS", "WATCHED_POSTS", "group"]
log = logging.getLogger(__name__)

MAX_MEETING_MINUTES = 12 * 60
WATCH_MARGIN = timedelta(days=7)  # meetings that old are still read back at start (see watched_posts)
PAGE_WORDS = ("suite", "page")  # what PageConverter reads first

# What `/reunion 12 …` answers: whether the member comes (accents and case ignored).
ANSWER_WORDS = {
    "je viens": Attendance.YES,
    "viens": Attendance.YES,
    "oui": Attendance.YES,
    "present": Attendance.YES,
    "presente": Attendance.YES,
    "peut-etre": Attendance.MAYBE,
    "peut etre": Attendance.MAYBE,
    "peutetre": Attendance.MAYBE,
    "je ne sais pas": Attendance.MAYBE,
    "absent": Attendance.NO,
    "absente": Attendance.NO,
    "non": Attendance.NO,
    "je ne viens pas": Attendance.NO,
    "je viens pas": Attendance.NO,
}
# The emojis of an announcement, as Rocket.Chat names them in reaction events (with a few synonyms).
REACTION_ANSWERS = {
    ":white_check_mark:": Attendance.YES,
    ":heavy_check_mark:": Attendance.YES,
    ":ballot_box_with_check:": Attendance.YES,
    ":grey_question:": Attendance.MAYBE,
    ":question:": Attendance.MAYBE,
    ":x:": Attendance.NO,
    ":negative_squared_cross_mark:": Attendance.NO,
}
_NUMBER = re.compile(r"(?:n°|#)?\d{1,9}")


def _answer_of(text: str) -> Attendance | None:
    return ANSWER_WORDS.get(" ".join(fold(text).replace("’", "'").strip(" .!").split()))


class _MeetingGroup(CommandGroup):
    """`/reunion 12` and `/reunion 12 je viens` are `/reunion voir 12 …`: a number alone, or followed by an
    answer, names a meeting; anything else after a number is a date (`/reunion 12 mars 14h`)."""

    def select(self, source: str) -> tuple[Command, str]:
        tokens = tokenize(source)
        if tokens and not tokens[0].quoted and _NUMBER.fullmatch(tokens[0].text):
            rest = source[tokens[0].end :]
            if not rest.strip() or _answer_of(rest) is not None:
                return next(c for c in self.commands if c.keyword == "voir"), source
        return super().select(source)


group = _MeetingGroup("reunion", aliases=("reunions", "meeting", "rdv"))


def _texts(ctx: Context) -> MeetingTexts:
    return MeetingTexts(ctx.t, ctx.fmt, ctx.settings)


def _publish(ctx: Context, circle_slug: str, text: str, post_id: str, ack_key: str, **ack: object) -> None:
    """Post in the circle's public channel (with a deterministic id, so a transport can track or edit it) and
    acknowledge where the command was typed, unless that is the same room."""
    circle = ctx.settings.circle(circle_slug)
    channel = circle.public_channel if circle else None
    if channel is None:
        ctx.reply(text)
        return
    ctx.outgoing.append(Outgoing(text=text, room_name=channel, is_reply=False, id=post_id))
    if channel != ctx.message.room.name:
        ctx.reply(ctx.t(ack_key, channel=channel, **ack))


@group.command(
    args=(
        opt("circle", CircleConverter()),
        Arg("when", MeetingWhenConverter()),
        opt("duration", MeetingDurationConverter()),
        opt("place", PlaceConverter()),
    ),
    rest=opt("details", FreeText("details", guarded=True)),
)
async def announce(
    ctx: Context,
    circle: CircleRef | None,
    when: MeetingTime | Recurrence,
    duration: Duration | None,
    place: Video | Link | None,
    details: str,
) -> None:
    if circle is None:
        if ctx.room_circle is None:
            raise UsageError("circle_required", known=ctx.parse.circles.slugs)
        circle = CircleRef(ctx.room_circle.slug)
    minutes = _length(when, duration)
    if len(details) > AGENDA_LIMIT:
        raise ArgumentError("meeting_text_too_long", limit=AGENDA_LIMIT)
    meetings = ctx.services.meetings
    link = meetings.video_link(circle.slug) if isinstance(place, Video) else place.url if place else ""
    where, agenda = place_and_agenda(details, has_link=place is not None)
    created = await meetings.create(
        ctx.member,
        circle.slug,
        when,
        minutes=minutes,
        link=link,
        place=where,
        agenda=agenda,
        private_room=_said_only_here(ctx, circle.slug),
    )
    texts = _texts(ctx)
    meeting = created.meeting
    for item in (meeting, *created.announced):
        text = texts.announcement(item, ctx.member.username)
        summary = texts.summary(item)
        _publish(ctx, circle.slug, text, f"meeting-{item.id}", "reunion.acknowledged", id=item.id, summary=summary)
        if item.id in created.clashes:  # said where the command was typed, even in the circle's own channel
            circle_name = texts.circle_name(circle.slug)
            ctx.reply(
                ctx.t("reunion.duplicate_warning", id=item.id, other=created.clashes[item.id], circle=circle_name)
            )


def _length(when: MeetingTime | Recurrence, duration: Duration | None) -> int | None:
    """The meeting's length in minutes: from its end (`14h-16h`) or its duration (`2h`), which must agree when
    both are given; None for the circle's usual length."""
    span = when.minutes
    if span is not None and duration is not None and duration.minutes != span:
        raise ArgumentError("meeting_range_duration_mismatch", span_minutes=span, duration_minutes=duration.minutes)
    minutes = span if span is not None else duration.minutes if duration is not None else None
    if minutes is not None and minutes > MAX_MEETING_MINUTES:
        raise ArgumentError("meeting_too_long", duration_minutes=minutes, limit_minutes=MAX_MEETING_MINUTES)
    return minutes


def _said_only_here(ctx: Context, circle_slug: str) -> tuple[str, str | None] | None:
    """The private room typed in, when the announcement stays there (the circle has no public channel)."""
    circle = ctx.settings.circle(circle_slug)
    room = ctx.message.room
    if (circle is not None and circle.public_channel) or room.kind is not RoomKind.GROUP:
        return None
    return room.id, room.name


async def _check_visible(ctx: Context, number: int) -> None:
    """A meeting said only in a private room is changed only there, or in a direct message by one of its members."""
    meeting = await ctx.services.meetings.get(number)
    if meeting.private_room_id is not None:
        room = Room(meeting.private_room_id, meeting.private_room_name, RoomKind.GROUP)
        if not await ctx.may_see(room):
            raise PermissionDenied("meeting_private", id=number)


class _ListScope(ListScopeConverter):
    """The circle of `/reunion liste`, which `suite` (the next page) never is."""

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if tokens and not tokens[0].quoted and fold(tokens[0].text) in PAGE_WORDS:
            return None
        return super().match(tokens, ctx)


@group.command("agenda", aliases=("calendrier", "ical"), args=(opt("circle", ListScopeConverter()),))
async def agenda(ctx: Context, circle: CircleRef | AllCircles | None) -> None:
    """The calendar feed's address, and how to subscribe from Nextcloud. With a token, the address is the
    cooperative's secret: it goes in a direct message, never in a channel."""
    if circle is None and ctx.room_circle is not None:
        circle = CircleRef(ctx.room_circle.slug)
    name = circle.slug if isinstance(circle, CircleRef) else "all"
    scope = _texts(ctx).circle_name(name) if isinstance(circle, CircleRef) else ctx.t("reunion.calendar_all")
    base = ctx.settings.web.public_url
    if base is None:
        ctx.reply(ctx.t("reunion.calendar_no_url", path=f"/calendar/{name}.ics"))
        return
    token = ctx.settings.meetings.calendar_token
    address = f"{base.rstrip('/')}/calendar/{name}.ics" + (f"?token={quote(token, safe='')}" if token else "")
    text = ctx.t("reunion.calendar", scope=scope, address=address)
    if token and not ctx.message.room.is_direct:
        ctx.reply_privately(text)
        ctx.reply(ctx.t("reunion.calendar_sent_direct"))
        return
    ctx.reply(text)


@group.command(
    "liste",
    aliases=("lister", "list", "prochaines"),
    args=(opt("circle", _ListScope()), opt("page", PageConverter())),
)
async def listing(ctx: Context, circle: CircleRef | AllCircles | None, page: int | None) -> None:
    """In a circle's channel, `/reunion liste` shows that circle's meetings and says how to see them all. At most
    LIST_LIMIT meetings an answer; the last line says how many are left and the command that shows them."""
    from_room = circle is None and ctx.room_circle is not None
    if isinstance(circle, CircleRef):
        circle_slug: str | None = circle.slug
    else:
        circle_slug = ctx.room_circle.slug if from_room and ctx.room_circle else None
    texts = _texts(ctx)
    scope = texts.circle_name(circle_slug) if circle_slug else ctx.t("reunion.list_all")
    meetings = ctx.services.meetings
    rooms = [Room(room_id, name, RoomKind.GROUP) for room_id, name in await meetings.private_rooms()]
    upcoming = await meetings.upcoming(circle_slug, await ctx.private_rooms_seen(rooms))
    if not upcoming:
        ctx.reply(ctx.t("reunion.list_empty_room" if from_room else "reunion.list_empty", scope=scope))
        return
    page = page or 1
    last = pages(len(upcoming), LIST_LIMIT)

    def command(number: int) -> str:
        scope_words = "tous" if isinstance(circle, AllCircles) else circle.slug if circle else ""
        following = "" if number <= 1 else "suite" if number == 2 else f"suite {number}"
        return command_text("/reunion liste", scope_words, following)

    if page > last:
        ctx.reply(ctx.t("reunion.list_beyond", scope=scope, pages=last, command=command(last)))
        return
    shown = upcoming[(page - 1) * LIST_LIMIT : page * LIST_LIMIT]
    if page == 1:
        lines = [ctx.t("reunion.list_header_room" if from_room else "reunion.list_header", scope=scope)]
    else:
        lines = [ctx.t("reunion.list_header_page", scope=scope, page=page, pages=last)]
    lines += [texts.list_line(item.meeting, item.next_start) for item in shown]
    more = len(upcoming) - (page - 1) * LIST_LIMIT - len(shown)
    if more > 0:
        key = "reunion.list_more_one" if more == 1 else "reunion.list_more"
        lines.append(ctx.t(key, more=more, command=command(page + 1)))
    ctx.reply("\n".join(lines))


@group.command(
    "annuler",
    aliases=("supprimer", "cancel"),
    args=(Arg("number", NumberConverter()), opt("day", OccurrenceDateConverter())),
)
async def cancel(ctx: Context, number: int, day: date | None) -> None:
    await _check_visible(ctx, number)
    meeting = await ctx.services.meetings.cancel(ctx.member, number, is_admin=ctx.is_admin, day=day)
    text = _texts(ctx).cancelled(meeting, chat_safe(ctx.member.username, 40))
    _publish(ctx, meeting.circle_slug, text, f"meeting-{meeting.id}-cancelled", "reunion.cancel_done")


@group.command(
    "deplacer",
    aliases=("reporter", "move"),
    args=(
        Arg("number", NumberConverter()),
        opt("day", OccurrenceDateConverter(marked=True)),
        Arg("when", MeetingWhenConverter(recurring=False)),
    ),
)
async def move(ctx: Context, number: int, day: date | None, when: MeetingTime) -> None:
    await _check_visible(ctx, number)
    meetings = ctx.services.meetings
    minutes = _length(when, None)
    meeting, former = await meetings.move(ctx.member, number, when, is_admin=ctx.is_admin, day=day, minutes=minutes)
    texts = _texts(ctx)
    text = texts.moved(meeting, former, chat_safe(ctx.member.username, 40))
    post_id = f"meeting-{meeting.id}-moved-{meeting.sequence}"
    _publish(ctx, meeting.circle_slug, text, post_id, "reunion.move_done", id=meeting.id, when=texts.summary(meeting))


@group.command(
    "voir", aliases=("details",), args=(Arg("number", NumberConverter()),), rest=opt("answer", FreeText("answer"))
)
async def show(ctx: Context, number: int, answer: str) -> None:
    """`/reunion 12`: the meeting in full; `/reunion 12 je viens` (`peut-etre`, `absent`): whether one comes."""
    await _check_visible(ctx, number)
    meetings = ctx.services.meetings
    texts = _texts(ctx)
    if not answer:
        meeting = await meetings.get(number)
        series = await meetings.find(meeting.series_id) if meeting.series_id else None
        attendance = await meetings.attendance(meeting.id)
        reminders = await meetings.pending_reminders(meeting.id)
        ctx.reply(texts.full(meeting, attendance, reminders, series))
        return
    kind = _answer_of(answer)
    if kind is None:
        raise ArgumentError("meeting_answer_unknown", given=answer, id=number)
    meeting, _previous = await meetings.answer(number, ctx.member, kind)
    ctx.reply(texts.answered(meeting, kind, await meetings.attendance(meeting.id)))


# --- reactions: who comes ----------------------------------------------------------------------------------------


async def on_reaction(ctx: ReactionContext, change: ReactionChange) -> None:
    """✅ ❔ ❌ on a meeting's announcement say whether the member comes; removing the reaction takes back the
    answer it gave (not one given by command)."""
    answer = REACTION_ANSWERS.get(change.emoji)
    number = meeting_of_post(change.message_id)
    if answer is None or number is None:
        return
    meetings = ctx.services.meetings
    if await meetings.find(number) is None:
        return
    if not change.added:
        await meetings.unset_answer_by_reaction(number, ctx.member, answer)
        return
    await meetings.answer(number, ctx.member, answer, by_reaction=True)


async def on_reactions_read(services: Services, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
    """A meeting's post read whole for the first time since the bot started: the answers by reaction whose
    reaction it no longer shows were removed while the bot was down, and go (answers by command stay)."""
    number = meeting_of_post(post_id)
    if number is None:
        return
    meeting = await services.meetings.find(number)
    if meeting is None or meeting.status != MeetingStatus.SCHEDULED or meeting.rrule is not None:
        return
    answers = reactors_by_meaning(shown, REACTION_ANSWERS)
    gone = await services.meetings.unset_reactions_not_shown(meeting.id, answers)
    if gone:
        log.info("meeting %s: answers whose reaction was removed while the bot was down: %s", meeting.id, gone)


async def watched_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The announcements of the dated meetings of the last week and to come (said in a public channel): their
    reactions answer. WATCHED_POSTS gets no clock: the week's margin keeps every meeting not over yet whatever the
    bot's clock says; a reaction to a meeting already over is refused by the service."""
    since = datetime.now(UTC) - WATCH_MARGIN
    async with sessions() as session:
        await read_only(session)
        rows = await session.scalars(
            select(Meeting.id)
            .where(
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.rrule.is_(None),
                Meeting.private_room_id.is_(None),
                Meeting.start_at > since,
            )
            .order_by(Meeting.id)
        )
        return [f"meeting-{number}" for number in rows]


# --- date polls (`/reunion sondage`, commands/reunion_poll.py) ---------------------------------------------------

group.command("sondage", aliases=("sondages", "poll", "doodle"), args=(opt("poll", PollConverter()),))(
    reunion_poll.poll_command
)


async def on_any_reaction(ctx: ReactionContext, change: ReactionChange) -> None:
    await on_reaction(ctx, change)
    await reunion_poll.on_reaction(ctx, change)


async def on_any_reactions_read(services: Services, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
    await on_reactions_read(services, post_id, shown)
    await reunion_poll.on_reactions_read(services, post_id, shown)


async def all_watched_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    return [*await watched_posts(sessions), *await reunion_poll.watched_posts(sessions)]


TASKS = {**MEETING_TASKS, **reunion_poll.TASKS}
REACTIONS = on_any_reaction
REACTIONS_READ = on_any_reactions_read
WATCHED_POSTS = all_watched_posts
