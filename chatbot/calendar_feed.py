"""The meetings as an iCalendar feed (RFC 5545) that Nextcloud and other calendar clients subscribe to.

Built with the `icalendar` library. Times carry their TZID and the zone is defined in a VTIMEZONE; UIDs are
stable (`meeting-<n°>@…`), SEQUENCE grows with every change. A cancelled meeting or series stays in the feed
with STATUS:CANCELLED, so clients remove it; a cancelled occurrence of a series becomes an EXDATE, a moved one
an overriding VEVENT with its RECURRENCE-ID.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, timedelta

from icalendar import Calendar, Component, Event, vRecur

from chatbot.clock import zone
from chatbot.db.models import Meeting, MeetingStatus
from chatbot.services.meetings import end_of

UID_DOMAIN = "coop-chatbot"
PRODID = "-//coop-chatbot//reunions//FR"
REFRESH = timedelta(hours=1)


def uid(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@{UID_DOMAIN}"


def build_calendar(meetings: Sequence[Meeting], name: str, summary: Callable[[Meeting], str]) -> bytes:
    """`summary` gives an event's title (it comes from the message catalogue)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    # How often subscribers should re-read the feed: Nextcloud honours these (its default is a week).
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    series = {m.id: m for m in meetings if m.rrule is not None}
    exdates: dict[int, list[Meeting]] = {}
    for meeting in meetings:
        if meeting.series_id is None:
            calendar.add_component(_event(meeting, summary, uid(meeting.id)))
            continue
        if meeting.series_id not in series:
            continue
        if meeting.status == MeetingStatus.CANCELLED:
            exdates.setdefault(meeting.series_id, []).append(meeting)
        elif meeting.start_at != meeting.occurrence_start or meeting.sequence:
            override = _event(meeting, summary, uid(meeting.series_id))
            assert meeting.occurrence_start is not None
            override.add("recurrence-id", meeting.occurrence_start.astimezone(zone(meeting.timezone)))
            calendar.add_component(override)
    for component in calendar.walk("VEVENT"):
        series_id = _series_of(component)
        if series_id in exdates and "RECURRENCE-ID" not in component:
            tz = zone(series[series_id].timezone)
            component.add(
                "exdate", [m.occurrence_start.astimezone(tz) for m in exdates[series_id] if m.occurrence_start]
            )
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _series_of(component: Component) -> int | None:
    text = str(component.get("uid", ""))
    try:
        return int(text.removeprefix("meeting-").split("@", 1)[0])
    except ValueError:
        return None


def _event(meeting: Meeting, summary: Callable[[Meeting], str], event_uid: str) -> Event:
    tz = zone(meeting.timezone)
    event = Event()
    event.add("uid", event_uid)
    event.add("dtstamp", meeting.updated_at.astimezone(UTC))
    event.add("created", meeting.created_at.astimezone(UTC))
    event.add("last-modified", meeting.updated_at.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", summary(meeting))
    event.add("dtstart", meeting.start_at.astimezone(tz))
    event.add("dtend", end_of(meeting).astimezone(tz))
    cancelled = meeting.status == MeetingStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if meeting.rrule is not None:
        event.add("rrule", vRecur.from_ical(meeting.rrule))
    if meeting.place or meeting.link:
        event.add("location", meeting.place or meeting.link)
    if meeting.link:
        event.add("url", meeting.link)
    description = "\n".join(part for part in (meeting.agenda, meeting.link) if part)
    if description:
        event.add("description", description)
    return event
