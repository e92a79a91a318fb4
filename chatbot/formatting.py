"""Numbers, money, durations and dates as the members' language writes them (Babel for the locale rules)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from chatbot.money import CENTS_PER_EURO

BAR_WIDTH = 10


class Formatter:
    def __init__(self, locale: str = "fr_FR") -> None:
        self.locale = locale

    def money(self, cents: int) -> str:
        """`1 234,50 €`; whole euros lose their decimals (`300 €`), which reads better in a chat line."""
        value = Decimal(cents) / CENTS_PER_EURO
        pattern = "#,##0 ¤" if cents % CENTS_PER_EURO == 0 else "#,##0.00 ¤"
        return format_currency(value, "EUR", format=pattern, locale=self.locale, currency_digits=False)

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
        return format_date(day, "EEEE d MMMM y", locale=self.locale)

    def date_short(self, day: date) -> str:
        return format_date(day, "dd/MM/y", locale=self.locale)

    def datetime_short(self, at: datetime) -> str:
        return format_datetime(at, "dd/MM/y HH:mm", tzinfo=at.tzinfo, locale=self.locale)

    @staticmethod
    def bar(percent: int) -> str:
        filled = max(0, min(BAR_WIDTH, round(percent * BAR_WIDTH / 100)))
        return "▓" * filled + "░" * (BAR_WIDTH - filled)

    def month(self, day: date) -> str:
        return format_date(day, "MMMM y", locale=self.locale)
