"""Circle meetings: announce, move, cancel, recur; their reminders are scheduled tasks (rows), never timers.

A one-off meeting gets one task per configured reminder plus one at its start. A recurring series gets one
`meeting_announce` task at a time: when it fires, the next occurrence becomes a meeting row of its own (its own
number, reminders, and a possible exception in the calendar) and the following announcement is scheduled.
Moving a meeting withdraws its pending tasks and schedules new ones, so the old reminders can never fire.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock, reminder_instant, zone
from chatbot.config import CircleSettings, Settings, holds_role
from chatbot.db.models import Meeting, MeetingAttendance, MeetingStatus, Member
from chatbot.errors import DomainError, PermissionDenied
from chatbot.grammar.meeting_dates import MeetingTime
from chatbot.grammar.recurrences import Recurrence, expand
from chatbot.services.limits import MAX_LINK, check_length
from chatbot.services.tasks import TaskService

REMINDER = "meeting_reminder"
START = "meeting_start"
ANNOUNCE = "meeting_announce"
MEETING_TASKS = (REMINDER, START)
MAX_CATCH_UP = 12  # occurrences announced at once at most, when several announcement instants are already past
LIST_LIMIT = 20  # meetings in one answer of `/reunion liste`; the rest is a page away (`suite`)
_POST_ID = re.compile(r"meeting-(\d{1,9})(?:-moved-\d+)?")
_ROOM_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def end_of(meeting: Meeting) -> datetime:
    return meeting.start_at + timedelta(minutes=meeting.minutes)


def local_start(meeting: Meeting) -> datetime:
    return meeting.start_at.astimezone(zone(meeting.timezone))


def is_daily(rule: str | None) -> bool:
    return rule is not None and "FREQ=DAILY" in rule


def announce_days(configured: int, rule: str | None) -> int:
    return min(configured, 1) if is_daily(rule) else configured


class Attendance(enum.StrEnum):
    """A member's answer to a meeting."""

    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


def meeting_of_post(post_id: str) -> int | None:
    """The meeting a post announces (`meeting-12`, or `meeting-12-moved-3` after a move), else None."""
    found = _POST_ID.fullmatch(post_id)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Created:
    meeting: Meeting
    announced: list[Meeting]  # occurrences of a new series already within their announcement window
    # New meeting id → the meeting of the same circle already scheduled at that very instant (a likely double).
    clashes: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Upcoming:
    meeting: Meeting
    next_start: datetime  # for a series: its next occurrence not yet announced


class MeetingService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, tasks: TaskService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.tasks = tasks

    def circle(self, circle_slug: str) -> CircleSettings:
        circle = self.settings.circle(circle_slug)
        if circle is None:
            raise DomainError("circle_unknown", given=circle_slug, suggestions=[], known=[])
        return circle

    def video_link(self, circle_slug: str) -> str:
        """A Jitsi room name people can read aloud, and nobody can guess (about 60 bits of randomness)."""
        token = "".join(secrets.choice(_ROOM_ALPHABET) for _ in range(12))
        return f"{self.settings.meetings.jitsi_server}/reunion-{circle_slug}-{token}"

    async def create(
        self,
        author: Member,
        circle_slug: str,
        when: MeetingTime | Recurrence,
        *,
        minutes: int | None,
        link: str,
        place: str,
        agenda: str,
        private_room: tuple[str, str | None] | None = None,
    ) -> Created:
        """`private_room`: (id, name) of the private room the meeting is said in, when it is said nowhere else."""
        check_length(link, MAX_LINK, "meeting_link_too_long")
        circle = self.circle(circle_slug)
        now = self.clock.now()
        first = when.start if isinstance(when, MeetingTime) else when.first
        meeting = Meeting(
            circle_slug=circle.slug,
            author_id=author.id,
            start_at=first.astimezone(UTC),
            minutes=minutes or circle.meeting_minutes,
            timezone=str(self.settings.timezone),
            place=place,
            link=link,
            agenda=agenda,
            rrule=when.rule if isinstance(when, Recurrence) else None,
            private_room_id=private_room[0] if private_room else None,
            private_room_name=private_room[1] if private_room else None,
            status=MeetingStatus.SCHEDULED,
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        self.session.add(meeting)
        await self.session.flush()
        if meeting.rrule is None:
            await self._schedule(meeting)
            return Created(meeting, [], await self._clashes([meeting]))
        announced = await self.advance_series(meeting, after=None)
        return Created(meeting, announced, await self._clashes(announced))

    async def _clashes(self, rows: list[Meeting]) -> dict[int, int]:
        """For each new dated meeting, an older meeting of its circle still scheduled at the same instant."""
        found: dict[int, int] = {}
        new_ids = [row.id for row in rows]
        for row in rows:
            other = await self.session.scalar(
                select(Meeting.id)
                .where(
                    Meeting.circle_slug == row.circle_slug,
                    Meeting.status == MeetingStatus.SCHEDULED,
                    Meeting.rrule.is_(None),
                    Meeting.start_at == row.start_at,
                    Meeting.id.not_in(new_ids),
                )
                .order_by(Meeting.id)
                .limit(1)
            )
            if other is not None:
                found[row.id] = other
        return found

    async def _schedule(self, meeting: Meeting) -> None:
        """Reminders still to come, and the start message."""
        now = self.clock.now()
        tz = zone(meeting.timezone)
        for minutes in self.circle(meeting.circle_slug).meeting_reminders:
            due = reminder_instant(meeting.start_at, minutes, tz)
            if due > now:
                await self.tasks.schedule(REMINDER, meeting.id, due, note=str(minutes))
        if meeting.start_at > now:
            await self.tasks.schedule(START, meeting.id, meeting.start_at)

    # --- recurring series ---------------------------------------------------------------------------------------

    def next_occurrence(self, series: Meeting, after: datetime | None) -> datetime | None:
        """The first occurrence strictly after `after` (or the series' first one), aware, local."""
        assert series.rrule is not None
        origin = local_start(series)
        return next(expand(series.rrule, origin, after or origin, inclusive=after is None), None)

    def announce_days(self, series: Meeting) -> int:
        """How many days ahead each occurrence is announced: the circle's setting, but at most the day before for
        a daily series (a week ahead would post seven announcements at once)."""
        return announce_days(self.circle(series.circle_slug).meeting_announce_days, series.rrule)

    def announce_instant(self, series: Meeting, occurrence: datetime) -> datetime:
        return reminder_instant(occurrence, self.announce_days(series) * 24 * 60, zone(series.timezone))

    async def advance_series(self, series: Meeting, after: datetime | None) -> list[Meeting]:
        """Announce every occurrence after `after` whose announcement instant has come, then schedule the next
        announcement. Returns the occurrences announced now."""
        now = self.clock.now()
        announced: list[Meeting] = []
        occurrence = self.next_occurrence(series, after)
        for _ in range(MAX_CATCH_UP):
            if occurrence is None:
                return announced
            if occurrence + timedelta(minutes=series.minutes) > now:
                if self.announce_instant(series, occurrence) > now:
                    break
                row = await self.materialise(series, occurrence)
                if row is not None:
                    announced.append(row)
            occurrence = self.next_occurrence(series, occurrence)
        if occurrence is not None:
            await self.tasks.schedule(
                ANNOUNCE, series.id, self.announce_instant(series, occurrence), note=occurrence.isoformat()
            )
        return announced

    async def materialise(self, series: Meeting, occurrence: datetime, *, cancelled: bool = False) -> Meeting | None:
        """The occurrence as a meeting row with its reminders; None if it already has one (moved, cancelled)."""
        original = occurrence.astimezone(UTC)
        existing = await self.session.scalar(
            select(Meeting).where(Meeting.series_id == series.id, Meeting.occurrence_start == original)
        )
        if existing is not None:
            return None
        now = self.clock.now()
        row = Meeting(
            circle_slug=series.circle_slug,
            author_id=series.author_id,
            start_at=original,
            minutes=series.minutes,
            timezone=series.timezone,
            place=series.place,
            link=series.link,
            agenda=series.agenda,
            series_id=series.id,
            occurrence_start=original,
            private_room_id=series.private_room_id,
            private_room_name=series.private_room_name,
            status=MeetingStatus.CANCELLED if cancelled else MeetingStatus.SCHEDULED,
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        if not cancelled:
            await self._schedule(row)
        return row

    # --- changes ----------------------------------------------------------------------------------------------

    async def find(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def get(self, meeting_id: int) -> Meeting:
        meeting = await self.find(meeting_id)
        if meeting is None:
            raise DomainError("meeting_unknown", id=meeting_id)
        return meeting

    async def author_name(self, meeting: Meeting) -> str:
        member = await self.session.get(Member, meeting.author_id)
        return member.username if member else "?"

    def _check_may_change(self, actor: Member, meeting: Meeting, is_admin: bool) -> None:
        keepers = self.circle(meeting.circle_slug).meeting_keepers
        if not (is_admin or actor.id == meeting.author_id or holds_role(actor.username, keepers)):
            raise PermissionDenied("meeting_not_yours", id=meeting.id)

    async def cancel(self, actor: Member, meeting_id: int, *, is_admin: bool, day: date | None = None) -> Meeting:
        """Cancel a meeting, a whole series, or (with `day`) one occurrence of a series; returns what was
        cancelled."""
        meeting = await self.get(meeting_id)
        self._check_may_change(actor, meeting, is_admin)
        if meeting.status == MeetingStatus.CANCELLED:
            raise DomainError("meeting_already_cancelled", id=meeting.id)
        if day is not None:
            if meeting.rrule is None:
                raise DomainError("meeting_not_recurring", id=meeting.id)
            return await self._cancel_occurrence(actor, meeting, day)
        if end_of(meeting) <= self.clock.now() and meeting.rrule is None:
            raise DomainError("meeting_over", id=meeting.id)
        self._mark_cancelled(actor, meeting)
        await self.tasks.cancel([*MEETING_TASKS, ANNOUNCE], meeting.id)
        if meeting.series_id is not None:
            series = await self.find(meeting.series_id)
            if series is not None:
                self._revise(series)
        if meeting.rrule is not None:
            later = await self.session.scalars(
                select(Meeting).where(
                    Meeting.series_id == meeting.id,
                    Meeting.status == MeetingStatus.SCHEDULED,
                    Meeting.start_at > self.clock.now(),
                )
            )
            for row in later:
                self._mark_cancelled(actor, row)
                await self.tasks.cancel(MEETING_TASKS, row.id)
        return meeting

    def _occurrence_on(self, series: Meeting, day: date) -> datetime:
        tz = zone(series.timezone)
        after = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        occurrence = self.next_occurrence(series, after - timedelta(microseconds=1))
        if occurrence is None or occurrence.date() != day or occurrence <= self.clock.now():
            raise DomainError("occurrence_unknown", id=series.id, day=day)
        return occurrence

    async def _existing_occurrence(self, series: Meeting, occurrence: datetime) -> Meeting | None:
        return await self.session.scalar(
            select(Meeting).where(
                Meeting.series_id == series.id, Meeting.occurrence_start == occurrence.astimezone(UTC)
            )
        )

    async def _occurrence_row(self, series: Meeting, day: date) -> Meeting:
        """The occurrence of `day` as a meeting of its own, announced or not yet (then created now)."""
        occurrence = self._occurrence_on(series, day)
        existing = await self._existing_occurrence(series, occurrence)
        if existing is not None:
            return existing
        row = await self.materialise(series, occurrence)
        assert row is not None
        return row

    async def _cancel_occurrence(self, actor: Member, series: Meeting, day: date) -> Meeting:
        occurrence = self._occurrence_on(series, day)
        existing = await self._existing_occurrence(series, occurrence)
        if existing is not None and existing.status == MeetingStatus.CANCELLED:
            raise DomainError("meeting_already_cancelled", id=existing.id)
        self._revise(series)  # its exceptions (EXDATE) change: calendar clients should take the new version
        if existing is not None:
            self._mark_cancelled(actor, existing)
            await self.tasks.cancel(MEETING_TASKS, existing.id)
            return existing
        row = await self.materialise(series, occurrence, cancelled=True)
        assert row is not None
        row.cancelled_by_id = actor.id
        return row

    def _revise(self, meeting: Meeting) -> None:
        meeting.sequence += 1
        meeting.updated_at = self.clock.now()

    def _mark_cancelled(self, actor: Member, meeting: Meeting) -> None:
        meeting.status = MeetingStatus.CANCELLED
        meeting.cancelled_by_id = actor.id
        self._revise(meeting)

    async def move(
        self,
        actor: Member,
        meeting_id: int,
        when: MeetingTime,
        *,
        is_admin: bool,
        day: date | None = None,
        minutes: int | None = None,
    ) -> tuple[Meeting, datetime]:
        """Move a one-off meeting, an announced occurrence, or (with `day`) an occurrence of a series not yet
        announced; returns the moved meeting and its former start. `minutes`: its new length, when the new time
        has an end (`vendredi 14h-16h`); otherwise it keeps its length."""
        meeting = await self.get(meeting_id)
        self._check_may_change(actor, meeting, is_admin)
        if day is not None:
            if meeting.rrule is None:
                raise DomainError("meeting_not_recurring", id=meeting.id)
            meeting = await self._occurrence_row(meeting, day)
        if meeting.rrule is not None:
            raise DomainError("meeting_move_series", id=meeting.id)
        if meeting.status == MeetingStatus.CANCELLED:
            raise DomainError("meeting_already_cancelled", id=meeting.id)
        if end_of(meeting) <= self.clock.now():
            raise DomainError("meeting_over", id=meeting.id)
        former = meeting.start_at
        await self.tasks.cancel(MEETING_TASKS, meeting.id)
        meeting.start_at = when.start.astimezone(UTC)
        if minutes is not None:
            meeting.minutes = minutes
        self._revise(meeting)
        await self._schedule(meeting)
        return meeting, former

    # --- reading ----------------------------------------------------------------------------------------------

    async def private_rooms(self) -> list[tuple[str, str | None]]:
        """The private rooms (id, name) that scheduled meetings were said in only."""
        query = (
            select(Meeting.private_room_id, Meeting.private_room_name)
            .where(Meeting.private_room_id.is_not(None), Meeting.status == MeetingStatus.SCHEDULED)
            .distinct()
        )
        return [(room_id, name) for room_id, name in (await self.session.execute(query)).all() if room_id]

    async def upcoming(self, circle_slug: str | None, private_rooms: Collection[str] = ()) -> list[Upcoming]:
        """Meetings not over yet, and the next unannounced occurrence of each active series, soonest first, all of
        them (the command shows them by pages). Those said only in a private room are left out, but for those of
        `private_rooms` (room ids)."""
        now = self.clock.now()
        query = select(Meeting).where(
            Meeting.status == MeetingStatus.SCHEDULED,
            or_(Meeting.private_room_id.is_(None), Meeting.private_room_id.in_(list(private_rooms))),
        )
        if circle_slug is not None:
            query = query.where(Meeting.circle_slug == circle_slug)
        rows = list((await self.session.scalars(query.order_by(Meeting.start_at, Meeting.id))).all())
        found: list[Upcoming] = []
        taken = await self.session.execute(
            select(Meeting.series_id, Meeting.occurrence_start).where(Meeting.series_id.is_not(None))
        )
        announced = {(series_id, start) for series_id, start in taken}  # announced, moved or cancelled alone
        for row in rows:
            if row.rrule is None:
                if end_of(row) > now:
                    found.append(Upcoming(row, row.start_at))
                continue
            occurrence = self.next_occurrence(row, now)
            while occurrence is not None and (row.id, occurrence.astimezone(UTC)) in announced:
                occurrence = self.next_occurrence(row, occurrence)
            if occurrence is not None:
                found.append(Upcoming(row, occurrence.astimezone(UTC)))
        found.sort(key=lambda u: (u.next_start, u.meeting.id))
        return found

    async def for_feed(self, circle_slug: str | None) -> list[Meeting]:
        """Every meeting of the calendar feed: one-off meetings and series (with their occurrences' exceptions).
        A feed is read by calendars, not by members of a room: meetings said only in a private room are not in it."""
        query = select(Meeting).where(Meeting.private_room_id.is_(None)).order_by(Meeting.id)
        if circle_slug is not None:
            query = query.where(Meeting.circle_slug == circle_slug)
        return list((await self.session.scalars(query)).all())

    # --- who comes ---------------------------------------------------------------------------------------------

    async def answerable(self, meeting_id: int) -> Meeting:
        """A dated meeting still to come (or under way): a series is answered date by date."""
        meeting = await self.get(meeting_id)
        if meeting.rrule is not None:
            raise DomainError("meeting_answer_series", id=meeting.id)
        if meeting.status == MeetingStatus.CANCELLED:
            raise DomainError("meeting_already_cancelled", id=meeting.id)
        if end_of(meeting) <= self.clock.now():
            raise DomainError("meeting_over", id=meeting.id)
        return meeting

    async def _attendance_row(self, meeting_id: int, member_id: int) -> MeetingAttendance | None:
        return await self.session.scalar(
            select(MeetingAttendance)
            .where(MeetingAttendance.meeting_id == meeting_id, MeetingAttendance.member_id == member_id)
            .execution_options(populate_existing=True)
        )

    async def answer(
        self, meeting_id: int, member: Member, answer: Attendance, *, by_reaction: bool = False
    ) -> tuple[Meeting, Attendance | None]:
        """Record whether `member` comes, by command or `by_reaction`; the previous answer, if any. A reaction of
        the answer already recorded changes nothing, not even where it came from: after a restart every reaction
        comes back as added, and must not turn an answer by command into one that removing a reaction takes back."""
        meeting = await self.answerable(meeting_id)
        row = await self._attendance_row(meeting.id, member.id)
        previous = Attendance(row.answer) if row else None
        if row is None:
            row = MeetingAttendance(meeting_id=meeting.id, member_id=member.id)
            self.session.add(row)
        elif by_reaction and row.answer == answer:
            return meeting, previous
        row.answer, row.by_reaction, row.updated_at = answer.value, by_reaction, self.clock.now()
        await self.session.flush()
        return meeting, previous

    async def unset_answer_by_reaction(self, meeting_id: int, member: Member, answer: Attendance) -> bool:
        """A reaction removed: the member's answer goes if it still is that one and was given by reaction."""
        row = await self._attendance_row(meeting_id, member.id)
        if row is None or row.answer != answer or not row.by_reaction:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True

    async def unset_reactions_not_shown(self, meeting_id: int, shown: dict[Attendance, set[str]]) -> list[str]:
        """The meeting's post as read now, `shown`: answer → user ids of the members whose reaction gives it. The
        answers by reaction the post no longer shows go (removed while the bot was not running); answers by
        command stay. Returns the usernames whose answer went."""
        rows = await self.session.execute(
            select(MeetingAttendance, Member)
            .join(Member, Member.id == MeetingAttendance.member_id)
            .where(MeetingAttendance.meeting_id == meeting_id, MeetingAttendance.by_reaction.is_(True))
            .order_by(Member.username)
        )
        gone: list[str] = []
        for row, member in rows.all():
            if member.user_id not in shown.get(Attendance(row.answer), set()):
                await self.session.delete(row)
                gone.append(member.username)
        await self.session.flush()
        return gone

    async def attendance(self, meeting_id: int) -> dict[Attendance, list[Member]]:
        """Who answered what, by username."""
        rows = await self.session.execute(
            select(MeetingAttendance.answer, Member)
            .join(Member, Member.id == MeetingAttendance.member_id)
            .where(MeetingAttendance.meeting_id == meeting_id)
            .order_by(Member.username)
        )
        found: dict[Attendance, list[Member]] = {answer: [] for answer in Attendance}
        for answer, member in rows.all():
            found[Attendance(answer)].append(member)
        return found

    async def pending_reminders(self, meeting_id: int) -> list[datetime]:
        """When the meeting's reminders still to come are due (its start message left out)."""
        return [task.due_at for task in await self.tasks.pending([REMINDER], meeting_id)]
