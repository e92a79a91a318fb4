"""The grammar corpus (tests/corpus/*_cases.py): every phrasing is read exactly as expected, or refused as expected."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import tests.corpus
from chatbot.app import command_groups
from chatbot.config import load_settings
from chatbot.directories import circle_directory, envelope_names
from chatbot.errors import UserError
from chatbot.grammar.base import EnvelopeDirectory, ParseContext
from chatbot.grammar.deadlines import parse_proposal, resolve_deadline
from chatbot.grammar.meeting_arguments import place_and_agenda
from chatbot.grammar.tokens import tokenize
from tests.corpus import describe

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)  # a Monday
SETTINGS = load_settings()
GROUPS = {word: group for group in command_groups() for word in group.words}


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for module in pkgutil.iter_modules(tests.corpus.__path__):
        if module.name.endswith("_cases"):
            cases = importlib.import_module(f"tests.corpus.{module.name}").CASES
            found += [(module.name.removesuffix("_cases"), line, expected) for line, expected in cases]
    return found


CASES = _cases()


def read(line: str) -> dict[str, Any]:
    """What the bot reads in a command line: its arguments, plus what its handler reads in the free text."""
    name, _, arguments = line.lstrip("/").partition(" ")
    group = GROUPS[name]
    command, arguments = group.select(arguments)
    ctx = ParseContext(
        today=NOW.date(),
        now=NOW,
        directory=EnvelopeDirectory(envelope_names(SETTINGS)),
        circles=circle_directory(SETTINGS),
    )
    values = command.parse(arguments, ctx)
    read = {key: describe(value) for key, value in values.items()}
    if group.name == "consent" and values.get("target") is None and "text" in values:
        tokens = tokenize(arguments)
        typed = arguments.strip() if len(tokens) == 1 and tokens[0].quoted else values["text"]
        proposal = parse_proposal(typed, NOW.date())
        read["proposal"] = proposal.text
        read["deadline"] = describe(resolve_deadline(proposal.deadline, NOW)) if proposal.deadline else None
        review = proposal.review
        read["review"] = None if review is None else describe(review.on) if review.on else f"{review.months}mois"
    if group.name == "reunion" and command.keyword is None:
        details = values.get("details") or ""
        read["place"], read["agenda"] = place_and_agenda(details, has_link=values["place"] is not None)
    return read


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 400, len(CASES)
    assert len({line for _, line, _ in CASES}) == len(CASES), "a phrasing is listed twice"


@pytest.mark.parametrize(("family", "line", "expected"), CASES, ids=[f"{f}:{line}" for f, line, _ in CASES])
def test_phrasing(family: str, line: str, expected: dict[str, Any]) -> None:
    if "error" in expected:
        with pytest.raises(UserError) as refused:
            read(line)
        assert refused.value.key == expected["error"], refused.value.data
        return
    got = read(line)
    assert {key: got.get(key, "<absent>") for key in expected} == expected
