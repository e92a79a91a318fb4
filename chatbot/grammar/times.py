"""Times of day as members type them (`14h`, `9h30`, `14:00`, `midi`, `minuit`) and wall-clock instants.

Times are wall-clock times in the cooperative's zone (zoneinfo): a meeting at 14:00 stays at 14:00 across a
daylight-saving change, so its UTC instant moves. Times that do not exist (02:30 on the last Sunday of March)
are refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo

from chatbot.errors import ArgumentError
from chatbot.grammar.lexicon import WEEKDAYS

_WD = "(?P<wd>" + "|".join(WEEKDAYS) + ")"

_TIME = r"(?:a\s+)?(?:(?P<hour>\d{1,2})\s*(?:h|:)\s*(?P<minute>\d{2})?|(?P<noon>midi)|(?P<midnight>minuit))"


def _split_time(text: str) -> tuple[str, re.Match[str] | None]:
    """`jeudi 14h` → (`jeudi`, the time); a text without a time at its end → (text, None)."""
    found = re.search(rf"(?:^|\s|,){_TIME}$", text)
    if found is None:
        return text, None
    return text[: found.start()].strip(" ,"), found


def _split_leading_time(text: str) -> tuple[str, re.Match[str] | None]:
    """`14h jeudi` → (`jeudi`, the time): the hour may come before the day."""
    found = re.match(rf"{_TIME}(?=\s|,)", text)
    if found is None:
        return text, None
    return text[found.end() :].strip(" ,"), found


def _clock_time(found: re.Match[str], given: str) -> time:
    if found["noon"]:
        return time(12, 0)
    if found["midnight"]:
        return time(0, 0)
    hour, minute = int(found["hour"]), int(found["minute"] or 0)
    if hour > 23 or minute > 59:
        raise ArgumentError("meeting_time_invalid", given=given)
    return time(hour, minute)


def local(day: date, at: time, tz: tzinfo, given: str) -> datetime:
    """The aware instant of a wall-clock time, refusing the hour skipped when clocks go forward."""
    moment = datetime.combine(day, at, tzinfo=tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ArgumentError("meeting_time_nonexistent", given=given)
    return moment


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)
