"""French dates and times of meetings, as members type them, and the recurrence rules of recurring meetings.

One-off: `jeudi 14h` (the next Thursday, today if 14:00 is still to come), `jeudi prochain 14h` (never today),
`demain 9h30`, `12/03 18h`, `12/03/2027 18:00`, `le 12 mars à 14h`, `2027-03-12 14h`. A date without a year is
this year's, or next year's when this year's is more than a month gone (a month gone or less is surely a typo for
a past date, which is refused). Recurring: `chaque jour 9h` (`tous les jours`), `chaque mardi 18h` (`chaque
semaine le mardi`), `tous les 15 jours jeudi 14h`, `un jeudi sur deux 14h`, `le 2e jeudi du mois 14h`, `le dernier
vendredi du mois 12h`, kept as RFC 5545 RRULEs. The hour may also come first: `14h jeudi`, `14h le 12/03`.

`midi` is 12:00 of the day named. `minuit` is the midnight that ENDS the day named, as in French usage (« jeudi
minuit » is the night from Thursday to Friday): `jeudi minuit` is Friday 00:00, `demain minuit` the day after
tomorrow at 00:00, `minuit` alone tonight's. `0h` / `00:00` stay the start of the day named. A recurring meeting
at `minuit` is refused with an example (`chaque vendredi 0h`), since the day after « le dernier jeudi du mois » is
no rule of its own.

Times are wall-clock times in the cooperative's zone (zoneinfo): a meeting at 14:00 stays at 14:00 across a
daylight-saving change, so its UTC instant moves. Times that do not exist (02:30 on the last Sunday of March)
are refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from chatbot.converters import Converter, ParseContext, digits_fit
from chatbot.errors import ArgumentError
from chatbot.french_dates import MONTHS, WEEKDAYS
from chatbot.text import fold
from chatbot.tokens import Token

PAST_TYPO_DAYS = 31  # a yearless date gone by at most this many days is an error, not next year's date
HORIZON = timedelta(days=5 * 366)  # a meeting further ahead than this is surely a typo (`12/03/2099`)
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class MeetingTime:
    """A one-off meeting's start, aware, in the cooperative's zone."""

    start: datetime


@dataclass(frozen=True)
class Recurrence:
    """A recurring meeting: its RRULE (without DTSTART) and its first occurrence, aware, local."""

    rule: str
    first: datetime


_WD = "(?P<wd>" + "|".join(WEEKDAYS) + ")"
_TIME = r"(?:a\s+)?(?:(?P<hour>\d{1,2})\s*(?:h|:)\s*(?P<minute>\d{2})?|(?P<noon>midi)|(?P<midnight>minuit))"
_ONE_OFF = [
    re.compile(r"^(?P<rel>aujourd'hui|aujourd’hui|aujourdhui|demain|apres-demain|apres demain)"),
    re.compile(rf"^(?:ce\s+|le\s+)?{_WD}(?:\s+(?P<next>prochain))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>\d{{1,2}})[/.](?P<m>\d{{1,2}})(?:[/.](?P<y>\d{{4}}|\d{{2}}))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>1er|\d{{1,2}})\s+(?P<mname>[a-z]+)\.?(?:\s+(?P<y>\d{{4}}))?"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
]
_ORDINALS = {
    "1er": 1, "1re": 1, "1e": 1, "premier": 1, "premiere": 1,
    "2e": 2, "2eme": 2, "deuxieme": 2, "second": 2, "seconde": 2,
    "3e": 3, "3eme": 3, "troisieme": 3,
    "4e": 4, "4eme": 4, "quatrieme": 4,
    "dernier": -1, "derniere": -1,
}  # fmt: skip
_ORD = "(?P<ord>" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + ")"
_EVERY = {"deux": 2, "trois": 3, "quatre": 4}
_RECURRING = [
    re.compile(r"^(?P<daily>chaque\s+jour|tous\s+les\s+jours|quotidiennement)"),
    re.compile(rf"^(?:chaque|tous\s+les|toutes\s+les)\s+{_WD}s?"),
    re.compile(rf"^(?:chaque\s+semaine|toutes\s+les\s+semaines)\s+(?:le\s+)?{_WD}s?"),
    re.compile(
        rf"^(?:tous\s+les\s+(?P<days>\d+)\s+jours|toutes\s+les\s+(?P<weeks>\d+)\s+semaines)\s+(?:le\s+)?{_WD}s?"
    ),
    re.compile(rf"^un\s+{_WD}\s+sur\s+(?P<every>\d|deux|trois|quatre)"),
    re.compile(rf"^(?:le\s+|chaque\s+)?{_ORD}\s+{_WD}\s+(?:du|de\s+chaque)\s+mois"),
]


# Words that start a rhythm: a text starting with one of them that is no known rhythm gets the list of rhythms.
_RHYTHM_START = re.compile(r"^(?:chaque|tous|toutes|un\s+\S+\s+sur)\b")


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


def _make_date(year: int, month: int, day: int, given: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ArgumentError("meeting_date_invalid", given=given) from exc


def parse_day(words: str, now: datetime, at: time | None, given: str) -> date | None:
    """The date part of a one-off meeting, or None when `words` is no date at all."""
    today = now.date()
    for pattern in _ONE_OFF:
        found = pattern.fullmatch(words)
        if found is None:
            continue
        groups = found.groupdict()
        if groups.get("rel"):
            offset = {"demain": 1, "apres-demain": 2, "apres demain": 2}.get(groups["rel"], 0)
            return today + timedelta(days=offset)
        if groups.get("mname") is not None:
            if groups["mname"] not in MONTHS:
                return None
            day = 1 if groups["d"] == "1er" else int(groups["d"])
            return _yearless(groups["y"], MONTHS[groups["mname"]], day, groups.get("wd"), today, given)
        if groups.get("d") is not None:
            return _yearless(groups["y"], int(groups["m"]), int(groups["d"]), groups.get("wd"), today, given)
        ahead = (WEEKDAYS[groups["wd"]] - today.weekday()) % 7
        if ahead == 0 and (groups.get("next") or (at is not None and datetime.combine(today, at) <= _naive(now))):
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _yearless(year: str | None, month: int, day: int, weekday: str | None, today: date, given: str) -> date:
    if year is not None:
        result = _make_date(int(year) + (2000 if len(year) == 2 else 0), month, day, given)
    else:
        try:
            this_year: date | None = date(today.year, month, day)
        except ValueError:
            this_year = None
        if this_year is None or (today - this_year).days > PAST_TYPO_DAYS:
            result = _next_year(today, month, day, given)
        else:
            result = this_year
    if weekday is not None and result.weekday() != WEEKDAYS[weekday]:
        raise ArgumentError("meeting_weekday_mismatch", given=given)
    return result


def _next_year(today: date, month: int, day: int, given: str) -> date:
    for year in range(today.year, today.year + 8):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if (today - candidate).days <= PAST_TYPO_DAYS:
            return candidate
    raise ArgumentError("meeting_date_invalid", given=given)


def _rule(found: re.Match[str], given: str) -> tuple[str, int]:
    """RRULE body and its weekly interval (1 for monthly rules, which need no alignment)."""
    groups = found.groupdict()
    if groups.get("daily"):
        return "FREQ=DAILY", 1
    byday = RRULE_DAYS[WEEKDAYS[groups["wd"]]]
    if groups.get("ord"):
        return f"FREQ=MONTHLY;BYDAY={_ORDINALS[groups['ord']]}{byday}", 1
    interval = 1
    if not all(digits_fit(groups.get(count) or "") for count in ("days", "weeks")):
        raise ArgumentError("meeting_interval_invalid", given=given)
    if groups.get("days"):
        days = int(groups["days"])
        if days in (14, 15):  # « tous les 15 jours » is French for every other week
            interval = 2
        elif days % 7 == 0 and days > 0:
            interval = days // 7
        else:
            raise ArgumentError("meeting_interval_invalid", given=given)
    elif groups.get("weeks"):
        interval = int(groups["weeks"])
    elif groups.get("every"):
        every = groups["every"]
        interval = _EVERY.get(every) or int(every)
    if not 1 <= interval <= 8:
        raise ArgumentError("meeting_interval_invalid", given=given)
    body = f"FREQ=WEEKLY;BYDAY={byday}" if interval == 1 else f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={byday}"
    return body, interval


def expand(rule: str, first: datetime, after: datetime, *, inclusive: bool = True) -> Iterator[datetime]:
    """Occurrences of a rule from `first` (aware, local wall-clock), at or after `after`."""
    tz = first.tzinfo
    start = first.replace(tzinfo=None)
    for moment in rrulestr(rule, dtstart=start):
        aware = moment.replace(tzinfo=tz)
        if aware > after or (inclusive and aware == after):
            yield aware


def first_occurrence(rule: str, at: time, now: datetime, given: str) -> datetime:
    """The first occurrence of a rule still to come (today's counts if its time is later than now)."""
    tz = now.tzinfo
    assert tz is not None
    start = datetime.combine(now.date(), at)
    for moment in rrulestr(rule, dtstart=start):
        aware = moment.replace(tzinfo=tz)
        if aware > now:
            return local(aware.date(), at, tz, given)
    raise ArgumentError("meeting_date_invalid", given=given)  # pragma: no cover - rules here always recur


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


class MeetingWhenConverter(Converter):
    """When a meeting starts: a one-off date and time, or (when `recurring`) a recurrence rule and a time."""

    label = "when"
    max_tokens = 9

    def __init__(self, *, recurring: bool = True) -> None:
        self.recurring = recurring

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        """The longest window that is a date wins; a window refused with an error gives way to a shorter one that
        is a date (`jeudi 14h 48h` is Thursday 14:00 for 48 h, not an impossible hour). If none is, the longest
        window's error is the answer."""
        first_error: ArgumentError | None = None
        for size in range(min(self.max_tokens, len(tokens)), 0, -1):
            window = tokens[:size]
            if any(t.quoted for t in window):
                continue
            try:
                value = self.convert(" ".join(t.text for t in window), ctx)
            except ArgumentError as exc:
                first_error = first_error or exc
                continue
            if value is not None:
                return value, size
        if first_error is not None:
            raise first_error
        return None

    def convert(self, text: str, ctx: ParseContext) -> MeetingTime | Recurrence | None:
        words = re.sub(r"\s+", " ", fold(text).strip())
        if not self.recurring:
            words = re.sub(r"^(?:au|a|pour)\s+(?=\S)", "", words)  # `deplacer 7 du 15/12 au 16/12 18h`
        now = ctx.now or datetime.combine(ctx.today, time(0), tzinfo=UTC)
        head, found_time = _split_time(words)
        found = self._resolve(head, found_time, text, now)
        if found is None and found_time is None:
            head, found_time = _split_leading_time(words)
            if found_time is not None:
                found = self._resolve(head, found_time, text, now)
        return found

    def _resolve(
        self, head: str, found_time: re.Match[str] | None, text: str, now: datetime
    ) -> MeetingTime | Recurrence | None:
        tz = now.tzinfo
        assert tz is not None
        at = _clock_time(found_time, text) if found_time is not None else None
        midnight = found_time is not None and bool(found_time["midnight"])
        for pattern in _RECURRING:
            recurring = pattern.fullmatch(head)
            if recurring is None:
                continue
            if not self.recurring:
                raise ArgumentError("meeting_move_recurring", given=text)
            if at is None:
                raise ArgumentError("meeting_time_missing", given=text)
            if midnight:
                raise ArgumentError("meeting_midnight_recurring", given=text)
            body, interval = _rule(recurring, text)
            # Weekly rules are aligned on their first occurrence, so that « tous les 15 jours jeudi » said on a
            # Friday means the Thursday in six days, not the one in thirteen.
            first = first_occurrence(body.replace(f"INTERVAL={interval};", ""), at, now, text)
            return Recurrence(body, first)
        if not head and at is not None:
            day: date | None = now.date()
        else:
            # At midnight, the day named is the one that ends then: today counts whatever the hour.
            day = parse_day(head, now, None if midnight else at, text) if head else None
        if day is None:
            if self.recurring and head and _RHYTHM_START.match(head):
                raise ArgumentError("meeting_rhythm_unknown", given=text)
            return None
        if at is None:
            raise ArgumentError("meeting_time_missing", given=text)
        if midnight:
            day += timedelta(days=1)
        start = local(day, at, tz, text)
        if start <= now:
            raise ArgumentError("meeting_in_past", given=text)
        if start - now > HORIZON:
            raise ArgumentError("meeting_too_far", given=text)
        return MeetingTime(start)


class OccurrenceDateConverter(Converter):
    """The day of one occurrence of a recurring meeting: `12/03`, `le 12 mars`, `mardi`, `mardi prochain`.

    With `marked`, the day must follow `du` (`deplacer 7 du 15/12 au 16/12 18h`): without the mark, `vendredi` in
    `deplacer 7 vendredi 15h` would be taken for the occurrence instead of the new date."""

    label = "date"
    max_tokens = 6

    def __init__(self, *, marked: bool = False) -> None:
        self.marked = marked
        self.label = "occurrence" if marked else "date"

    def convert(self, text: str, ctx: ParseContext) -> date | None:
        words = re.sub(r"\s+", " ", fold(text).strip())
        if self.marked:
            if not words.startswith("du "):
                return None
            words = words[3:]
        now = ctx.now or datetime.combine(ctx.today, time(0), tzinfo=UTC)
        return parse_day(words, now, None, text)
