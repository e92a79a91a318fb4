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

An end may follow the start (`9h-11h`, `9h à 11h`, `de 14h à 16h`, `14h jusqu'à 16h`): it must come after the start,
the same day (or at `minuit`, the end of that day); a meeting ending later gives its length instead. `le 15` is the
next 15th still to come; `le 1er du mois` is either a date or a rhythm, so it is answered with both exact forms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.lexicon import MONTHS, WEEKDAYS
from chatbot.grammar.recurrences import (
    _RECURRING,
    _RHYTHM_START,
    Recurrence,
    _rule,
    first_occurrence,
    monthday,
)
from chatbot.grammar.times import (
    _WD,
    ClockSpan,
    _naive,
    elapsed_minutes,
    local,
    split_leading_time,
    split_time,
)
from chatbot.grammar.tokens import Token
from chatbot.text import fold

PAST_TYPO_DAYS = 31  # a yearless date gone by at most this many days is an error, not next year's date


HORIZON = timedelta(days=5 * 366)  # a meeting further ahead than this is surely a typo (`12/03/2099`)


@dataclass(frozen=True)
class MeetingTime:
    """A one-off meeting's start, aware, in the cooperative's zone, and its end when the member gave one."""

    start: datetime
    end: datetime | None = None

    @property
    def minutes(self) -> int | None:
        """The length the end gives (real minutes, across a clock change too), if an end was given."""
        return None if self.end is None else elapsed_minutes(self.start, self.end)


_ONE_OFF = [
    re.compile(r"^(?P<rel>aujourd'hui|aujourd’hui|aujourdhui|demain|apres-demain|apres demain)"),
    re.compile(rf"^(?:ce\s+|le\s+)?{_WD}(?:\s+(?P<next>prochain))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>\d{{1,2}})[/.](?P<m>\d{{1,2}})(?:[/.](?P<y>\d{{4}}|\d{{2}}))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>1er|\d{{1,2}})\s+(?P<mname>[a-z]+)\.?(?:\s+(?P<y>\d{{4}}))?"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    # A day of the month alone: `le 15`, `le mardi 15`, `mardi 15` (the next one still to come).
    re.compile(rf"^le\s+(?:{_WD}\s+)?(?P<dom>1er|premier|\d{{1,2}})"),
    re.compile(rf"^{_WD}\s+(?P<dom>1er|\d{{1,2}})"),
]

# `le 1er du mois`: one date, or every month? Both exact forms are offered.
_MONTHDAY_AMBIGUOUS = re.compile(r"(?:le\s+)?(?P<dom>1er|premier|\d{1,2})\s+du\s+mois")

# Words glued to the hour (`jeudi14h`, `à14h`): refused with the spaced form, never read as something else.
_GLUED = re.compile(
    r"^(?P<word>" + "|".join(WEEKDAYS) + r"|demain|aujourd'hui|aujourdhui|midi|a|de)(?P<rest>\d{1,2}(?:h|:)\S*)$"
)
# A bare number ending a date (`jeudi 14h 30`) is no minute when a unit follows it (`30 min`): it is a duration.
_UNITS = ("min", "mn", "minutes", "minute", "h", "heure", "heures")


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
        if groups.get("dom") is not None:
            return _next_monthday(now, monthday(groups["dom"]), at, groups.get("wd"), given)
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


def _next_monthday(now: datetime, day: int, at: time | None, weekday: str | None, given: str) -> date:
    """`le 15`: the next 15th still to come (today's if its hour is later than now), skipping months without it."""
    if not 1 <= day <= 31:
        raise ArgumentError("meeting_date_invalid", given=given)
    today = now.date()
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate: date | None = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and (
            candidate > today or (candidate == today and (at is None or datetime.combine(today, at) > _naive(now)))
        ):
            if weekday is not None and candidate.weekday() != WEEKDAYS[weekday]:
                raise ArgumentError("meeting_weekday_mismatch", given=given)
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise ArgumentError("meeting_date_invalid", given=given)  # pragma: no cover - the 31st comes within a year


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


class MeetingWhenConverter(Converter):
    """When a meeting starts (and, if given, ends): a one-off date and time, or (when `recurring`) a recurrence
    rule and a time."""

    label = "when"
    max_tokens = 11

    def __init__(self, *, recurring: bool = True) -> None:
        self.recurring = recurring

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        """The longest window that is a date wins; a window refused with an error gives way to a shorter one that
        is a date (`jeudi 14h 48h` is Thursday 14:00 for 48 h, not an impossible hour). If none is, the longest
        window's error is the answer. A comma or semicolon glued to a window's last word ends the date there."""
        _refuse_glued(tokens)
        first_error: ArgumentError | None = None
        for size in range(min(self.max_tokens, len(tokens)), 0, -1):
            window = tokens[:size]
            if any(t.quoted for t in window) or _number_before_unit(tokens, size):
                continue
            text = " ".join(t.text for t in window)
            if len(window[-1].text) > 1 and window[-1].text[-1] in ",;":  # `jeudi 14h, salle B`: punctuation
                text = text[:-1]
            try:
                value = self.convert(text, ctx)
            except ArgumentError as exc:
                first_error = first_error or exc
                continue
            if value is not None:
                _refuse_end_or_duration(value, window, tokens[size:])
                return value, size
        if first_error is not None:
            raise first_error
        return None

    def convert(self, text: str, ctx: ParseContext) -> MeetingTime | Recurrence | None:
        words = re.sub(r"\s+", " ", fold(text).strip())
        if not self.recurring:
            words = re.sub(r"^(?:au|a|pour)\s+(?=\S)", "", words)  # `deplacer 7 du 15/12 au 16/12 18h`
        now = ctx.now or datetime.combine(ctx.today, time(0), tzinfo=UTC)
        head, span = split_time(words, text)
        found = self._resolve(head, span, text, now)
        if found is None and span is None:
            head, span = split_leading_time(words, text)
            if span is not None:
                found = self._resolve(head, span, text, now)
        return found

    def _resolve(self, head: str, span: ClockSpan | None, text: str, now: datetime) -> MeetingTime | Recurrence | None:
        tz = now.tzinfo
        assert tz is not None
        at = span.start if span is not None else None
        midnight = span is not None and span.midnight
        for pattern in _RECURRING:
            recurring = pattern.fullmatch(head)
            if recurring is None:
                continue
            if not self.recurring:
                raise ArgumentError("meeting_move_recurring", given=text)
            if span is None:
                raise ArgumentError("meeting_time_missing", given=text)
            if midnight:
                raise ArgumentError("meeting_midnight_recurring", given=text)
            body, interval = _rule(recurring, text)
            # Weekly rules are aligned on their first occurrence, so that « tous les 15 jours jeudi » said on a
            # Friday means the Thursday in six days, not the one in thirteen.
            first = first_occurrence(body.replace(f"INTERVAL={interval};", ""), span.start, now, text)
            return Recurrence(body, first, _end(first, span, text))
        ambiguous = _MONTHDAY_AMBIGUOUS.fullmatch(head)
        if ambiguous is not None:
            if span is None:
                raise ArgumentError("meeting_time_missing", given=text)
            _refuse_ambiguous_monthday(ambiguous, span, text, now)
        if not head and at is not None:
            day: date | None = now.date()
        else:
            # At midnight, the day named is the one that ends then: today counts whatever the hour.
            day = parse_day(head, now, None if midnight else at, text) if head else None
        if day is None:
            if self.recurring and head and _RHYTHM_START.match(head):
                raise ArgumentError("meeting_rhythm_unknown", given=text)
            return None
        if span is None:
            raise ArgumentError("meeting_time_missing", given=text)
        if midnight:
            day += timedelta(days=1)
        start = local(day, span.start, tz, text)
        if start <= now:
            raise ArgumentError("meeting_in_past", given=text)
        if start - now > HORIZON:
            raise ArgumentError("meeting_too_far", given=text)
        return MeetingTime(start, _end(start, span, text))


def _end(start: datetime, span: ClockSpan, given: str) -> datetime | None:
    """The end of a span on its start's day (`minuit` ends that day); it must come after the start."""
    if span.end is None:
        return None
    tz = start.tzinfo
    assert tz is not None
    day = start.date() + timedelta(days=1) if span.end_midnight else start.date()
    end = local(day, span.end, tz, given)
    if end <= start:
        raise ArgumentError("meeting_end_before_start", given=given)
    return end


def _hour_words(at: time) -> str:
    """A time as a member types it (`10h`, `9h30`), for the exact commands of a question."""
    return f"{at.hour}h{at.minute:02d}" if at.minute else f"{at.hour}h"


def _refuse_ambiguous_monthday(found: re.Match[str], span: ClockSpan, given: str, now: datetime) -> None:
    """`le 1er du mois à 10h`: the next 1st only, or every month? The question gives both exact forms."""
    day = monthday(found["dom"])
    hour = _hour_words(span.start) + (f"-{_hour_words(span.end)}" if span.end is not None else "")
    once = _next_monthday(now, day, None if span.midnight else span.start, None, given)
    raise ArgumentError(
        "meeting_monthday_ambiguous",
        given=given,
        date=f"{once.day:02d}/{once.month:02d}/{once.year}",
        day="1er" if day == 1 else str(day),
        hour=hour,
    )


def _refuse_glued(tokens: Sequence[Token]) -> None:
    """`jeudi14h`: a word glued to the hour is refused with the spaced form, never read as a place."""
    for token in tokens[:2]:
        glued = None if token.quoted else _GLUED.fullmatch(fold(token.text))
        if glued is not None:
            fixed = f"{glued['word']} {glued['rest']}".replace("a ", "à ", 1) if glued["word"] == "a" else None
            raise ArgumentError(
                "meeting_missing_space", given=token.text, fixed=fixed or f"{glued['word']} {glued['rest']}"
            )


_CLOCK_LIKE = re.compile(r"(?P<h>\d{1,2})\s*h(?P<m>\d{2})?")


def _refuse_end_or_duration(value: MeetingTime | Recurrence, window: Sequence[Token], rest: Sequence[Token]) -> None:
    """`jeudi 9h 11h`: is `11h` the end, or eleven hours? A clock-like length later than the start is asked about
    (`jeudi 14h 2h` stays two hours: no meeting ends before it starts)."""
    if value.end is not None or not rest or rest[0].quoted:
        return
    found = _CLOCK_LIKE.fullmatch(fold(rest[0].text))
    start = value.start if isinstance(value, MeetingTime) else value.first
    if found is None or int(found["h"]) > 23:
        return
    if (int(found["h"]), int(found["m"] or 0)) > (start.hour, start.minute):
        when = " ".join(t.text for t in window)
        raise ArgumentError("meeting_end_or_duration", given=rest[0].text, when=when)


def _number_before_unit(tokens: Sequence[Token], size: int) -> bool:
    """`jeudi 14h 30 min`: the window `jeudi 14h 30` would take the 30 minutes of a duration for 14:30."""
    return size < len(tokens) and tokens[size - 1].text.isdigit() and fold(tokens[size].text) in _UNITS


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
