"""What fires for meetings: reminders, the start message, and the announcement of a series' next occurrence.

Each handler re-reads its meeting: a cancelled meeting or one already over is skipped with a logged reason
(`firing.skip`), and anything sent after its instant says so (`firing.late`), so nothing is silently lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chatbot.db.models import Meeting, MeetingStatus, Member
from chatbot.scheduler import Firing, TaskHandler
from chatbot.services.meetings import ANNOUNCE, REMINDER, START, Attendance, end_of
from chatbot.transport.base import Outgoing, Room, RoomKind
from commands.reunion_text import DAY_BEFORE_MINUTES, MeetingTexts

log = logging.getLogger(__name__)

Target = tuple[str | None, str]  # where a meeting is talked about: (room id, room name) — no id for a channel


def _target(firing: Firing, meeting: Meeting) -> Target | None:
    """The meeting's room: the private room it was said in (its circle has no public channel), else its circle's
    public channel; None when there is neither."""
    if meeting.private_room_id is not None:
        return meeting.private_room_id, meeting.private_room_name or ""
    circle = firing.settings.circle(meeting.circle_slug)
    if circle is None or not circle.public_channel:
        return None
    return None, circle.public_channel


def _out(target: Target, text: str, post_id: str) -> Outgoing:
    room_id, room_name = target
    return Outgoing(text=text, room_id=room_id, room_name=room_name, is_reply=False, id=post_id)


async def _meeting_to_talk_about(firing: Firing) -> tuple[Meeting, Target] | None:
    """The meeting and its room, or None (and the task skipped) if there is nothing to say."""
    meeting = await firing.services.meetings.find(firing.task.ref_id)
    if meeting is None or meeting.status == MeetingStatus.CANCELLED:
        firing.skip("meeting cancelled or gone")
        return None
    if end_of(meeting) <= firing.now:
        firing.skip("meeting already over")
        return None
    target = _target(firing, meeting)
    if target is None:
        firing.skip("circle has no public channel")
        return None
    return meeting, target


async def send_reminder(firing: Firing) -> list[Outgoing]:
    found = await _meeting_to_talk_about(firing)
    if found is None:
        return []
    meeting, target = found
    attendance = await firing.services.meetings.attendance(meeting.id)
    texts = MeetingTexts(firing.t, firing.fmt, firing.settings)
    silent = await _not_answered(firing, meeting, target, attendance)
    text = texts.reminder(meeting, firing.now, late=firing.late, attendance=attendance, silent=silent)
    return [_out(target, text, f"meeting-{meeting.id}-task-{firing.task.id}")]


async def _not_answered(
    firing: Firing, meeting: Meeting, target: Target, attendance: dict[Attendance, list[Member]]
) -> list[str] | None:
    """The usernames of the meeting room's members who have not said whether they come, for the reminder the day
    before; None for a later reminder, or when the chat server cannot list the room's members."""
    if meeting.start_at - firing.now < timedelta(minutes=DAY_BEFORE_MINUTES) or firing.members_of is None:
        return None
    room_id, room_name = target
    room = Room(room_id, room_name, RoomKind.GROUP) if room_id else Room("", room_name, RoomKind.CHANNEL)
    try:
        members = await firing.members_of(room)
    except Exception:  # an extra line: the reminder goes out without it rather than fail with it
        log.warning(
            "meeting %s: the members of %s could not be read for its reminder", meeting.id, room_name, exc_info=True
        )
        return None
    if members is None:
        return None
    answered = {member.user_id for answers in attendance.values() for member in answers}
    return sorted((m.username for m in members if m.id not in answered and m.username), key=str.casefold)


async def send_start(firing: Firing) -> list[Outgoing]:
    found = await _meeting_to_talk_about(firing)
    if found is None:
        return []
    meeting, target = found
    text = MeetingTexts(firing.t, firing.fmt, firing.settings).starting(meeting, late=firing.late)
    return [_out(target, text, f"meeting-{meeting.id}-task-{firing.task.id}")]


async def announce_occurrence(firing: Firing) -> list[Outgoing]:
    """Turn the series' next occurrence into a meeting of its own, announce it, schedule the one after."""
    meetings = firing.services.meetings
    series = await meetings.find(firing.task.ref_id)
    if series is None or series.status == MeetingStatus.CANCELLED:
        firing.skip("series cancelled or gone")
        return []
    occurrence = datetime.fromisoformat(firing.task.note)
    # The series moves on even when there is nothing to say, so that the following dates still get announced.
    announced = await meetings.advance_series(series, after=occurrence - timedelta(microseconds=1))
    target = _target(firing, series)
    if not announced or target is None:
        firing.skip("occurrence already over, cancelled or moved" if target else "circle has no public channel")
        return []
    texts = MeetingTexts(firing.t, firing.fmt, firing.settings)
    author = await meetings.author_name(series)
    return [_out(target, texts.announcement(row, author, late=firing.late), f"meeting-{row.id}") for row in announced]


TASKS: dict[str, TaskHandler] = {REMINDER: send_reminder, START: send_start, ANNOUNCE: announce_occurrence}
