"""Converters of `/cobudget`: amounts in euros (`200`, `200 €`, `200,50`), a project's minimum (`min 800`), and a
round's two phases (`propositions jusqu'au 15/03 vote jusqu'au 31/03`).

A phase's date is a day, included: `jusqu'au 15/03` means until the end of 15 March (Europe/Paris). A date
without its year is the next such day from today on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import MoneyConverter
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.lexicon import MONTHS, apostrophes
from chatbot.grammar.tokens import Token
from chatbot.text import fold

MAX_ROUND_DAYS = 366  # a round's phases end within a year: a date further away is a typo


@dataclass(frozen=True)
class Phases:
    """The last day of submissions and the last day of the vote, both included."""

    submit_until: date
    vote_until: date


class CobudgetAmountConverter(Converter):
    """A positive amount in euros, the euro sign optional: `200`, `200 €`, `200,50`, `1 500`."""

    label = "cobudget_amount"
    max_tokens = 4

    def __init__(self) -> None:
        self._money = MoneyConverter()

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        try:
            found = self._money.convert(text, ctx)
        except ArgumentError as error:
            if error.key == "amount_negative":
                raise ArgumentError("cobudget_amount_not_positive", given=text) from error
            raise
        if found is None:
            return None
        if found.cents <= 0:
            raise ArgumentError("cobudget_amount_not_positive", given=text)
        return found.cents


_MIN_WORDS = ("min", "min.", "minimum", "mini")


class MinimumConverter(Converter):
    """A project's minimum: `min 800`, `minimum 800 €`, `min 1 200,50`."""

    label = "cobudget_minimum"

    def __init__(self) -> None:
        self._amount = CobudgetAmountConverter()

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        word = fold(tokens[0].text).strip()
        if word.endswith(":"):
            word = word[:-1]
        if word not in _MIN_WORDS:
            return None
        found = self._amount.match(tokens[1:], ctx)
        if found is None:
            raise ArgumentError("cobudget_minimum_invalid", given=" ".join(t.text for t in tokens[:2]))
        return found[0], found[1] + 1


_LEADS = ("propositions", "proposition", "projets", "projet", "depot", "depots")
_UNTIL = r"(?:jusqu'(?:au|a|a la date du)|au|le|avant le)"
_INCLUDED = r"(?:\s+inclus)?"  # `jusqu'au 15/03 inclus`: what the phase means anyway
_BETWEEN = r"(?:\s*[,;]\s*|\s+)(?:(?:et|puis)\s+)?"  # `15/03, vote`, `15/03 et vote`, `15/03 puis vote`
_PHASES = re.compile(
    rf"^(?:{'|'.join(_LEADS)})\s+{_UNTIL}\s+(?P<d1>.+?){_INCLUDED}{_BETWEEN}"
    rf"(?:vote|votes|financement)\s+{_UNTIL}\s+(?P<d2>.+?){_INCLUDED}$"
)
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?$")
_WORDY = re.compile(r"^(1er|\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?$")


class PhasesConverter(Converter):
    """The rest of `/cobudget ouvrir`: `propositions jusqu'au 15/03 vote jusqu'au 31/03` (also `15 mars`,
    `15/03/2027`). Submissions end with the first day, the vote with the second, after the first."""

    label = "cobudget_phases"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted or fold(tokens[0].text).strip() not in _LEADS:
            return None
        text = " ".join(t.text for t in tokens)
        found = _PHASES.match(" ".join(apostrophes(fold(text)).split()))
        if found is None:
            raise ArgumentError("cobudget_phases_invalid", given=text)
        first = _day(found["d1"], ctx.today)
        second = _day(found["d2"], ctx.today)
        if first < ctx.today:
            raise ArgumentError("cobudget_phase_past", given=found["d1"])
        if second <= first:
            raise ArgumentError("cobudget_phases_order", given=text)
        if (second - ctx.today).days > MAX_ROUND_DAYS:
            raise ArgumentError("cobudget_phase_too_far", given=found["d2"])
        return Phases(first, second), len(tokens)


def _day(words: str, today: date) -> date:
    """`15/03`, `15/03/2027`, `15 mars`, `1er avril 2027`: a day; without its year, the next one from today."""
    day = month = year = None
    if numeric := _NUMERIC.match(words):
        day, month = int(numeric[1]), int(numeric[2])
        year = int(numeric[3]) if numeric[3] else None
    elif (wordy := _WORDY.match(words)) and wordy[2] in MONTHS:
        day = 1 if wordy[1] == "1er" else int(wordy[1])
        month = MONTHS[wordy[2]]
        year = int(wordy[3]) if wordy[3] else None
    if day is None or month is None:
        raise ArgumentError("cobudget_phase_date_invalid", given=words)
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError as error:
        raise ArgumentError("cobudget_phase_date_invalid", given=words) from error
