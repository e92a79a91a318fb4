"""Durations and money as members type them: `3h`, `1h30`, `90 min`, `une demi-heure`, `250 €`, `forfait 300 €`,
`25 €/h`, `à 25 € de l'heure`, `5 000`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext, digits_fit
from chatbot.grammar.lexicon import MONTHS, NUMBER_WORDS, apostrophes
from chatbot.grammar.tokens import Token
from chatbot.money import euros_to_cents, parse_euros
from chatbot.text import fold
from chatbot.values import Duration, FlatAmount, Money, Rate


def _numeric(text: str) -> str:
    """Fold and normalise what people type around numbers: `1,5`, `−3`, non-breaking spaces."""
    folded = apostrophes(fold(text)).replace(",", ".").replace("−", "-").replace("\u202f", " ").replace("\xa0", " ")
    return " ".join(folded.split())


_DURATION = re.compile(
    r"^(?:(?P<h>[+-]?\d+(?:\.\d+)?)\s*(?:h|hr|hrs|heures?)(?:\s*(?P<m>\d+)\s*(?:min|mn|m)?)?"
    r"|(?P<mins>[+-]?\d+(?:\.\d+)?)\s*(?:min|mn|minutes?))$"
)


_NUMBER_WORD = "|".join(NUMBER_WORDS)
_COUNT = rf"(?P<n>\d{{1,2}}|{_NUMBER_WORD})"
# Durations said rather than written: `une heure`, `deux heures et demie`, `1h et quart`, `trois quarts d'heure`,
# `une demi-heure`, `1/2h`, `dix minutes`; `2:30h` (a clock-like figure with its unit).
_SPOKEN = (
    (re.compile(rf"^{_COUNT}\s*(?:h|heures?)(?:\s+et\s+(?P<part>demie?|quart))?$"), "hours"),
    (re.compile(r"^(?:(?P<n>un|une|1|trois|3)\s+)?quarts?\s+d'heure$"), "quarters"),
    (re.compile(r"^(?:(?:une?|1)\s+)?demie?[- ]?heure$|^1/2\s*(?:h|heure)$"), "half"),
    (re.compile(rf"^{_COUNT}\s+minutes?$"), "minutes"),
    (re.compile(r"^(?P<n>\d{1,2}):(?P<m>[0-5]\d)\s*h$"), "clock"),
)
_PARTS = {None: 0, "demi": 30, "demie": 30, "quart": 15}
CLOCK_LIKE = re.compile(r"^(?P<h>\d{1,2}):(?P<m>[0-5]\d)$")


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _spoken_minutes(text: str) -> int | None:
    """Minutes of a duration said in words, or None when the text is not one."""
    for pattern, kind in _SPOKEN:
        found = pattern.match(text)
        if found is None:
            continue
        if kind == "hours":
            return _count(found["n"]) * 60 + _PARTS[found["part"]]
        if kind == "quarters":
            return 15 * (_count(found["n"]) if found["n"] else 1)
        if kind == "half":
            return 30
        if kind == "minutes":
            return _count(found["n"])
        return int(found["n"]) * 60 + int(found["m"])
    return None


MAX_DURATION_DIGITS = 7  # ten million hours or minutes: far above any limit, which then gets its own answer


class DurationConverter(Converter):
    label = "duration"
    max_tokens = 4

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        """`3 h 30` is one duration, but in `3h 25 €/h` or `3h 12 mars` the number belongs to what follows."""
        found = super().match(tokens, ctx)
        if found is None or found[1] == 1:
            return found
        following = fold(tokens[found[1]].text) if found[1] < len(tokens) else ""
        if re.fullmatch(r"\d+", tokens[found[1] - 1].text) and _starts_what_follows_a_number(following):
            return super().match(tokens[: found[1] - 1], ctx)
        return found

    def convert(self, text: str, ctx: ParseContext) -> Duration | None:
        normalised = _numeric(text)
        spoken = _spoken_minutes(normalised)
        if spoken is not None:
            if spoken <= 0:
                raise ArgumentError("duration_not_positive", given=text)
            return Duration(spoken)
        found = _DURATION.match(normalised)
        if not found:
            return None
        if not digits_fit(found["h"] or found["mins"], MAX_DURATION_DIGITS):
            raise ArgumentError("duration_too_large", given=text)
        if found["m"] is not None and not digits_fit(found["m"], 2):
            raise ArgumentError("duration_invalid", given=text)
        if found["mins"] is not None:
            minutes = Decimal(found["mins"])
        else:
            hours = Decimal(found["h"])
            extra = found["m"]
            if extra is not None:
                if hours != hours.to_integral_value() or int(extra) >= 60:
                    raise ArgumentError("duration_invalid", given=text)
                minutes = hours * 60 + (int(extra) if hours >= 0 else -int(extra))
            else:
                minutes = hours * 60
        whole = int(minutes.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if whole <= 0:
            raise ArgumentError("duration_not_positive", given=text)
        return Duration(whole)


_EURO = r"(?:€|e|eur|euros?)"


# Digits, optionally grouped by thousands with spaces (`5 000`, `1 234,50`), then decimals.
_AMOUNT = r"(?P<v>[+-]?(?:\d{1,3}(?: \d{3})+|\d+)(?:\.\d+)?)"


_FLAT = re.compile(rf"^(?:{_AMOUNT}\s*{_EURO}|€\s*{_AMOUNT.replace('?P<v>', '?P<v2>')})$")
# `forfait 300`, `un forfait de 300 €`: after the word `forfait`, the number is an amount even without its sign.
_FORFAIT = re.compile(r"^(?:un\s+)?forfait\s+(?:de\s+)?(?P<rest>.+)$")


_PER_HOUR = r"(?:/\s*(?:h|hr|heure)|\s*(?:de|par|a)\s+l'heure|\s*l'heure|\s*par\s+heure)"
_RATE = re.compile(rf"^{_AMOUNT}\s*{_EURO}?\s*{_PER_HOUR}$")
# After a duration, `à 25 €` is its hourly rate (`3h à 25 €`), as are `à 25 €/h` and `au taux de 25 €`.
_RATE_AFTER_A = re.compile(rf"^(?:a|au\s+taux\s+de)\s+{_AMOUNT}\s*(?:{_EURO}\s*{_PER_HOUR}?|{_PER_HOUR})$")


_BARE = re.compile(rf"^{_AMOUNT}\s*{_EURO}?$")


MAX_CENTS = 10**10  # 100 million euros: far above any envelope, far below what the database column holds


# More than two decimals written: sub-cent precision, or thousands grouped the way some write them (`1.500`,
# `1,500`). Refused even when the extra digits are zeros, so that `1.500` is never read as 1,50 €.
_BEYOND_CENTS = re.compile(r"\.\d{3,}$")


def _cents(raw: str, text: str) -> int:
    if not digits_fit(raw.replace(" ", ""), len(str(MAX_CENTS // 100))):
        raise ArgumentError("amount_too_large", given=text)
    if _BEYOND_CENTS.search(raw):
        raise ArgumentError("amount_precision", given=text)
    try:
        cents = euros_to_cents(parse_euros(raw.replace(" ", "")))
    except ValueError as exc:
        raise ArgumentError("amount_precision", given=text) from exc
    if abs(cents) > MAX_CENTS:
        raise ArgumentError("amount_too_large", given=text)
    return cents


def _starts_what_follows_a_number(word: str) -> bool:
    """A unit or a month name: the number before it is a price or a day, not minutes."""
    return word.startswith(("€", "e/", "eur", "/")) or word.rstrip(".") in MONTHS


class FlatAmountConverter(Converter):
    """`250€`, `250,50 €`, `€250`, `forfait 300`: a positive amount with its currency sign or after `forfait`."""

    label = "amount"
    max_tokens = 7

    def convert(self, text: str, ctx: ParseContext) -> FlatAmount | None:
        normalised = _numeric(text)
        found = _FLAT.match(normalised)
        if found is None and (marked := _FORFAIT.match(normalised)):
            found = _FLAT.match(marked["rest"]) or _BARE.match(marked["rest"])
        if not found:
            return None
        cents = _cents(found["v"] or found["v2"], text)
        if cents <= 0:
            raise ArgumentError("amount_not_positive", given=text)
        return FlatAmount(cents)


class QuantityConverter(Converter):
    """A duration or a flat amount: what a contribution is worth."""

    label = "quantity"
    max_tokens = 3

    def __init__(self) -> None:
        self.parts = (DurationConverter(), FlatAmountConverter())

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        for part in self.parts:
            found = part.match(tokens, ctx)
            if found is not None:
                return found
        if tokens and not tokens[0].quoted:
            _refuse_unitless(tokens)
        return None


def _refuse_unitless(tokens: Sequence[Token]) -> None:
    """`2:30` where the worth is expected: two hours and a half, or half past two? Asked, never guessed."""
    if clock := CLOCK_LIKE.match(tokens[0].text.strip()):
        raise ArgumentError("duration_clock_like", given=tokens[0].text, hours=int(clock["h"]), minutes=clock["m"])


class RateConverter(Converter):
    """`25€/h`, `25 €/h`, `22,50/h`, `25 € de l'heure`, and after a duration `à 25 €` or `au taux de 25 €`."""

    label = "rate"
    max_tokens = 8

    def convert(self, text: str, ctx: ParseContext) -> Rate | None:
        normalised = _numeric(text)
        found = _RATE.match(normalised) or _RATE_AFTER_A.match(normalised)
        if not found:
            return None
        cents = _cents(found["v"], text)
        if cents <= 0:
            raise ArgumentError("rate_not_positive", given=text)
        return Rate(cents)


class MoneyConverter(Converter):
    """An amount for budget settings: the euro sign is optional, a sign is allowed when `signed`."""

    label = "money"
    max_tokens = 4

    def __init__(self, signed: bool = False) -> None:
        self.signed = signed
        self.label = "delta" if signed else "money"

    def convert(self, text: str, ctx: ParseContext) -> Money | None:
        normalised = _numeric(text)
        found = _BARE.match(normalised) or _FLAT.match(normalised)
        if not found:
            return None
        groups = found.groupdict()
        raw = groups.get("v") or groups.get("v2") or ""
        if not self.signed and raw.startswith("+"):
            raw = raw[1:]
        cents = _cents(raw, text)
        if not self.signed and cents < 0:
            raise ArgumentError("amount_negative", given=text)
        if self.signed and (cents == 0 or raw[0] not in "+-"):
            raise ArgumentError("delta_needs_sign", given=text)
        return Money(cents)


class HourlyRateConverter(Converter):
    """A rate for `/budget taux`: `28`, `28€`, `28 €/h`, `à 28 € de l'heure`."""

    label = "rate"
    max_tokens = 5

    def convert(self, text: str, ctx: ParseContext) -> Rate | None:
        normalised = _numeric(text)
        found = _RATE.match(normalised) or _RATE_AFTER_A.match(normalised) or _BARE.match(normalised)
        if not found:
            return None
        cents = _cents(found["v"], text)
        if cents <= 0:
            raise ArgumentError("rate_not_positive", given=text)
        return Rate(cents)
