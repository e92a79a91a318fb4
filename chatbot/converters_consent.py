"""Converters of the consent commands: `12 ok`, `n°12 objection`, `12 clore`, and decisions `D-3`."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatbot.converters import Converter, ParseContext
from chatbot.errors import ArgumentError
from chatbot.text import fold
from chatbot.tokens import Token


class Verb(enum.StrEnum):
    SHOW = "show"
    CONSENT = "consent"
    CONCERN = "concern"
    OBJECTION = "objection"
    STAND_ASIDE = "stand_aside"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    AMEND = "amend"


VERBS: dict[str, Verb] = {
    "etat": Verb.SHOW, "voir": Verb.SHOW, "show": Verb.SHOW,
    "ok": Verb.CONSENT, "oui": Verb.CONSENT, "consens": Verb.CONSENT, "consentement": Verb.CONSENT,
    "d'accord": Verb.CONSENT, "accord": Verb.CONSENT, "consent": Verb.CONSENT,
    "reserve": Verb.CONCERN, "reserves": Verb.CONCERN, "preoccupation": Verb.CONCERN, "concern": Verb.CONCERN,
    "objection": Verb.OBJECTION, "objecte": Verb.OBJECTION, "object": Verb.OBJECTION,
    "abstention": Verb.STAND_ASIDE, "abstiens": Verb.STAND_ASIDE, "neutre": Verb.STAND_ASIDE,
    "clore": Verb.CLOSE, "cloturer": Verb.CLOSE, "fermer": Verb.CLOSE, "close": Verb.CLOSE,
    "retirer": Verb.WITHDRAW, "retrait": Verb.WITHDRAW, "withdraw": Verb.WITHDRAW,
    "amender": Verb.AMEND, "amende": Verb.AMEND, "amend": Verb.AMEND,
}  # fmt: skip

_NUMBER = re.compile(r"(?:n°|no|n|#)?\s*(\d{1,9})")


@dataclass(frozen=True)
class RoundTarget:
    number: int
    verb: Verb


class RoundTargetConverter(Converter):
    """A round number, then what to do with it (nothing: show its state). Any other word after the number is an
    error rather than the start of a proposal, so that `/consent 12 okk` does not open a round."""

    label = "round_action"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        found = _NUMBER.fullmatch(fold(tokens[0].text).strip())
        if found is None:
            return None
        number = int(found.group(1))
        if len(tokens) == 1:
            return RoundTarget(number, Verb.SHOW), 1
        word = fold(tokens[1].text).strip().rstrip(":")
        if word in ("m'abstiens", "m’abstiens"):
            word = "abstiens"
        verb = VERBS.get(word)
        if verb is None:
            import difflib

            close = difflib.get_close_matches(word, list(VERBS), n=1, cutoff=0.7)
            raise ArgumentError("round_verb_unknown", given=tokens[1].text, number=number, suggestions=close)
        return RoundTarget(number, verb), 2


class DecisionRefConverter(Converter):
    """A decision of the register: `D-12`, `D12`, `d-12`."""

    label = "decision"

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        found = re.fullmatch(r"d-?\s*(\d{1,9})", fold(text).strip())
        return int(found.group(1)) if found else None
