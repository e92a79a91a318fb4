"""The words of `/vote`: opening a ballot (`"Approuver les comptes 2026" jusqu'au 30/06 18h quorum 50% secret`) and
acting on one (`3 pour`, `3 clore`). Pure: no database, no catalogue, "today" passed in.

A ballot's options are always « pour », « contre », « abstention »: typing them after the question is allowed
(`pour|contre|abstention`) and changes nothing; other options (`"option A" | "option B"`) are refused with what is
expected, rather than half-supported.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chatbot.errors import ArgumentError, DomainError, UsageError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.consent_arguments import number_or_unknown
from chatbot.grammar.deadlines import DeadlineSpec, parse_proposal
from chatbot.grammar.tokens import Token, tokenize
from chatbot.text import fold


class Choice(enum.StrEnum):
    FOR = "pour"
    AGAINST = "contre"
    ABSTAIN = "abstention"


CHOICES = tuple(Choice)


class Verb(enum.StrEnum):
    SHOW = "show"
    VOTE = "vote"
    CLOSE = "close"


VERBS: dict[str, tuple[Verb, Choice | None]] = {
    "pour": (Verb.VOTE, Choice.FOR), "oui": (Verb.VOTE, Choice.FOR), "for": (Verb.VOTE, Choice.FOR),
    "contre": (Verb.VOTE, Choice.AGAINST), "non": (Verb.VOTE, Choice.AGAINST), "against": (Verb.VOTE, Choice.AGAINST),
    "abstention": (Verb.VOTE, Choice.ABSTAIN), "abstiens": (Verb.VOTE, Choice.ABSTAIN),
    "m'abstiens": (Verb.VOTE, Choice.ABSTAIN), "blanc": (Verb.VOTE, Choice.ABSTAIN),
    "abstain": (Verb.VOTE, Choice.ABSTAIN),
    "voir": (Verb.SHOW, None), "etat": (Verb.SHOW, None), "show": (Verb.SHOW, None),
    "clore": (Verb.CLOSE, None), "cloturer": (Verb.CLOSE, None), "fermer": (Verb.CLOSE, None),
    "close": (Verb.CLOSE, None),
}  # fmt: skip

_NUMBER = re.compile(r"(?:n°|no|n|#)?\s*(\d+)")
_NUMBER_SIGNS = ("n°", "no", "#")
SECRET_WORDS = {"secret", "secrete", "anonyme", "a-bulletin-secret"}
ELECTORATE_WORDS = {"associes": "associes", "associe": "associes", "associes.": "associes", "salon": "room"}
MAJORITY_WORDS = {"exprimes": "exprimes", "exprimees": "exprimes", "associes": "associes"}
_QUORUM = re.compile(r"^quorum\s*(?:de\s*)?:?\s*(\d{1,3})\s*%$")
_OPTION_SEPARATORS = re.compile(r"\s*[|/]\s*")


@dataclass(frozen=True)
class BallotSpec:
    question: str
    deadline: DeadlineSpec
    deadline_words: str
    secret: bool = False
    electorate: str | None = None  # "room" or "associes"; None: the configured default
    majority: str | None = None  # "exprimes" or "associes"; None: the configured default
    quorum_percent: int | None = None  # None: the configured default


@dataclass(frozen=True)
class BallotTarget:
    number: int
    verb: Verb | None  # None: a word that is no action (`/vote 3 pourr`), refused once the ballot is known
    choice: Choice | None = None
    word: str = ""
    suggestions: tuple[str, ...] = ()


class BallotTargetConverter(Converter):
    """A ballot number, then what to do with it (nothing: show it). Any other word after the number is an error
    rather than the start of a question, so that `/vote 3 pourr` opens nothing."""

    label = "ballot_action"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        first = fold(tokens[0].text).strip()
        used = 1
        if first in _NUMBER_SIGNS and len(tokens) > 1 and not tokens[1].quoted:  # `n° 3 pour`
            first, used = first + fold(tokens[1].text).strip(), 2
        found = _NUMBER.fullmatch(first)
        if found is None:
            return None
        number = number_or_unknown(found.group(1), "vote_unknown")
        if len(tokens) == used:
            return BallotTarget(number, Verb.SHOW), used
        lead = [fold(t.text).strip() for t in tokens[used : used + 2] if not t.quoted]
        if lead[:1] == ["je"] and len(tokens) > used + 1 and not tokens[used + 1].quoted:
            used += 1  # `je vote pour`, `je m'abstiens`
            if fold(tokens[used].text) == "vote" and len(tokens) > used + 1:
                used += 1
        word = fold(tokens[used].text).strip().rstrip(":.!").replace("’", "'")
        if word == "vote" and len(tokens) > used + 1:  # `3 vote pour`
            used += 1
            word = fold(tokens[used].text).strip().rstrip(":.!")
        known = VERBS.get(word)
        if known is None or tokens[used].quoted:
            close = difflib.get_close_matches(word, list(VERBS), n=1, cutoff=0.7)
            return BallotTarget(number, None, None, tokens[used].text, tuple(close)), used + 1
        return BallotTarget(number, known[0], known[1]), used + 1


def parse_ballot(source: str, today: date) -> BallotSpec:
    """The question, its deadline (required: a statutory vote says when it closes) and its options, read from the
    end of the line in any order: `secret`, `associés` or `salon`, `quorum 50%`, `majorité exprimés|associés`,
    `pour|contre|abstention`. Raises UsageError or ArgumentError with what is expected.

    Never guess: the options are read after the deadline, or between the deadline and a question in quotes; an
    unquoted question keeps its last words (`Rémunérer les associés 48h` is not a ballot of the associés)."""
    flags: dict[str, Any] = {}
    text = source.strip()
    text = _strip_flags(text, flags)
    try:
        proposal = parse_proposal(text, today)
    except UsageError as error:
        if error.key == "proposal_missing":
            raise UsageError("vote_question_missing") from None
        raise
    if proposal.review is not None or proposal.clarification is not None:
        raise ArgumentError("vote_no_review", given=proposal.review_words or proposal.clarification_words)
    question = _question(proposal.text, flags)
    if _looks_like_an_answer(question):
        raise DomainError("vote_answer_like", given=question)
    if proposal.deadline is None:
        leading = tokenize(question)
        if len(leading) > 1 and leading[0].quoted:  # `« Q » 48h à bulletin secret`: a deadline is there, unread
            raise ArgumentError("vote_words_not_understood", given=question[leading[0].end :].strip())
        raise UsageError("vote_deadline_missing")
    tokens = tokenize(question)
    if len(tokens) == 1 and tokens[0].quoted:
        question = tokens[0].text
    if not question:
        raise UsageError("vote_question_missing")
    return BallotSpec(
        question,
        proposal.deadline,
        proposal.deadline_words,
        secret=flags.get("secret", False),
        electorate=flags.get("electorate"),
        majority=flags.get("majority"),
        quorum_percent=flags.get("quorum"),
    )


def _question(text: str, flags: dict[str, Any]) -> str:
    """What is left before the deadline: the question, then `pour|contre|abstention` and, after a quoted question,
    the other options."""
    if tokenize(text)[:1] and tokenize(text)[0].quoted:
        trial = dict(flags)
        rest = _strip_flags(text, trial, final=True).strip()
        tokens = tokenize(rest)
        if len(tokens) == 1 and tokens[0].quoted:
            flags.update(trial)
            return rest
    return _strip_flags(text, flags, final=True, options_only=True).strip()


def _strip_flags(text: str, flags: dict[str, Any], *, final: bool = False, options_only: bool = False) -> str:
    """Take the options of a ballot off the end of `text`, as long as there are some. `final`: what is left is the
    question, where unread custom options (`"A" | "B"`) are refused rather than kept as words."""
    while True:
        tokens = tokenize(text)
        if not tokens or tokens[-1].quoted:
            return _without_custom_options(text, tokens, final)
        last = fold(tokens[-1].text).strip().rstrip(".,;")
        before = fold(tokens[-2].text).strip() if len(tokens) > 1 and not tokens[-2].quoted else ""
        two = f"{before} {last}"
        cut: int | None = None
        if options_only:
            cut = _options_size(tokens) or None
        elif last in SECRET_WORDS:
            _once(flags, "secret", True, tokens[-1].text)
            cut = 1
        elif before in ("majorite", "majorite:") and last in MAJORITY_WORDS:
            _once(flags, "majority", MAJORITY_WORDS[last], two)
            cut = 2
        elif before == "des" and last in MAJORITY_WORDS and len(tokens) > 2 and fold(tokens[-3].text) == "majorite":
            _once(flags, "majority", MAJORITY_WORDS[last], f"majorite {two}")
            cut = 3
        elif before in ("majorite", "majorite:"):
            raise ArgumentError("vote_majority_unknown", given=tokens[-1].text)
        elif last in ELECTORATE_WORDS:
            _once(flags, "electorate", ELECTORATE_WORDS[last], tokens[-1].text)
            cut = 1
        elif (found := _quorum(tokens)) is not None:
            percent, cut = found
            if not 1 <= percent <= 100:
                raise ArgumentError("vote_quorum_invalid", given=" ".join(t.text for t in tokens[-cut:]))
            _once(flags, "quorum", percent, "quorum")
        elif last == "quorum" or before == "quorum":
            raise ArgumentError("vote_quorum_invalid", given=" ".join(t.text for t in tokens[-2:]))
        elif _is_options(tokens):
            cut = _options_size(tokens)
        if cut is None:
            return _without_custom_options(text, tokens, final)
        # `jusqu'au 15/12 18h, secret, quorum 50%`: the commas between options are no part of the deadline
        text = text[: tokens[-cut].start].rstrip().rstrip(",;").rstrip() if cut < len(tokens) else ""


def _without_custom_options(text: str, tokens: list[Token], final: bool) -> str:
    if final and any("|" in t.text and not t.quoted for t in tokens):
        raise ArgumentError("vote_custom_options", given=text)
    return text


def _once(flags: dict[str, Any], key: str, value: Any, given: str) -> None:
    if key in flags and flags[key] != value:
        raise ArgumentError("vote_option_twice", given=given)
    flags[key] = value


def _quorum(tokens: list[Token]) -> tuple[int, int] | None:
    """`quorum 50%`, `quorum 50 %`, `quorum de 50%`: the percentage and how many words it took."""
    for size in (2, 3, 4):
        if len(tokens) < size or any(t.quoted for t in tokens[-size:]):
            continue
        words = " ".join(fold(t.text) for t in tokens[-size:])
        found = _QUORUM.fullmatch(words)
        if found is not None:
            return int(found.group(1)), size
    return None


def _options_size(tokens: list[Token]) -> int:
    """How many words at the end spell the default options (`pour|contre|abstention`, `pour / contre / abstention`)."""
    for size in range(min(5, len(tokens)), 0, -1):
        if any(t.quoted for t in tokens[-size:]):
            continue
        words = _OPTION_SEPARATORS.split(fold(" ".join(t.text for t in tokens[-size:])).strip())
        if words == ["pour", "contre", "abstention"] or words == ["pour", "contre"]:
            return size
    return 0


def _is_options(tokens: list[Token]) -> bool:
    return _options_size(tokens) > 0


def _looks_like_an_answer(question: str) -> bool:
    """`/vote pour`, `/vote abc contre`: an answer with a missing or mistyped number, not a question."""
    words = tokenize(question)
    return 1 <= len(words) <= 2 and not words[-1].quoted and fold(words[-1].text).strip(":.!") in VERBS
