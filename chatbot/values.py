"""Typed values produced by the parser and consumed by the services (no chat objects, no text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The budget years the bot keeps: `/budget … <année>`, `budget.year` in the configuration and work dates. A typo
# such as 20266 or 99999 is refused, never seeded nor stored.
BUDGET_YEARS = range(2000, 2100)


@dataclass(frozen=True)
class Duration:
    minutes: int


@dataclass(frozen=True)
class FlatAmount:
    cents: int


Quantity = Duration | FlatAmount


@dataclass(frozen=True)
class Rate:
    cents_per_hour: int


@dataclass(frozen=True)
class Money:
    """A signed amount (budget settings and adjustments)."""

    cents: int


@dataclass(frozen=True)
class EnvelopeRef:
    slug: str


@dataclass(frozen=True)
class MemberRef:
    """`moi` (username None) or `@username`."""

    username: str | None


@dataclass(frozen=True)
class Period:
    """A span of work dates: a whole year, or one month of it."""

    year: int
    month: int | None = None

    @property
    def start(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def end(self) -> date:
        """Exclusive end."""
        if self.month is None or self.month == 12:
            return date(self.year + 1, 1, 1)
        return date(self.year, self.month + 1, 1)
