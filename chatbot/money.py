"""Exact money: integer cents everywhere, Decimal only at the edges (parsing and formatting)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS_PER_EURO = 100


def euros_to_cents(value: Decimal) -> int:
    """Euros (Decimal) to integer cents; refuses sub-cent precision rather than rounding it away."""
    cents = value * CENTS_PER_EURO
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} has more than two decimals")
    return int(cents)


def parse_euros(text: str) -> Decimal:
    """`"250,50"` or `"250.50"` → Decimal('250.50'); raises ValueError on anything else."""
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def amount_for_minutes(minutes: int, rate_cents_per_hour: int) -> int:
    """Retribution for a duration at an hourly rate, rounded half-up to the cent."""
    exact = Decimal(minutes) * Decimal(rate_cents_per_hour) / Decimal(60)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
