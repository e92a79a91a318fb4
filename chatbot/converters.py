"""Typed argument converters: each recognises its own shape of words and turns them into a value.

A converter returns None when the words are not its kind (so the parser can try another argument, or start the
free text), and raises ArgumentError when they are its kind but wrong (`0h`, `31/02`), so the member learns why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.french_dates import MONTHS
from chatbot.money import euros_to_cents, parse_euros
from chatbot.text import fold, slug
from chatbot.tokens import Token
from chatbot.values import Duration, EnvelopeRef, FlatAmount, MemberRef, Money, Rate


@dataclass
class ParseContext:
    """What converters may know besides the words: today's date and the names of envelopes."""

    today: date
    directory: EnvelopeDirectory = field(default_factory=lambda: EnvelopeDirectory({}))
    # The current instant (meeting times are relative to it) and the names of circles (slug, name, aliases).
    now: datetime | None = None
    circles: EnvelopeDirectory = field(default_factory=lambda: EnvelopeDirectory({}))


class EnvelopeDirectory:
    """Every name a member may use for an envelope (slug, circle name, alias, channel) → the envelope's slug."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def lookup(self, text: str) -> str | None:
        key = slug(text)
        if key in self.names:
            return self.names[key]
        for prefix in ("cercle-", "cercle-du-", "cercle-de-"):
            if key.startswith(prefix) and key[len(prefix) :] in self.names:
                return self.names[key[len(prefix) :]]
        return None

    def suggestions(self, text: str, limit: int = 3) -> list[str]:
        import difflib

        key = slug(text)
        if key.startswith("cercle-"):
            key = key[len("cercle-") :]
        close = difflib.get_close_matches(key, list(self.names), n=limit * 3, cutoff=0.75)
        seen: list[str] = []
        for name in close:
            target = self.names[name]
            if target not in seen:
                seen.append(target)
        return seen[:limit]

    @property
    def slugs(self) -> list[str]:
        return sorted(set(self.names.values()))


class Converter:
    """Base class. `label` names the argument in usage lines (catalogue key `labels.<label>`)."""

    label = "value"
    max_tokens = 1

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        """Try the longest window of words first, so `le 12 mars 2026` wins over `le 12 mars`."""
        for size in range(min(self.max_tokens, len(tokens)), 0, -1):
            window = tokens[:size]
            if any(t.quoted for t in window):
                continue
            value = self.convert(" ".join(t.text for t in window), ctx)
            if value is not None:
                return value, size
        return None

    def convert(self, text: str, ctx: ParseContext) -> Any | None:
        raise NotImplementedError

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        """When a word matched no argument, what this converter would tell the member it may have meant."""
        return None


MAX_DIGITS = 9  # no count, number of days or item number a member types has more; bigger ones are refused unread


def digits_fit(digits: str, most: int = MAX_DIGITS) -> bool:
    """Whether a number typed by a member (`12`, `-300.50`) has at most `most` digits before its decimal point:
    checked before `int()` (which refuses 4,300 digits) or Decimal arithmetic (which fails beyond 28)."""
    whole = digits.lstrip("+-").partition(".")[0]
    return len(whole.lstrip("0")) <= most


def _numeric(text: str) -> str:
    """Fold and normalise what people type around numbers: `1,5`, `−3`, non-breaking spaces."""
    return fold(text).replace(",", ".").replace("−", "-").replace("\u202f", " ").replace("\xa0", " ").strip()


_DURATION = re.compile(
    r"^(?:(?P<h>[+-]?\d+(?:\.\d+)?)\s*(?:h|hr|hrs|heures?)(?:\s*(?P<m>\d+)\s*(?:min|mn|m)?)?"
    r"|(?P<mins>[+-]?\d+(?:\.\d+)?)\s*(?:min|mn|minutes?))$"
)


MAX_DURATION_DIGITS = 7  # ten million hours or minutes: far above any limit, which then gets its own answer


class DurationConverter(Converter):
    label = "duration"
    max_tokens = 3

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
        found = _DURATION.match(_numeric(text))
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
_RATE = re.compile(rf"^{_AMOUNT}\s*{_EURO}?\s*/\s*(?:h|heure)$")
_BARE = re.compile(rf"^{_AMOUNT}\s*{_EURO}?$")


MAX_CENTS = 10**10  # 100 million euros: far above any envelope, far below what the database column holds


def _cents(raw: str, text: str) -> int:
    if not digits_fit(raw.replace(" ", ""), len(str(MAX_CENTS // 100))):
        raise ArgumentError("amount_too_large", given=text)
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
    """`250€`, `250,50 €`, `€250`: a positive amount with its currency sign."""

    label = "amount"
    max_tokens = 4

    def convert(self, text: str, ctx: ParseContext) -> FlatAmount | None:
        found = _FLAT.match(_numeric(text))
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
        return None


class RateConverter(Converter):
    """`25€/h`, `25 €/h`, `22,50/h`."""

    label = "rate"
    max_tokens = 3

    def convert(self, text: str, ctx: ParseContext) -> Rate | None:
        found = _RATE.match(_numeric(text))
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
    """A rate for `/budget taux`: `28`, `28€`, `28 €/h`."""

    label = "rate"
    max_tokens = 3

    def convert(self, text: str, ctx: ParseContext) -> Rate | None:
        normalised = _numeric(text)
        found = _RATE.match(normalised) or _BARE.match(normalised)
        if not found:
            return None
        cents = _cents(found["v"], text)
        if cents <= 0:
            raise ArgumentError("rate_not_positive", given=text)
        return Rate(cents)


class YearConverter(Converter):
    """A budget year, 2000–2099. Other bare numbers are refused, so a typo (`20277`) never slips into a reason."""

    label = "year"

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        word = text.strip()
        if re.fullmatch(r"20\d\d", word):
            return int(word)
        if re.fullmatch(r"\d{1,9}", word):
            raise ArgumentError("year_invalid", given=text)
        return None


class NumberConverter(Converter):
    """A declaration or item number: `12`, `n°12`, `#12`."""

    label = "number"

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        found = re.fullmatch(r"(?:n°|no|n|#)?\s*(\d{1,9})", fold(text).strip())
        return int(found.group(1)) if found else None


class EnvelopeConverter(Converter):
    """An envelope by slug, circle name, alias or channel: `tech`, `#cercle-tech`, `Vie coopérative`."""

    label = "envelope"
    max_tokens = 4

    def convert(self, text: str, ctx: ParseContext) -> EnvelopeRef | None:
        target = ctx.directory.lookup(text)
        if target is not None:
            return EnvelopeRef(target)
        key = slug(text)
        if " " not in text.strip() and (text.strip().startswith("#") or key.startswith("cercle-")):
            raise self._unknown(text, ctx)
        return None

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        return self._unknown(word, ctx) if ctx.directory.suggestions(word) else None

    @staticmethod
    def _unknown(text: str, ctx: ParseContext) -> ArgumentError:
        return ArgumentError(
            "envelope_unknown", given=text, suggestions=ctx.directory.suggestions(text), known=ctx.directory.slugs
        )


class MemberConverter(Converter):
    label = "member"

    def convert(self, text: str, ctx: ParseContext) -> MemberRef | None:
        word = fold(text).strip()
        if word in ("moi", "me", "mes"):
            return MemberRef(None)
        if word.startswith("@") and len(word) > 1:
            # The account as written: usernames differ by `_`, `-` or accents (camille_ is not camille), so
            # nothing is folded; the lookup ignores the case of the letters, as Rocket.Chat does.
            return MemberRef(text.strip()[1:])
        return None

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        if re.fullmatch(r"[\w.-]+", word) and not word.isdigit():
            return ArgumentError("member_or_envelope", given=word, known=ctx.directory.slugs)
        return None


class FreeText(Converter):
    """The rest of the line, as the member wrote it; `label` says what it is for (description, reason…)."""

    def __init__(self, label: str = "text") -> None:
        self.label = label


class NewSlugConverter(Converter):
    """A short name for a new envelope: one word of letters, digits and hyphens (`inter-cae`)."""

    label = "slug"

    def convert(self, text: str, ctx: ParseContext) -> str | None:
        candidate = slug(text)
        if re.fullmatch(r"[a-z][a-z0-9-]{0,39}", candidate):
            return candidate
        return None


class NameConverter(Converter):
    """A display name: a quoted group (`"Inter-CAE"`, « Vie coopérative ») or one word that is not a number."""

    label = "name"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens:
            return None
        first = tokens[0]
        if first.quoted:
            return (first.text, 1) if first.text else None
        if re.fullmatch(r"[+-]?[\d.,]+\s*(?:€|e|eur|euros?)?", fold(first.text)):
            return None
        return first.text, 1


class CommandNameConverter(Converter):
    """A command name for `/aide`, with or without its `/`."""

    label = "command"

    def convert(self, text: str, ctx: ParseContext) -> str | None:
        word = fold(text).lstrip("/!")
        return word or None
