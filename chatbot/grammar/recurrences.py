"""Recurring meetings: `chaque mardi 18h`, `tous les 15 jours jeudi 14h`, `toutes les deux semaines le mercredi`,
`un jeudi sur deux`, `le 2e jeudi du mois`, `tous les premiers lundis`, `le dernier vendredi du mois`,
`chaque 1er du mois`, kept as RFC 5545 RRULEs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time

from dateutil.rrule import rrulestr

from chatbot.errors import ArgumentError
from chatbot.grammar.base import digits_fit
from chatbot.grammar.lexicon import WEEKDAYS
from chatbot.grammar.times import _WD, elapsed_minutes, local

RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Recurrence:
    """A recurring meeting: its RRULE (without DTSTART), its first occurrence, aware, local, and that occurrence's
    end when the member gave one (`chaque mardi 18h-19h30`)."""

    rule: str
    first: datetime
    end: datetime | None = None

    @property
    def minutes(self) -> int | None:
        """The length the end gives (real minutes, across a clock change too), if an end was given."""
        return None if self.end is None else elapsed_minutes(self.first, self.end)


_ORDINALS = {
    "1er": 1, "1re": 1, "1e": 1, "premier": 1, "premiere": 1,
    "2e": 2, "2eme": 2, "deuxieme": 2, "second": 2, "seconde": 2,
    "3e": 3, "3eme": 3, "troisieme": 3,
    "4e": 4, "4eme": 4, "quatrieme": 4,
    "dernier": -1, "derniere": -1,
}  # fmt: skip


_ORD = "(?P<ord>" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + ")"


_EVERY = {"deux": 2, "trois": 3, "quatre": 4, "quinze": 15}

# A day of the month in a monthly rhythm: `chaque 1er du mois`, `le 15 de chaque mois`.
_DOM = r"(?P<dom>1ers?|premiers?|\d{1,2})"
MONTHDAY_LIMIT = 28  # every month has this day: `le 31 de chaque mois` would silently skip seven months a year


_RECURRING = [
    re.compile(r"^(?P<daily>chaque\s+jour|tous\s+les\s+jours|quotidiennement)"),
    re.compile(rf"^(?:chaque|tous\s+les|toutes\s+les)\s+{_WD}s?"),
    re.compile(rf"^(?:chaque\s+semaine|toutes\s+les\s+semaines)\s+(?:le\s+)?{_WD}s?"),
    re.compile(
        r"^(?:tous\s+les\s+(?P<days>\d+|quinze)\s+jours|toutes\s+les\s+(?P<weeks>\d+|deux|trois|quatre)\s+semaines)"
        rf"\s+(?:le\s+)?{_WD}s?"
    ),
    re.compile(rf"^un\s+{_WD}\s+sur\s+(?P<every>\d|deux|trois|quatre)"),
    re.compile(rf"^(?:le\s+|chaque\s+)?{_ORD}\s+{_WD}\s+(?:du|de\s+chaque)\s+mois"),
    re.compile(rf"^(?:chaque|tous\s+les|toutes\s+les)\s+{_ORD}s?\s+{_WD}s?(?:\s+(?:du|de\s+chaque)\s+mois)?"),
    re.compile(rf"^(?:chaque|tous\s+les)\s+{_DOM}\s+(?:du|de\s+chaque)\s+mois"),
    re.compile(rf"^le\s+{_DOM}\s+de\s+chaque\s+mois"),
    re.compile(rf"^(?:chaque\s+mois|tous\s+les\s+mois)\s+le\s+{_DOM}"),
]


# Words that start a rhythm: a text starting with one of them that is no known rhythm gets the list of rhythms.
_RHYTHM_START = re.compile(r"^(?:chaque|tous|toutes|un\s+\S+\s+sur)\b")


def _rule(found: re.Match[str], given: str) -> tuple[str, int]:
    """RRULE body and its weekly interval (1 for monthly rules, which need no alignment)."""
    groups = found.groupdict()
    if groups.get("daily"):
        return "FREQ=DAILY", 1
    if groups.get("dom"):
        day = monthday(groups["dom"])
        if not 1 <= day <= MONTHDAY_LIMIT:
            raise ArgumentError("meeting_monthday_invalid", given=given, limit=MONTHDAY_LIMIT)
        return f"FREQ=MONTHLY;BYMONTHDAY={day}", 1
    byday = RRULE_DAYS[WEEKDAYS[groups["wd"]]]
    if groups.get("ord"):
        return f"FREQ=MONTHLY;BYDAY={_ORDINALS[groups['ord']]}{byday}", 1
    interval = 1
    if not all(digits_fit(groups.get(count) or "") for count in ("days", "weeks")):
        raise ArgumentError("meeting_interval_invalid", given=given)
    if groups.get("days"):
        days = _EVERY.get(groups["days"]) or int(groups["days"])
        if days in (14, 15):  # « tous les 15 jours » is French for every other week
            interval = 2
        elif days % 7 == 0 and days > 0:
            interval = days // 7
        else:
            raise ArgumentError("meeting_interval_invalid", given=given)
    elif groups.get("weeks"):
        interval = _EVERY.get(groups["weeks"]) or int(groups["weeks"])
    elif groups.get("every"):
        every = groups["every"]
        interval = _EVERY.get(every) or int(every)
    if not 1 <= interval <= 8:
        raise ArgumentError("meeting_interval_invalid", given=given)
    body = f"FREQ=WEEKLY;BYDAY={byday}" if interval == 1 else f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={byday}"
    return body, interval


def monthday(word: str) -> int:
    """`1er`, `premier`, `15` → the day of the month."""
    return 1 if word.startswith(("1er", "premier")) else int(word)


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
