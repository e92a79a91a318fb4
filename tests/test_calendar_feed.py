"""The iCalendar feed over real HTTP on loopback, parsed back with `icalendar` and expanded with python-dateutil."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp.test_utils import TestServer
from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.db.models import Meeting, MeetingStatus
from chatbot.transport.base import Outgoing
from tests.conftest import CALENDAR_TOKEN, Chat

PARIS = ZoneInfo("Europe/Paris")
TOKEN = CALENDAR_TOKEN


async def fetch(server: TestServer, path: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(str(server.make_url(path))) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


def events(body: bytes) -> list:  # type: ignore[type-arg]
    return list(Calendar.from_ical(body).walk("VEVENT"))


async def rows(bot: Bot) -> list[Meeting]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Meeting).order_by(Meeting.id))).all())


async def test_token_and_unknown_circles(feed_bot: Bot, server: TestServer) -> None:
    assert (await fetch(server, "/calendar/all.ics"))[0] == 403
    assert (await fetch(server, "/calendar/all.ics?token=wrong"))[0] == 403
    status, content_type, body = await fetch(server, f"/calendar/all.ics?token={TOKEN}")
    assert (status, content_type) == (200, "text/calendar; charset=utf-8")
    calendar = Calendar.from_ical(body)
    assert calendar["X-WR-CALNAME"] == "Réunions des cercles"
    assert calendar["X-PUBLISHED-TTL"] == "PT1H"  # subscribers re-read hourly (Nextcloud's default is a week)
    assert (await fetch(server, f"/calendar/{TOKEN}/tech.ics"))[0] == 200
    assert (await fetch(server, f"/calendar/{TOKEN}/cercle-tech.ics"))[0] == 200  # any name of the circle
    assert (await fetch(server, f"/calendar/{TOKEN}/cuisine.ics"))[0] == 404


async def test_one_off_meetings_with_zones_moves_and_cancellations(feed_bot: Bot, server: TestServer) -> None:
    chat = Chat(feed_bot)
    await chat("/reunion tech 29/03/2027 14h 1h30 visio Ordre du jour : budget 2027")
    await chat("/reunion communication 12/03 9h30 Bois Blancs")
    await chat("/reunion tech 03/12 14h")
    await chat("/reunion deplacer 3 04/12 16h")
    await chat("/reunion annuler 2")
    _, _, body = await fetch(server, f"/calendar/all.ics?token={TOKEN}")
    calendar = Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert sorted(found) == [f"meeting-{n}@coop-chatbot" for n in (1, 2, 3)]

    first = found["meeting-1@coop-chatbot"]
    assert first["DTSTART"].params["TZID"] == "Europe/Paris"
    assert first.decoded("DTSTART") == datetime(2027, 3, 29, 14, 0, tzinfo=PARIS)
    assert first.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 29, 12, 0, tzinfo=UTC)
    assert first.decoded("DTEND") - first.decoded("DTSTART") == timedelta(minutes=90)
    assert str(first["SUMMARY"]) == "Réunion du cercle Technique"
    assert str(first["URL"]).startswith("https://visio.opteos.fr/reunion-tech-")
    assert "budget 2027" in str(first["DESCRIPTION"])
    assert str(first["STATUS"]) == "CONFIRMED"

    cancelled = found["meeting-2@coop-chatbot"]
    assert (str(cancelled["STATUS"]), str(cancelled["LOCATION"])) == ("CANCELLED", "Bois Blancs")
    assert int(cancelled["SEQUENCE"]) == 1
    moved = found["meeting-3@coop-chatbot"]
    assert moved.decoded("DTSTART") == datetime(2026, 12, 4, 16, 0, tzinfo=PARIS)
    assert int(moved["SEQUENCE"]) == 1

    _, _, tech_only = await fetch(server, f"/calendar/{TOKEN}/tech.ics")
    assert sorted(str(e["UID"]) for e in events(tech_only)) == ["meeting-1@coop-chatbot", "meeting-3@coop-chatbot"]


async def test_recurrence_expanded_by_dateutil_matches_the_announcements(
    feed_bot: Bot, server: TestServer, clock: FixedClock
) -> None:
    announced: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        announced.extend(m for m in messages if m.id and m.id.count("-") == 1)  # `meeting-<n>`: announcements

    feed_bot.outlet = outlet
    chat = Chat(feed_bot)
    await chat("/reunion sante le dernier vendredi du mois 12h")  # n°1, its first date n°2 (27 November)
    await chat("/reunion annuler 1 26/02")  # one date cancelled before it is announced
    end = datetime(2027, 5, 15, tzinfo=PARIS)
    moved = False
    while clock.now() < end:  # week by week through winter and the change to summer time
        clock.advance(timedelta(days=7))
        await feed_bot.scheduler.run_due()
        if not moved and clock.now() > datetime(2027, 1, 23, tzinfo=PARIS):
            january = next(r for r in await rows(feed_bot) if r.start_at.month == 1 and r.series_id)
            assert "C'est fait" in await chat(f"/reunion deplacer {january.id} 28/01/2027 12h")
            moved = True

    occurrences = [r for r in await rows(feed_bot) if r.series_id is not None]
    held = sorted(r.start_at for r in occurrences if r.status == MeetingStatus.SCHEDULED)
    assert [h.astimezone(PARIS).date().isoformat() for h in held] == [
        "2026-11-27", "2026-12-25", "2027-01-28", "2027-03-26", "2027-04-30",
    ]  # fmt: skip
    assert [h.astimezone(UTC).hour for h in held] == [11, 11, 11, 11, 10]  # 12:00 in Paris, winter then summer
    assert sorted(int(m.id.split("-")[1]) for m in announced) == sorted(r.id for r in occurrences[1:] if r.id != 3)

    _, _, body = await fetch(server, f"/calendar/{TOKEN}/sante.ics")
    vevents = events(body)
    master = next(e for e in vevents if "RRULE" in e)
    overrides = [e for e in vevents if "RECURRENCE-ID" in e]
    assert str(master["UID"]) == "meeting-1@coop-chatbot" and master["DTSTART"].params["TZID"] == "Europe/Paris"
    assert int(master["SEQUENCE"]) == 1  # revised once: one date cancelled (an EXDATE)
    rules = rruleset()
    rules.rrule(rrulestr(master["RRULE"].to_ical().decode(), dtstart=master.decoded("DTSTART")))
    exdates = master["EXDATE"] if isinstance(master["EXDATE"], list) else [master["EXDATE"]]
    for exdate in exdates:
        for moment in exdate.dts:
            rules.exdate(moment.dt)
    replaced = {e.decoded("RECURRENCE-ID"): e.decoded("DTSTART") for e in overrides}
    assert [str(e["UID"]) for e in overrides] == ["meeting-1@coop-chatbot"]
    expanded = sorted(replaced.get(m, m) for m in rules.between(datetime(2026, 11, 1, tzinfo=PARIS), end))
    assert expanded == held


async def test_a_time_range_gives_the_event_its_end(feed_bot: Bot, server: TestServer) -> None:
    """`9h-11h` ends at 11:00 in the feed; on the night clocks go forward, `1h-4h` ends at 4:00 after two hours."""
    chat = Chat(feed_bot)
    await chat("/reunion tech 12/03/2027 9h-11h")
    await chat("/reunion tech 28/03/2027 1h-4h")
    await chat("/reunion tech chaque mardi 18h-19h30")
    _, _, body = await fetch(server, f"/calendar/all.ics?token={TOKEN}")
    found = {str(e["UID"]): e for e in events(body)}
    march = found["meeting-1@coop-chatbot"]
    assert (march.decoded("DTSTART"), march.decoded("DTEND")) == (
        datetime(2027, 3, 12, 9, 0, tzinfo=PARIS),
        datetime(2027, 3, 12, 11, 0, tzinfo=PARIS),
    )
    spring = found["meeting-2@coop-chatbot"]
    assert spring.decoded("DTEND") == datetime(2027, 3, 28, 4, 0, tzinfo=PARIS)
    assert spring.decoded("DTEND").astimezone(UTC) - spring.decoded("DTSTART").astimezone(UTC) == timedelta(hours=2)
    series = found["meeting-3@coop-chatbot"]
    assert series.decoded("DTEND") - series.decoded("DTSTART") == timedelta(minutes=90)
    assert series.decoded("DTEND").astimezone(PARIS).time().isoformat() == "19:30:00"
