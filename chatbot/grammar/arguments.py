"""Arguments that name things rather than times or money: envelopes, members, numbers, years, names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.dates import looks_like_a_period
from chatbot.grammar.lexicon import apostrophes
from chatbot.grammar.tokens import Token
from chatbot.text import fold, slug
from chatbot.values import EnvelopeRef, MemberRef

_RELATIVE_YEARS = {
    "cette annee": 0, "l'annee en cours": 0,
    "l'an dernier": -1, "l'annee derniere": -1, "l'an passe": -1, "l'annee passee": -1,
    "l'an prochain": 1, "l'annee prochaine": 1,
}  # fmt: skip


class YearConverter(Converter):
    """A budget year, 2000–2099, or `cette année`, `l'an dernier`, `l'an prochain`. Other bare numbers are
    refused, so a typo (`20277`) never slips into a reason."""

    label = "year"
    max_tokens = 3

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        word = text.strip()
        if re.fullmatch(r"20\d\d", word):
            return int(word)
        relative = _RELATIVE_YEARS.get(" ".join(apostrophes(fold(word)).split()))
        if relative is not None:
            return ctx.today.year + relative
        if re.fullmatch(r"\d{1,9}", word):
            raise ArgumentError("year_invalid", given=text)
        return None


class NumberConverter(Converter):
    """A declaration or item number: `12`, `n°12`, `#12`."""

    label = "number"

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        found = re.fullmatch(r"(?:n°|no|n|#)?\s*(\d{1,9})", fold(text).strip())
        return int(found.group(1)) if found else None


# The small words before an envelope's name belong to it: `pour le cercle tech`, `pour l'enveloppe formation`,
# `pour la formation`, `sur tech`, `le cercle tech`.
_CONNECTOR = re.compile(r"^(?:(?:pour|sur|au|du|dans)\s+)?(?:(?:le|la)\s+|l')?(?:(?:cercle|enveloppe)(?:\s+|$))?")


class EnvelopeConverter(Converter):
    """An envelope by slug, circle name, alias or channel: `tech`, `#cercle-tech`, `Vie coopérative`, also after
    a connector: `pour le cercle tech`, `pour l'enveloppe formation`, `pour la formation`."""

    label = "envelope"
    max_tokens = 7

    def convert(self, text: str, ctx: ParseContext) -> EnvelopeRef | None:
        target = ctx.directory.lookup(text)
        if target is not None:
            return EnvelopeRef(target)
        name = _without_connector(text)
        if name != text.strip() and name:
            target = ctx.directory.lookup(name)
            if target is not None:
                return EnvelopeRef(target)
        key = slug(name)
        if name and " " not in name and (name.startswith("#") or key.startswith("cercle-")):
            raise self._unknown(name, ctx)
        if name and " " not in name and _names_a_circle(text) and ctx.directory.suggestions(name):
            raise self._unknown(name, ctx)  # `pour le cercle tehc`: the word after `cercle` is meant as a name
        return None

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        return self._unknown(word, ctx) if ctx.directory.suggestions(word) else None

    @staticmethod
    def _unknown(text: str, ctx: ParseContext) -> ArgumentError:
        return ArgumentError(
            "envelope_unknown", given=text, suggestions=ctx.directory.suggestions(text), known=ctx.directory.slugs
        )


def _without_connector(text: str) -> str:
    """The envelope name once the connector before it is dropped, as typed (`pour le cercle Tech` → `Tech`)."""
    stripped = text.strip()
    found = _CONNECTOR.match(apostrophes(fold(stripped)))
    return stripped[found.end() :].strip() if found else stripped


def _names_a_circle(text: str) -> bool:
    """Whether the connector ends with `cercle` or `enveloppe`, so the next word is meant as an envelope's name."""
    found = _CONNECTOR.match(apostrophes(fold(text.strip())))
    return found is not None and found.group(0).rstrip().endswith(("cercle", "enveloppe"))


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
        """`camille` may be a member's name (`@camille`); a month or period word (`novembr`) is not."""
        if re.fullmatch(r"[\w.-]+", word) and not word.isdigit() and not looks_like_a_period(word):
            return ArgumentError("member_or_envelope", given=word, known=ctx.directory.slugs)
        return None


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
