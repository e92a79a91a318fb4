"""Numbers, money, durations and dates as the members' language writes them (Babel for the locale rules)."""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from chatbot.money import CENTS_PER_EURO

BAR_WIDTH = 10


MONEY_PATTERNS = ("#,##0 ¤", "#,##0.00 ¤")  # whole euros, and euros with cents
MONEY_PROBES = (0, 5, 99, 100, 1_234_56, 12_345_67, -1_234_56, 1_000_000_000_00)


def babel_money(cents: int, locale: str) -> str:
    """The reference: Babel formatting cents with MONEY_PATTERNS (Formatter.money gives the same, faster)."""
    value = Decimal(cents) / CENTS_PER_EURO
    pattern = MONEY_PATTERNS[0] if cents % CENTS_PER_EURO == 0 else MONEY_PATTERNS[1]
    return format_currency(value, "EUR", format=pattern, locale=locale, currency_digits=False)


# French typography, which CLDR (hence Babel) does not give: the first of the month is `1er` (`mardi 1er décembre`),
# a time of day is written `18 h` or `18 h 30`, and a date with a time reads `… à 18 h`.
FRENCH = "fr"
FRENCH_AT = "{date} à {time}"


@functools.lru_cache(maxsize=16)
def _french(locale: str) -> bool:
    return Locale.parse(locale).language == FRENCH


def _day_pattern(day: date, pattern: str, locale: str) -> str:
    """A Babel date pattern whose `d` (the day of the month) is written `1er` on the first in French."""
    if day.day == 1 and _french(locale):
        pattern = pattern.replace("d ", "d'er' ", 1)
    return format_date(day, pattern, locale=locale)


@functools.lru_cache(maxsize=1024)  # every confirmation shows a date, mostly today's
def _date_long(day: date, locale: str) -> str:
    return _day_pattern(day, "EEEE d MMMM y", locale)


class Formatter:
    def __init__(self, locale: str = "fr_FR") -> None:
        self.locale = locale
        # Babel takes tens of microseconds per amount and a reply shows a dozen: the patterns are simple enough
        # to apply directly with the locale's symbols (tests compare the two).
        symbols = Locale.parse(locale).number_symbols["latn"]
        self._group, self._decimal, self._minus = symbols["group"], symbols["decimal"], symbols["minusSign"]
        self._euro = get_currency_symbol("EUR", locale=locale)
        # Some locales group digits by other rules (de_CH: none under 10 000): those keep Babel.
        self._direct = all(self._money(c) == babel_money(c, locale) for c in MONEY_PROBES)

    def money(self, cents: int) -> str:
        """`1 234,50 €`; whole euros lose their decimals (`300 €`), which reads better in a chat line."""
        return self._money(cents) if self._direct else babel_money(cents, self.locale)

    def _money(self, cents: int) -> str:
        euros, rest = divmod(abs(cents), CENTS_PER_EURO)
        digits = f"{euros:,}".replace(",", self._group)
        if rest:
            digits = f"{digits}{self._decimal}{rest:02d}"
        return f"{self._minus if cents < 0 else ''}{digits} {self._euro}"

    def rate(self, cents_per_hour: int) -> str:
        return f"{self.money(cents_per_hour)}/h"

    def duration(self, minutes: int) -> str:
        hours, rest = divmod(minutes, 60)
        if hours == 0:
            return f"{rest} min"
        return f"{hours} h {rest:02d}" if rest else f"{hours} h"

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def date_long(self, day: date) -> str:
        """`lundi 30 novembre 2026`, `mardi 1er décembre 2026`."""
        return _date_long(day, self.locale)

    def day_month(self, day: date) -> str:
        """`30 novembre`, `1er décembre`: a date in the current year's context."""
        return _day_pattern(day, "d MMMM", self.locale)

    def date_short(self, day: date) -> str:
        return format_date(day, "dd/MM/y", locale=self.locale)

    def time(self, at: time | datetime) -> str:
        """A time of day, as French writes it: `18 h`, `18 h 30`, `9 h 05`, `0 h` (other locales: Babel's short
        time). A datetime is shown in its own zone: convert it first."""
        if not _french(self.locale):
            return format_time(at, "short", locale=self.locale)
        return f"{at.hour} h" + (f" {at.minute:02d}" if at.minute else "")

    def datetime_long(self, at: datetime) -> str:
        """`vendredi 4 décembre 2026 à 18 h 30`, in the datetime's own zone."""
        return self._at(self.date_long(at.date()), self.time(at))

    def datetime_short(self, at: datetime) -> str:
        """`04/12/2026 à 18 h 30`, in the datetime's own zone."""
        return self._at(self.date_short(at.date()), self.time(at))

    def _at(self, day: str, at: str) -> str:
        if _french(self.locale):
            return FRENCH_AT.format(date=day, time=at)
        pattern = Locale.parse(self.locale).datetime_formats["long"]
        return str(pattern).replace("{1}", day).replace("{0}", at)

    @staticmethod
    def bar(percent: int) -> str:
        filled = max(0, min(BAR_WIDTH, round(percent * BAR_WIDTH / 100)))
        return "▓" * filled + "░" * (BAR_WIDTH - filled)

    def month(self, day: date) -> str:
        return format_date(day, "MMMM y", locale=self.locale)
