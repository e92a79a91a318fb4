"""Times of day as members type them (`14h`, `9h30`, `14:00`, `14 h 00`, `midi`, `midi et demi`, `minuit`), time
ranges (`9h-11h`, `de 14h à 16h`, `14h jusqu'à 16h`) and wall-clock instants.

Times are wall-clock times in the cooperative's zone (zoneinfo): a meeting at 14:00 stays at 14:00 across a
daylight-saving change, so its UTC instant moves. Times that do not exist (02:30 on the last Sunday of March)
are refused rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from chatbot.errors import ArgumentError
from chatbot.grammar.lexicon import WEEKDAYS

_WD = "(?P<wd>" + "|".join(WEEKDAYS) + ")"

# What may follow an hour or `midi` to add minutes: `et demie`, `et quart`, `trente`, `quinze`.
_FRACTIONS = {"et demi": 30, "et demie": 30, "et quart": 15, "trente": 30, "quinze": 15}


def _clock(p: str, bare: str) -> str:
    """One time of day; `p` prefixes the group names so that a range can hold two of them. An hour without `h`
    is one only where `bare` (a lookahead) allows: the start of `9-11h`, the end of `14h-16`."""
    fraction = "|".join(sorted(_FRACTIONS, key=len, reverse=True)).replace(" ", r"\s+")
    return (
        rf"(?:(?P<{p}hour>\d{{1,2}})(?:\s*(?P<{p}unit>h|:|heures?)\s*(?P<{p}minute>\d{{2}})?|{bare})"
        rf"|(?P<{p}noon>midi)|(?P<{p}midnight>minuit))"
        rf"(?:\s+(?P<{p}fraction>{fraction}))?"
    )


# Between the two ends of a range: a dash (any kind, spaced or not), `à`, `jusqu'à`.
_SEPARATOR = r"(?:\s*[-–—]\s*|\s+(?:a|jusqu'a|jusqu’a|jusqua)\s+)"
_BEFORE_DASH = r"(?=\s*[-–—])"
_SPAN = rf"(?:(?P<lead>de|des|a)\s+)?{_clock('s', _BEFORE_DASH)}(?:{_SEPARATOR}{_clock('e', '')})?"


@dataclass(frozen=True)
class ClockSpan:
    """A time of day as typed, with its optional end: `14h`, `9h-11h`, `de 14h à 16h`.

    `midnight` (and `end_midnight`) say that the time was `minuit`, the midnight that ends the day named."""

    start: time
    end: time | None = None
    midnight: bool = False
    end_midnight: bool = False


def _read(found: re.Match[str], given: str) -> ClockSpan | None:
    """The span of a match, or None when it is no time after all (`9-11`, `9 -`)."""
    has_end = found["ehour"] is not None or found["enoon"] is not None or found["emidnight"] is not None
    start_bare = found["shour"] is not None and found["sunit"] is None
    end_bare = found["ehour"] is not None and found["eunit"] is None
    if start_bare and (not has_end or end_bare):
        return None  # `9-11` is no time range: neither end says it is an hour
    start = _clock_time(found, "s", given)
    if not has_end:
        return ClockSpan(start, midnight=bool(found["smidnight"]))
    end = _clock_time(found, "e", given)
    return ClockSpan(start, end, bool(found["smidnight"]), bool(found["emidnight"]))


def _clock_time(found: re.Match[str], p: str, given: str) -> time:
    extra = _FRACTIONS[re.sub(r"\s+", " ", found[f"{p}fraction"])] if found[f"{p}fraction"] else 0
    if found[f"{p}noon"]:
        return time(12, extra)
    if found[f"{p}midnight"]:
        return time(0, extra)
    if extra and found[f"{p}minute"] is not None:
        raise ArgumentError("meeting_time_invalid", given=given)  # `14h30 et quart`
    hour, minute = int(found[f"{p}hour"]), int(found[f"{p}minute"] or 0) + extra
    if hour > 23 or minute > 59:
        raise ArgumentError("meeting_time_invalid", given=given)
    return time(hour, minute)


def split_time(text: str, given: str) -> tuple[str, ClockSpan | None]:
    """`jeudi 14h` → (`jeudi`, 14:00); `jeudi 9h-11h` → (`jeudi`, 9:00 to 11:00); a text without a time at its end
    → (text, None)."""
    found = re.search(rf"(?:^|\s|,){_SPAN}$", text)
    if found is None:
        return text, None
    span = _read(found, given)
    if span is None:
        return text, None
    return text[: found.start()].strip(" ,"), span


def split_leading_time(text: str, given: str) -> tuple[str, ClockSpan | None]:
    """`14h jeudi` → (`jeudi`, the time): the hour (or the range) may come before the day."""
    found = re.match(rf"{_SPAN}(?=\s|,)", text)
    if found is None:
        return text, None
    span = _read(found, given)
    if span is None:
        return text, None
    return text[found.end() :].strip(" ,"), span


def local(day: date, at: time, tz: tzinfo, given: str) -> datetime:
    """The aware instant of a wall-clock time, refusing the hour skipped when clocks go forward and the hour that
    happens twice when they go back (which of the two was meant cannot be told)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ArgumentError("meeting_time_nonexistent", given=given)
    if moment.utcoffset() != moment.replace(fold=1).utcoffset():
        raise ArgumentError("meeting_time_ambiguous", given=given)
    return moment


def elapsed_minutes(start: datetime, end: datetime) -> int:
    """Real minutes from start to end: 1:00 to 4:00 on the night clocks go forward is two hours, not three
    (subtracting two aware datetimes of the same zone would give the wall-clock difference)."""
    return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)
