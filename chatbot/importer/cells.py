"""One cell as a French spreadsheet writes it: `12/03/2026` or `2026-03-12`; `3h30`, `3h`, `1,5` (hours),
`1:30`, `90 min`; `1 234,50 €`, `90`, `25 €/h`. Each reader returns the value or raises ImportProblem."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import MAX_CENTS, DurationConverter
from chatbot.grammar.base import ParseContext
from chatbot.importer import ImportProblem
from chatbot.money import AmountTooLarge, euros_to_cents
from chatbot.text import fold

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::(00))?$")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$")
_SPACES = re.compile(r"[\s\u202f\xa0]+")
_EURO = re.compile(r"(?:€|eur|euros?)", re.IGNORECASE)
_PER_HOUR = re.compile(r"(?:/\s*h(?:eure)?|de l'heure|par heure)$", re.IGNORECASE)
_GROUPED = {  # thousands grouped by the other separator: `1.234,50`, `1,234.50`
    ",": re.compile(r"^\d{1,3}(?:\.\d{3})+,\d+$"),
    ".": re.compile(r"^\d{1,3}(?:,\d{3})+\.\d+$"),
}
_DURATION = DurationConverter()
MAX_DURATION_TEXT = 20  # `10 000 h` fits; a longer cell is no duration (and big numbers cost time)
_CONTEXT = ParseContext(today=date(2000, 1, 1))  # durations do not depend on the day


def read_date(text: str, default_year: int | None) -> date:
    """`12/03/2026`, `12-03-2026`, `2026-03-12`; `12/03` only when the year is given (`--year`)."""
    if found := _YMD.match(text):
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    elif found := _DMY.match(text):
        day, month = int(found[1]), int(found[2])
        if found[3] is None and default_year is None:
            raise ImportProblem("date_without_year", given=text)
        year = int(found[3]) if found[3] else default_year  # type: ignore[assignment]
    else:
        raise ImportProblem("date_invalid", given=text)
    try:
        return date(year, month, day)
    except ValueError as error:
        raise ImportProblem("date_invalid", given=text) from error


def read_duration(text: str) -> int:
    """Minutes of `3h30`, `3 h`, `1,5` (decimal hours), `1:30` (a sheet's duration format), `90 min`."""
    if len(text) > MAX_DURATION_TEXT:
        raise ImportProblem("duration_invalid", given=text[:MAX_DURATION_TEXT] + "…")
    if _DECIMAL.match(text):
        hours = Decimal(text.replace(",", "."))
        minutes = int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    elif found := _CLOCK.match(text):
        minutes = int(found[1]) * 60 + int(found[2])
    else:
        try:
            duration = _DURATION.convert(text, _CONTEXT)
        except ArgumentError as error:
            raise ImportProblem("duration_invalid", given=text) from error
        if duration is None:
            raise ImportProblem("duration_invalid", given=text)
        minutes = duration.minutes
    if minutes <= 0:
        raise ImportProblem("duration_not_positive", given=text)
    return minutes


def read_minutes(text: str) -> int:
    """A minutes column: `90`, `90 min`, `90,0`."""
    cleaned = re.sub(r"\s*(?:min|mn|minutes?)$", "", fold(text).strip())
    if len(cleaned) > MAX_DURATION_TEXT:
        raise ImportProblem("minutes_invalid", given=text[:MAX_DURATION_TEXT] + "…")
    if not _DECIMAL.match(cleaned):
        raise ImportProblem("minutes_invalid", given=text)
    value = Decimal(cleaned.replace(",", "."))
    if value != value.to_integral_value():
        raise ImportProblem("minutes_invalid", given=text)
    if value <= 0:
        raise ImportProblem("duration_not_positive", given=text)
    return int(value)


def read_amount(text: str, *, key: str = "amount") -> int:
    """Cents of `1 234,50 €`, `1234.5`, `€90`, `90 EUR`, `1.234,50`; a positive amount with at most two decimals."""
    cleaned = _EURO.sub("", text).strip()
    if key == "rate":
        cleaned = _PER_HOUR.sub("", cleaned)
    cleaned = _SPACES.sub("", cleaned)
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        if not _GROUPED[decimal_mark].match(cleaned):
            raise ImportProblem(f"{key}_invalid", given=text)
        cleaned = cleaned.replace("." if decimal_mark == "," else ",", "")
    if not _DECIMAL.match(cleaned):
        if cleaned.startswith("-") and _DECIMAL.match(cleaned[1:]):
            raise ImportProblem(f"{key}_not_positive", given=text)
        raise ImportProblem(f"{key}_invalid", given=text)
    try:
        cents = euros_to_cents(Decimal(cleaned.replace(",", ".")))
    except AmountTooLarge as error:
        raise ImportProblem(f"{key}_too_large", given=text) from error
    except (ValueError, InvalidOperation) as error:
        raise ImportProblem(f"{key}_precision", given=text) from error
    if cents > MAX_CENTS:
        raise ImportProblem(f"{key}_too_large", given=text)
    if cents <= 0:
        raise ImportProblem(f"{key}_not_positive", given=text)
    return cents


def read_rate(text: str) -> int:
    """Cents per hour of `30`, `30 €`, `25 €/h`, `22,50 €/h`."""
    return read_amount(text, key="rate")
