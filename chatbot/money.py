"""Exact money: integer cents everywhere, Decimal only at the edges (parsing and formatting)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS_PER_EURO = 100
MAX_EURO_DIGITS = 15  # digits before the decimal point: beyond, no amount is meant (and `1e99999999` would hang)


class AmountTooLarge(ValueError):
    """More than MAX_EURO_DIGITS digits of euros: refused before any computation."""


def euros_to_cents(value: Decimal) -> int:
    """Euros (Decimal) to integer cents; refuses sub-cent precision rather than rounding it away.

    Computed on the digits, not with Decimal arithmetic, which rounds to 28 digits: `1,000…0001` (30 decimals)
    would otherwise pass for exactly 1 €.
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not a number")
    if value and value.adjusted() >= MAX_EURO_DIGITS:
        raise AmountTooLarge(f"{value} has more than {MAX_EURO_DIGITS} digits")
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    exponent += len(digits) - len(significant)
    if exponent < -2:
        raise ValueError(f"{value} has more than two decimals")
    cents = int(significant) * 10 ** (exponent + 2)
    return -cents if sign else cents


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
