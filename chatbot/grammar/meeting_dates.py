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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.lexicon import MONTHS, WEEKDAYS
from chatbot.grammar.recurrences import _RECURRING, _RHYTHM_START, Recurrence, _rule, first_occurrence
from chatbot.grammar.times import _WD, _clock_time, _naive, _split_leading_time, _split_time, local
from chatbot.grammar.tokens import Token
from chatbot.text import fold

PAST_TYPO_DAYS = 31  # a yearless date gone by at most this many days is an error, not next year's date


HORIZON = timedelta(days=5 * 366)  # a meeting further ahead than this is surely a typo (`12/03/2099`)


@dataclass(frozen=True)
class MeetingTime:
    """A one-off meeting's start, aware, in the cooperative's zone."""

    start: datetime


_ONE_OFF = [
    re.compile(r"^(?P<rel>aujourd'hui|aujourd’hui|aujourdhui|demain|apres-demain|apres demain)"),
    re.compile(rf"^(?:ce\s+|le\s+)?{_WD}(?:\s+(?P<next>prochain))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>\d{{1,2}})[/.](?P<m>\d{{1,2}})(?:[/.](?P<y>\d{{4}}|\d{{2}}))?"),
    re.compile(rf"^(?:le\s+)?(?:{_WD}\s+)?(?P<d>1er|\d{{1,2}})\s+(?P<mname>[a-z]+)\.?(?:\s+(?P<y>\d{{4}}))?"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
]


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
