"""What every argument reader shares: the context it reads in (today, the names of envelopes and circles) and
the converter protocol.

A converter returns None when the words are not its kind (so the parser can try another argument, or start the
free text), and raises ArgumentError when they are its kind but wrong (`0h`, `31/02`), so the member learns why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.tokens import Token
from chatbot.text import slug


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


class FreeText(Converter):
    """The rest of the line, as the member wrote it; `label` says what it is for (description, reason…).

    `guarded`: the command also reads dates, times, durations or amounts, so a fragment of the text that looks like
    one and was not read is questioned rather than stored (see chatbot.grammar.suspects). `reads`: what the handler
    reads at the end of the text itself (a proposal's `deadline` and `review`), so that `/aide` shows how to write
    them."""

    def __init__(self, label: str = "text", *, guarded: bool = False, reads: tuple[str, ...] = ()) -> None:
        self.label = label
        self.guarded = guarded
        self.reads = reads
