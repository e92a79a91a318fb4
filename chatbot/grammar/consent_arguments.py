"""Converters of the consent commands: `12 ok`, `n°12 objection`, `12 clore`, and decisions `D-3`."""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatbot.errors import DomainError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.tokens import Token
from chatbot.text import fold


class Verb(enum.StrEnum):
    SHOW = "show"
    CONSENT = "consent"
    CONCERN = "concern"
    OBJECTION = "objection"
    STAND_ASIDE = "stand_aside"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    AMEND = "amend"
    WAITING = "waiting"  # the full list of who has not answered, in a direct message
    QUESTION = "question"  # a clarifying question, posted in the round's thread
    REPLY = "reply"  # the answer to a clarifying question: `reponse 1 <texte>`


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
    "question": Verb.QUESTION, "questions": Verb.QUESTION, "clarification": Verb.QUESTION,
    "reponse": Verb.REPLY, "reponds": Verb.REPLY, "repondre": Verb.REPLY, "reply": Verb.REPLY,
    "attente": Verb.WAITING, "attentes": Verb.WAITING, "manquants": Verb.WAITING, "waiting": Verb.WAITING,
}  # fmt: skip

# The first person written in one word: `m'abstiens`, `j'objecte`.
_WITHOUT_PRONOUN = {"m'abstiens": "abstiens", "j'objecte": "objecte", "j'approuve": "ok", "j'accepte": "ok"}
COLONS = (":", "\uff1a")  # the ASCII colon and the full-width one some keyboards type
_NUMBER = re.compile(r"(?:n°|no|n|#)?\s*(\d+)")
_NUMBER_SIGNS = ("n°", "no", "#")
MAX_NUMBER_DIGITS = 9  # rounds and decisions are numbered by the database: more digits name none


def number_or_unknown(digits: str, key: str) -> int:
    """A round or decision number; one too long for any to exist is answered « Aucun … » before reaching the
    database (whose integer columns would overflow)."""
    if len(digits.lstrip("0")) > MAX_NUMBER_DIGITS:
        raise DomainError(key, number=digits)
    return int(digits)


@dataclass(frozen=True)
class RoundTarget:
    number: int
    verb: Verb | None  # None: a word that is no action (`/consent 12 okk`), refused once the round is known
    word: str = ""
    suggestions: tuple[str, ...] = ()


class RoundTargetConverter(Converter):
    """A round number, then what to do with it (nothing: show its state). Any other word after the number is an
    error rather than the start of a proposal, so that `/consent 12 okk` does not open a round."""

    label = "round_action"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        first = fold(tokens[0].text).strip()
        used = 1
        if first in _NUMBER_SIGNS and len(tokens) > 1 and not tokens[1].quoted:  # `n° 12 ok`
            first, used = first + fold(tokens[1].text).strip(), 2
        found = _NUMBER.fullmatch(first)
        if found is None:
            return None
        number = number_or_unknown(found.group(1), "round_unknown")
        if len(tokens) == used:
            return RoundTarget(number, Verb.SHOW), used
        word = fold(tokens[used].text).strip().rstrip(":")
        # `je consens`, `je m'abstiens`, `je suis d'accord`, `j'objecte`: the verb after the pronoun.
        lead = [fold(t.text).strip() for t in tokens[used : used + 2] if not t.quoted]
        pronoun = 2 if lead[:2] == ["je", "suis"] else 1 if lead[:1] == ["je"] else 0
        if pronoun and len(tokens) > used + pronoun and not tokens[used + pronoun].quoted:
            used += pronoun
            word = fold(tokens[used].text).strip().rstrip(":")
        word = _WITHOUT_PRONOUN.get(word.replace("’", "'"), word)
        verb = VERBS.get(word)
        if verb is None:
            close = difflib.get_close_matches(word, list(VERBS), n=1, cutoff=0.7)
            return RoundTarget(number, None, tokens[used].text, tuple(close)), used + 1
        used += 1
        if len(tokens) > used and not tokens[used].quoted and tokens[used].text in COLONS:
            used += 1  # `objection : un seuil…`: the colon introduces the reason, it is no part of it
        return RoundTarget(number, verb), used


class DecisionRefConverter(Converter):
    """A decision of the register: `D-12`, `D12`, `d-12`, or just `12` (`/decision 1` shows D-1)."""

    label = "decision"

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        found = re.fullmatch(r"(?:d-?|n°|#)?\s*(\d+)", fold(text).strip())
        return number_or_unknown(found.group(1), "decision_unknown") if found else None


def answer_text(text: str) -> str:
    """The reason or text after an action, without the colon that may introduce it (`objection :un seuil…`,
    `amender : nouveau texte`)."""
    text = text.strip()
    while text[:1] in COLONS:
        text = text[1:].lstrip()
    return text


def is_position_word(word: str) -> bool:
    """`ok`, `objection`, `clore`…: a word that answers or acts on a round rather than proposes."""
    folded = fold(word).strip().rstrip(":.!")
    return folded in VERBS or folded in ("m'abstiens", "m’abstiens")
