"""Converters and readers of `/election`: `2 nommer`, `reveler`, `ouvrir "Co-gérance" mandat 2 ans nominations
jusqu'au vendredi 18h`, and the nominee `@camille` with the reason after it. Pure: the clock's `today` is passed in.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chatbot.errors import ArgumentError, UsageError, UserError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.consent_arguments import number_or_unknown
from chatbot.grammar.deadlines import DeadlineSpec, parse_proposal
from chatbot.grammar.suspects import find_suspects
from chatbot.grammar.tokens import Token, rest_of_line, tokenize
from chatbot.text import fold

MAX_ROLE = 200
MAX_TERM_MONTHS = 120  # ten years


class ElectionVerb(enum.StrEnum):
    SHOW = "show"
    NOMINATE = "nominate"
    REVEAL = "reveal"
    CHANGE = "change"
    PROPOSE = "propose"
    CANCEL = "cancel"


VERBS: dict[str, ElectionVerb] = {
    "voir": ElectionVerb.SHOW, "etat": ElectionVerb.SHOW, "show": ElectionVerb.SHOW,
    "nommer": ElectionVerb.NOMINATE, "nomme": ElectionVerb.NOMINATE, "nomination": ElectionVerb.NOMINATE,
    "nominate": ElectionVerb.NOMINATE,
    "reveler": ElectionVerb.REVEAL, "revele": ElectionVerb.REVEAL, "devoiler": ElectionVerb.REVEAL,
    "reveal": ElectionVerb.REVEAL,
    "changer": ElectionVerb.CHANGE, "change": ElectionVerb.CHANGE,
    "proposer": ElectionVerb.PROPOSE, "propose": ElectionVerb.PROPOSE,
    "annuler": ElectionVerb.CANCEL, "cancel": ElectionVerb.CANCEL,
}  # fmt: skip
_NUMBER = re.compile(r"(?:n°|no|n|#)?\s*(\d+)")
_NUMBER_SIGNS = ("n°", "no", "#")


@dataclass(frozen=True)
class ElectionTarget:
    number: int | None  # None: the only election it can be (`/election nommer @camille …` with one election open)
    verb: ElectionVerb | None  # None: a word after the number that is no action, refused with suggestions
    word: str = ""
    suggestions: tuple[str, ...] = ()


class ElectionTargetConverter(Converter):
    """`2`, `n°2 nommer`, `nommer` (no number): an election and what to do with it (nothing: show it)."""

    label = "election_action"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        first = fold(tokens[0].text).strip()
        verb = VERBS.get(first)
        if verb is not None:
            return ElectionTarget(None, verb), 1
        used = 1
        if first in _NUMBER_SIGNS and len(tokens) > 1 and not tokens[1].quoted:  # `n° 2 nommer`
            first, used = first + fold(tokens[1].text).strip(), 2
        found = _NUMBER.fullmatch(first)
        if found is None:
            return None
        number = number_or_unknown(found.group(1), "election_unknown")
        if len(tokens) == used:
            return ElectionTarget(number, ElectionVerb.SHOW), used
        word = fold(tokens[used].text).strip().rstrip(":")
        verb = VERBS.get(word)
        if verb is None:
            close = difflib.get_close_matches(word, list(VERBS), n=1, cutoff=0.7)
            return ElectionTarget(number, None, tokens[used].text, tuple(close)), used + 1
        return ElectionTarget(number, verb), used + 1


@dataclass(frozen=True)
class Nomination:
    """`@camille parce qu'elle connaît les comptes`: the account as written (nothing folded) and the reason."""

    username: str
    reason: str


def parse_nomination(text: str, *, reason_required: bool) -> Nomination:
    """The nominee (an `@account`) first, then the reason. Raises UsageError when either is missing."""
    tokens = tokenize(text)
    # `@camille, elle sait`, `@camille: elle sait`: the punctuation after the account is no part of it
    account = tokens[0].text.rstrip(",;:\uff1a") if tokens else ""
    if not tokens or tokens[0].quoted or not account.startswith("@") or len(account) < 2:
        key = "election_nominee_missing" if reason_required else "election_proposed_missing"
        raise UsageError(key, given=tokens[0].text if tokens else None)
    reason = rest_of_line(text, tokens[1:]).strip()
    while reason[:1] in (":", "\uff1a", ",", "—", "-"):
        reason = reason[1:].lstrip()
    if reason_required and not reason:
        raise UsageError("election_reason_missing", nominee=account)
    return Nomination(account[1:], reason)


@dataclass(frozen=True)
class Opening:
    role: str
    term_months: int
    term_words: str
    until: DeadlineSpec | None
    until_words: str


TERM_WORDS = {"mandat", "duree", "pour"}
_TERM = re.compile(r"^(?:de\s+)?(\d{1,9})\s*(ans?|annees?|mois)$")
NOMINATION_WORDS = {"nominations", "nomination"}


def parse_opening(source: str, today: date) -> Opening:
    """`"Co-gérance" mandat 2 ans [nominations jusqu'au vendredi 18h]`: the role (quoted, or the words before the
    term), the term (years or months, required: never guessed) and an optional end of the nominations."""
    tokens = tokenize(source)
    if not tokens:
        raise UsageError("election_role_missing")
    if tokens[0].quoted:
        role, position = tokens[0].text.strip(), 1
    else:
        position = next((i for i in range(len(tokens)) if _starts_term(tokens, i)), len(tokens))
        role = rest_of_line(source, tokens[:position]).strip()
        suspects = find_suspects(role)
        if suspects:
            raise ArgumentError("election_role_suspect", given=suspects[0].text, role=role)
    if not role:
        raise UsageError("election_role_missing")
    if len(role) > MAX_ROLE:
        raise ArgumentError("election_role_too_long", limit=MAX_ROLE)
    if position >= len(tokens) or fold(tokens[position].text) not in TERM_WORDS or tokens[position].quoted:
        given = rest_of_line(source, tokens[position:]) or None
        raise UsageError("election_term_missing", given=given)
    term_months, used = _term(tokens[position + 1 :])
    term_words = rest_of_line(source, tokens[position : position + 1 + used])
    position += 1 + used
    if position == len(tokens):
        return Opening(role, term_months, term_words, None, "")
    if fold(tokens[position].text) not in NOMINATION_WORDS or tokens[position].quoted:
        raise UsageError("unexpected_words", given=rest_of_line(source, tokens[position:]))
    words = rest_of_line(source, tokens[position + 1 :])
    return Opening(role, term_months, term_words, _until(words, today), words)


def _starts_term(tokens: Sequence[Token], index: int) -> bool:
    """`mandat`, `pour` or `durée` followed by a number (`pour le cercle` stays in the role's name)."""
    if tokens[index].quoted or fold(tokens[index].text) not in TERM_WORDS:
        return False
    following = [fold(t.text) for t in tokens[index + 1 : index + 3] if not t.quoted]
    if following[:1] == ["de"]:
        following = following[1:]
    return bool(following) and following[0][:1].isdigit()


def _term(tokens: Sequence[Token]) -> tuple[int, int]:
    """`2 ans`, `de 18 mois`, `1 an`, `2ans`: months, and how many words it took."""
    for size in (3, 2, 1):
        window = tokens[:size]
        if len(window) < size or any(t.quoted for t in window):
            continue
        words = " ".join(fold(t.text) for t in window)
        found = _TERM.fullmatch(words)
        if found is None:
            continue
        count = int(found.group(1)) if len(found.group(1).lstrip("0")) <= 4 else MAX_TERM_MONTHS * 100
        months = count if found.group(2) == "mois" else count * 12
        if not 1 <= months <= MAX_TERM_MONTHS:
            raise ArgumentError("election_term_invalid", given=" ".join(t.text for t in window))
        return months, size
    given = " ".join(t.text for t in tokens[:2]) or None
    raise UsageError("election_term_missing", given=given)


def _until(words: str, today: date) -> DeadlineSpec:
    """The end of the nominations: a deadline as `/consent` reads one (`jusqu'au vendredi 18h`, `72h`)."""
    if not words:
        raise ArgumentError("election_until_invalid", given="nominations")
    try:
        read = parse_proposal("nominations " + words, today)
    except UserError as error:
        raise ArgumentError("election_until_invalid", given=words) from error
    if read.deadline is None or read.review is not None or read.clarification is not None:
        raise ArgumentError("election_until_invalid", given=words)
    if fold(read.text).strip() != "nominations":
        raise ArgumentError("election_until_invalid", given=words)
    return read.deadline


def verb_words() -> list[str]:
    return sorted(VERBS)
