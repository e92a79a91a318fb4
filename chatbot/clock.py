"""Time source, injectable so tests never sleep and can stand on any day of the year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime:
        """The current instant, timezone-aware, in the cooperative's time zone."""
        ...


class SystemClock:
    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class FixedClock:
    """A clock that only moves when told to (tests, scripted demos)."""

    def __init__(self, at: datetime, tz: tzinfo | None = None) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.tz = tz or at.tzinfo
        self._at = at

    def now(self) -> datetime:
        return self._at.astimezone(self.tz)

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at


def today(clock: Clock) -> date:
    return clock.now().date()


def reminder_instant(start: datetime, minutes: int, tz: tzinfo) -> datetime:
    """When to remind: whole days before keep the wall-clock time (the day before at 14:00, even across a
    daylight-saving change); other offsets are exact durations (1 h before is 60 minutes before)."""
    days, rest = divmod(minutes, 24 * 60)
    moment = start.astimezone(tz)
    if days:
        wall = datetime.combine(moment.date() - timedelta(days=days), moment.timetz().replace(tzinfo=None))
        moment = wall.replace(tzinfo=tz)
    return (moment - timedelta(minutes=rest)).astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
