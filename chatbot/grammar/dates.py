"""Converters for dates of past work and for periods: `hier`, `12/03`, `le 12 mars`, `lundi`, `mois`, `2025`."""

from __future__ import annotations

import re
from datetime import date, timedelta

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.lexicon import MONTHS, WEEKDAYS
from chatbot.text import fold
from chatbot.values import Period

_NUMERIC_DATE = re.compile(r"^(?:le\s+)?(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")
_ISO_DATE = re.compile(r"^(?:le\s+)?(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDY_DATE = re.compile(r"^(?:le\s+)?(1er|\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?$")
FUTURE_WORDS = ("demain", "apres-demain", "apres demain")
_NEXT_WEEKDAY = re.compile(r"^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|semaine|mois)\s+prochaine?$")
_WEEKDAY = re.compile(r"^(?:(?:ce|le)\s+)?([a-z]+)(?:\s+(?:dernier|passe))?$")
# Date shapes whose numbers are too long (`le 999/03`, `12/03/20266`, `le 123 mars`): refused as dates, not left to
# become words of the description. Without `le`, `100/200` may be such words, and a short number after a date too.
# With dots or hyphens only a five-digit year makes a date: `1.2.3` or `2.4.1` is a version number, a description.
_OVERSIZED_DATES = (
    re.compile(r"^le\s+\d+/\d+(?:/\d+)?$"),
    re.compile(r"^\d{1,2}/\d{1,2}/(?:\d|\d{3}|\d{5,})$"),
    re.compile(r"^(?:le\s+)?\d{1,2}([.-])\d{1,2}\1\d{5,}$"),
    re.compile(r"^le\s+\d+\s+(?P<month>[a-z]+)\.?(?:\s+\d{5,})?$"),
)


class PastDateConverter(Converter):
    """The date of some work: `hier`, `12/03`, `le 12/03/2026`, `le 12 mars`, `lundi` (the last one)."""

    label = "date"
    max_tokens = 4

    def convert(self, text: str, ctx: ParseContext) -> date | None:
        words = fold(text).strip()
        relative = {"aujourd'hui": 0, "aujourd’hui": 0, "aujourdhui": 0, "auj": 0, "hier": 1, "avant-hier": 2}
        if words in relative:
            return ctx.today - timedelta(days=relative[words])
        if words in FUTURE_WORDS or _NEXT_WEEKDAY.match(words):
            raise ArgumentError("date_in_future_word", given=text)
        if found := _NUMERIC_DATE.match(words):
            year = found.group(3)
            if year is None:
                return _recent_past(ctx.today, int(found.group(2)), int(found.group(1)), text)
            return _make_date(
                int(year) + (2000 if len(year) == 2 else 0), int(found.group(2)), int(found.group(1)), text
            )
        if found := _ISO_DATE.match(words):
            return _make_date(int(found.group(1)), int(found.group(2)), int(found.group(3)), text)
        if (found := _WORDY_DATE.match(words)) and found.group(2) in MONTHS:
            day = 1 if found.group(1) == "1er" else int(found.group(1))
            if found.group(3) is None:
                return _recent_past(ctx.today, MONTHS[found.group(2)], day, text)
            return _make_date(int(found.group(3)), MONTHS[found.group(2)], day, text)
        if any(_oversized(shape.match(words)) for shape in _OVERSIZED_DATES):
            raise ArgumentError("date_invalid", given=text)
        if (found := _WEEKDAY.match(words)) and found.group(1) in WEEKDAYS:
            back = (ctx.today.weekday() - WEEKDAYS[found.group(1)]) % 7
            if back == 0 and (words.endswith(" dernier") or words.endswith(" passe")):
                back = 7  # `lundi dernier` typed on a Monday is a week ago; `lundi` alone is today
            return ctx.today - timedelta(days=back)
        return None


YEAR_TURN_DAYS = 62


def _oversized(found: re.Match[str] | None) -> bool:
    month = found and found.groupdict().get("month")
    return found is not None and (month is None or month in MONTHS)


def _recent_past(today: date, month: int, day: int, text: str) -> date:
    """A day and month without a year: this year's, unless that is ahead and last year's was only weeks ago
    (`28/12` typed on 5 January means last December). Otherwise this year's, which the caller may refuse."""
    this_year, last_year = _date_or_none(today.year, month, day), _date_or_none(today.year - 1, month, day)
    if this_year is not None and this_year <= today:
        return this_year
    if last_year is not None and (today - last_year).days <= YEAR_TURN_DAYS:
        return last_year
    if this_year is None:
        raise ArgumentError("date_invalid", given=text)
    return this_year


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


class PeriodConverter(Converter):
    """`mois` (this month), `annee` (this year), or a year `2025`."""

    label = "period"

    def convert(self, text: str, ctx: ParseContext) -> Period | None:
        word = fold(text).strip()
        if word in ("mois", "month"):
            return Period(ctx.today.year, ctx.today.month)
        if word in ("annee", "an", "year"):
            return Period(ctx.today.year)
        if re.fullmatch(r"(?:19|20|21)\d\d", word):
            return Period(int(word))
        return None
