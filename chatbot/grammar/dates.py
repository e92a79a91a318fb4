"""Converters for dates of past work and for periods: `hier`, `12/03`, `le 12 mars`, `mardi 3 novembre`, `le 3`,
`lundi dernier`; `novembre`, `le mois dernier`, `2025`.

A date is read whole or refused: a weekday with a date must agree with it, a day that is not one (`la semaine
dernière`) is asked about, and a date ahead of today is refused (work is declared once done)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.lexicon import MONTHS, WEEKDAY_NAMES, WEEKDAYS, apostrophes
from chatbot.text import fold
from chatbot.values import Period

_NUMERIC_DATE = re.compile(r"^(?:le\s+)?(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")
_ISO_DATE = re.compile(r"^(?:le\s+)?(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDY_DATE = re.compile(r"^(?:le\s+)?(1er|\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?$")
_DAY_OF_MONTH = re.compile(r"^le\s+(1er|premier|\d+)$")
FUTURE_WORDS = ("demain", "apres-demain", "apres demain")
_NEXT_WEEKDAY = re.compile(r"^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|semaine|mois)\s+prochaine?$")
_WEEKDAY = re.compile(r"^(?:(?:ce|le)\s+)?([a-z]+)(?:\s+(dernier|passe))?$")
_WEEKDAY_AND_DATE = re.compile(r"^(?:le\s+)?(?P<weekday>[a-z]+)\s+(?P<date>(?:le\s+)?\d.*)$")
# Spans of several days: `la semaine dernière` is no date of work, so the member is asked which day.
_NOT_A_DAY = re.compile(
    r"^(?:la\s+)?semaine\s+(?:derniere|passee)$|^cette\s+semaine$"
    r"|^(?:le\s+)?(?:week-?end|mois)\s+(?:dernier|passe)$|^ce\s+(?:week-?end|mois)(?:-ci)?$"
)
# Date shapes whose numbers are too long (`le 999/03`, `12/03/20266`, `le 123 mars`): refused as dates, not left to
# become words of the description. Without `le`, `100/200` may be such words, and a short number after a date too.
# With dots or hyphens only a five-digit year makes a date: `1.2.3` or `2.4.1` is a version number, a description.
_OVERSIZED_DATES = (
    re.compile(r"^le\s+\d+/\d+(?:/\d+)?$"),
    re.compile(r"^\d{1,2}/\d{1,2}/(?:\d|\d{3}|\d{5,})$"),
    re.compile(r"^(?:le\s+)?\d{1,2}([.-])\d{1,2}\1\d{5,}$"),
    re.compile(r"^le\s+\d+\s+(?P<month>[a-z]+)\.?(?:\s+\d{5,})?$"),
)
_RELATIVE = {"aujourd'hui": 0, "aujourdhui": 0, "auj": 0, "hier": 1, "avant-hier": 2, "avant hier": 2}


def _words(text: str) -> str:
    return " ".join(apostrophes(fold(text)).split())


class PastDateConverter(Converter):
    """The date of some work: `hier`, `12/03`, `le 12/03/2026`, `le 12 mars`, `le 3`, `lundi` (the last one),
    `mardi 3 novembre`. A date ahead of today is refused."""

    label = "work_date"
    max_tokens = 5

    def convert(self, text: str, ctx: ParseContext) -> date | None:
        words = _words(text)
        if _NOT_A_DAY.match(words):
            monday = ctx.today - timedelta(days=ctx.today.weekday() + 7)
            raise ArgumentError("date_not_a_day", given=text, example=f"{monday.day}/{monday.month:02d}")
        if words in FUTURE_WORDS or _NEXT_WEEKDAY.match(words):
            raise ArgumentError("date_in_future_word", given=text)
        found = _with_weekday(words, text, ctx.today)
        if found is None:
            found = _plain_date(words, text, ctx.today)
        if found is None:
            return None
        if found > ctx.today:
            raise _future(found, words, text)
        return found


def _plain_date(words: str, text: str, today: date) -> date | None:
    """A date without a weekday before it, or a weekday alone."""
    if words in _RELATIVE:
        return today - timedelta(days=_RELATIVE[words])
    if (found := _calendar_date(words, text, today)) is not None:
        return found
    if any(_oversized(shape.match(words)) for shape in _OVERSIZED_DATES):
        raise ArgumentError("date_invalid", given=text)
    if (weekday := _WEEKDAY.match(words)) and weekday.group(1) in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS[weekday.group(1)]) % 7
        if back == 0 and weekday.group(2):
            back = 7  # `lundi dernier` typed on a Monday is a week ago; `lundi` alone is today
        return today - timedelta(days=back)
    return None


def _calendar_date(words: str, text: str, today: date) -> date | None:
    """`12/03`, `12/03/2026`, `2026-03-12`, `le 12 mars 2026`, `1er mars`, `le 3` (the last 3rd of a month)."""
    if found := _NUMERIC_DATE.match(words):
        year = found.group(3)
        if year is None:
            return _recent_past(today, int(found.group(2)), int(found.group(1)), text)
        return _make_date(int(year) + (2000 if len(year) == 2 else 0), int(found.group(2)), int(found.group(1)), text)
    if found := _ISO_DATE.match(words):
        return _make_date(int(found.group(1)), int(found.group(2)), int(found.group(3)), text)
    if (found := _WORDY_DATE.match(words)) and found.group(2) in MONTHS:
        day = 1 if found.group(1) == "1er" else int(found.group(1))
        if found.group(3) is None:
            return _recent_past(today, MONTHS[found.group(2)], day, text)
        return _make_date(int(found.group(3)), MONTHS[found.group(2)], day, text)
    if found := _DAY_OF_MONTH.match(words):
        return _recent_day(today, found.group(1), text)
    return None


def _with_weekday(words: str, text: str, today: date) -> date | None:
    """`mardi 3 novembre`, `le mardi 3/11`, `mardi le 3`: one date, whose weekday must be the one typed."""
    found = _WEEKDAY_AND_DATE.match(words)
    if found is None or found["weekday"] not in WEEKDAYS:
        return None
    rest = found["date"]
    if not rest.startswith("le ") and re.fullmatch(r"\d+", rest):
        return None  # `mardi 3 réunions`: the number is not a day
    day = _calendar_date(rest, text, today)
    if day is None:
        return None
    if day.weekday() != WEEKDAYS[found["weekday"]]:
        raise ArgumentError(
            "date_weekday_mismatch",
            given=text,
            day=day,
            typed=found["weekday"],
            weekday=WEEKDAY_NAMES[day.weekday()],
            date_part=rest,
        )
    return day


def _future(day: date, words: str, text: str) -> ArgumentError:
    """A date ahead of today; when its year was left out, say how to write last year's."""
    if re.search(r"\d{4}|\d[/.-]\d{1,2}[/.-]\d", words):
        return ArgumentError("date_in_future", date=day)
    past = day.replace(year=day.year - 1) if not (day.month == 2 and day.day == 29) else None
    if past is None:
        return ArgumentError("date_in_future", date=day)
    return ArgumentError("date_in_future_no_year", given=text, date=day, past=past)


YEAR_TURN_DAYS = 62


def _oversized(found: re.Match[str] | None) -> bool:
    month = found and found.groupdict().get("month")
    return found is not None and (month is None or month in MONTHS)


def _recent_past(today: date, month: int, day: int, text: str) -> date:
    """A day and month without a year: this year's, unless that is ahead and last year's was only weeks ago
    (`28/12` typed on 5 January means last December). Otherwise this year's, which the caller refuses."""
    this_year, last_year = _date_or_none(today.year, month, day), _date_or_none(today.year - 1, month, day)
    if this_year is not None and this_year <= today:
        return this_year
    if last_year is not None and (today - last_year).days <= YEAR_TURN_DAYS:
        return last_year
    if this_year is None:
        raise ArgumentError("date_invalid", given=text)
    return this_year


def _recent_day(today: date, typed: str, text: str) -> date:
    """`le 3`: the most recent 3rd not after today (`le 31` typed on 30 November is 31 October)."""
    day = 1 if typed in ("1er", "premier") else int(typed) if len(typed) <= 2 else 0
    if not 1 <= day <= 31:
        raise ArgumentError("date_invalid", given=text)
    year, month = today.year, today.month
    for _ in range(12):
        found = _date_or_none(year, month, day)
        if found is not None and found <= today:
            return found
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    raise ArgumentError("date_invalid", given=text)  # pragma: no cover - every day 1-31 occurs within a year


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ArgumentError("date_invalid", given=text) from exc


_THIS_MONTH = ("mois", "month", "ce mois", "ce mois-ci", "mois en cours", "le mois en cours")
_LAST_MONTH = ("le mois dernier", "mois dernier", "le mois passe", "mois passe")
_THIS_YEAR = ("annee", "an", "year", "cette annee", "l'annee en cours", "annee en cours")
_LAST_YEAR = ("l'an dernier", "an dernier", "l'annee derniere", "annee derniere", "l'an passe", "l'annee passee")
_MONTH_PERIOD = re.compile(r"^(?:(?:en|le\s+mois\s+de|mois\s+de)\s+)?([a-z]+)\.?(?:\s+((?:19|20|21)\d\d))?$")
_NUMERIC_MONTH = re.compile(r"^(\d{1,2})[/-]((?:19|20|21)\d\d)$|^((?:19|20|21)\d\d)-(\d{1,2})$")
_WEEK = re.compile(r"^(?:(?:la|cette)\s+)?semaine(?:\s+(?:derniere|passee|en cours))?$")


class PeriodConverter(Converter):
    """`mois`, `le mois dernier`, `novembre` (the last November begun), `novembre 2025`, `11/2026`, `année`,
    `l'an dernier`, or a year `2025`."""

    label = "period"
    max_tokens = 5

    def convert(self, text: str, ctx: ParseContext) -> Period | None:
        words = _words(text)
        today = ctx.today
        if words in _THIS_MONTH:
            return Period(today.year, today.month)
        if words in _LAST_MONTH:
            return Period(today.year, today.month - 1) if today.month > 1 else Period(today.year - 1, 12)
        if words in _THIS_YEAR:
            return Period(today.year)
        if words in _LAST_YEAR:
            return Period(today.year - 1)
        if re.fullmatch(r"(?:19|20|21)\d\d", words):
            return Period(int(words))
        if _WEEK.match(words):
            raise ArgumentError("period_not_a_month", given=text)
        if (found := _MONTH_PERIOD.match(words)) and found.group(1) in MONTHS:
            month = MONTHS[found.group(1)]
            if found.group(2):
                return Period(int(found.group(2)), month)
            return Period(today.year if month <= today.month else today.year - 1, month)
        return _numeric_month(words, text)

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        """A misspelt month (`novembr`) is asked about as a period, not offered as a member's name."""
        close = _close_month(word)
        return ArgumentError("period_unknown", given=word, suggestions=[close]) if close else None


def _numeric_month(words: str, text: str) -> Period | None:
    found = _NUMERIC_MONTH.match(words)
    if found is None:
        return None
    month, year = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
    if not 1 <= int(month) <= 12:
        raise ArgumentError("period_unknown", given=text, suggestions=[])
    return Period(int(year), int(month))


_FULL_MONTH_NAMES = [
    name for name in MONTHS if (len(name) >= 4 or name == "mai") and not name.endswith(("janv", "fevr", "juil", "sept"))
]


def _close_month(word: str) -> str | None:
    """The month name a misspelt word is close to (`novembr` → novembre), if any."""
    import difflib

    folded = _words(word).rstrip(".")
    if folded in MONTHS or len(folded) < 4:
        return None
    close = difflib.get_close_matches(folded, _FULL_MONTH_NAMES, n=1, cutoff=0.75)
    return close[0] if close else None


def looks_like_a_period(word: str) -> bool:
    """Whether a word is, or is close to, a month or period word: never a member's name to suggest."""
    folded = _words(word).rstrip(".")
    period_words = {"mois", "annee", "an", "semaine", "dernier", "derniere", "passe", "passee", "ce", "cette"}
    return folded in MONTHS or folded in WEEKDAYS or folded in period_words or _close_month(word) is not None
