"""The /cobudget grammar: amounts, a project's minimum, the two phases of a round, and every example of `/aide
cobudget` parsed to its typed values."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.errors import ArgumentError
from chatbot.grammar.base import ParseContext
from chatbot.grammar.cobudget_arguments import CobudgetAmountConverter, Phases, PhasesConverter
from chatbot.grammar.tokens import tokenize
from chatbot.services.cobudget import start_of_day_after
from tests.conftest import NOW, PARIS

CTX = ParseContext(today=date(2026, 11, 26))


@pytest.mark.parametrize(
    ("text", "cents"), [("200", 20000), ("200 €", 20000), ("200,50", 20050), ("200.5€", 20050), ("1 500", 150000)]
)
def test_amounts(text: str, cents: int) -> None:
    assert CobudgetAmountConverter().convert(text, CTX) == cents


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("0", "cobudget_amount_not_positive"),
        ("-3", "cobudget_amount_not_positive"),
        ("2,555", "amount_precision"),
        # Thousands written with a dot or a comma: 1 500 € or 1,50 €? Asked, never read as 1,50 €.
        ("1.500", "amount_precision"),
        ("1,500 €", "amount_precision"),
        ("12.000", "amount_precision"),
    ],
)
def test_amounts_refused(text: str, key: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        CobudgetAmountConverter().convert(text, CTX)
    assert raised.value.key == key


@pytest.mark.parametrize(
    ("text", "phases"),
    [
        ("propositions jusqu'au 15/03 vote jusqu'au 31/03", Phases(date(2027, 3, 15), date(2027, 3, 31))),
        ("propositions jusqu’au 15 mars vote jusqu’au 1er avril", Phases(date(2027, 3, 15), date(2027, 4, 1))),
        ("Projets jusqu'au 30/11 vote au 10/12/2026", Phases(date(2026, 11, 30), date(2026, 12, 10))),
        ("propositions jusqu'au 26/11 vote jusqu'au 27/11", Phases(date(2026, 11, 26), date(2026, 11, 27))),
        # What a French speaker adds between and after the two dates: a comma, « et », « puis », « inclus ».
        ("propositions jusqu'au 15/12, vote jusqu'au 31/12", Phases(date(2026, 12, 15), date(2026, 12, 31))),
        ("propositions jusqu'au 15/12 et vote jusqu'au 31/12", Phases(date(2026, 12, 15), date(2026, 12, 31))),
        ("propositions jusqu'au 15 décembre, puis vote jusqu'au 31/12", Phases(date(2026, 12, 15), date(2026, 12, 31))),
        (
            "propositions jusqu'au 15/12 inclus vote jusqu'au 31/12 inclus",
            Phases(date(2026, 12, 15), date(2026, 12, 31)),
        ),
    ],
)
def test_phases(text: str, phases: Phases) -> None:
    assert PhasesConverter().match(tokenize(text), CTX) == (phases, len(tokenize(text)))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("propositions demain vote après", "cobudget_phases_invalid"),
        ("propositions jusqu'au 31/02 vote jusqu'au 10/03", "cobudget_phase_date_invalid"),
        ("propositions jusqu'au 25/11/2026 vote jusqu'au 10/12", "cobudget_phase_past"),
        ("propositions jusqu'au 10/12 vote jusqu'au 10/12", "cobudget_phases_order"),
        ("propositions jusqu'au 10/12 vote jusqu'au 10/12/2028", "cobudget_phase_too_far"),
    ],
)
def test_phases_refused(text: str, key: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        PhasesConverter().match(tokenize(text), CTX)
    assert raised.value.key == key


def test_a_phase_ends_at_midnight_after_its_last_day_in_paris() -> None:
    clock = FixedClock(NOW)
    assert start_of_day_after(date(2027, 3, 27), clock).isoformat() == "2027-03-28T00:00:00+01:00"
    # the night summer time starts: midnight is still 00:00 in Paris
    assert start_of_day_after(date(2027, 3, 28), clock) == start_of_day_after(date(2027, 3, 28), clock).astimezone(
        PARIS
    )
    assert start_of_day_after(date(2027, 3, 28), clock).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]


EXAMPLES = {
    "/cobudget": {"number": None},
    "/cobudget 1": {"number": 1},
    "/cobudget voir 3": {"number": 3},
    "/cobudget moi": {},
    "/cobudget ouvrir \"Résultat 2026\" 12000 propositions jusqu'au 15/03 vote jusqu'au 31/03": {
        "name": "Résultat 2026",
        "amount": 1200000,
        "phases": Phases(date(2027, 3, 15), date(2027, 3, 31)),
    },
    "/cobudget ouvrir « Résultat 2026 » 12 000 € propositions jusqu'au 15 mars vote jusqu'au 31 mars": {
        "name": "Résultat 2026",
        "amount": 1200000,
        "phases": Phases(date(2027, 3, 15), date(2027, 3, 31)),
    },
    '/cobudget projet "Atelier vélo" 1500 min 800 Réparer les vélos des membres': {
        "title": "Atelier vélo",
        "target": 150000,
        "minimum": 80000,
        "description": "Réparer les vélos des membres",
    },
    "/cobudget projet « Bibliothèque » 600": {
        "title": "Bibliothèque",
        "target": 60000,
        "minimum": None,
        "description": "",
    },
    '/cobudget modifier 3 "Atelier vélo" 1600 min 900 Réparer et prêter des vélos': {
        "number": 3,
        "title": "Atelier vélo",
        "target": 160000,
        "minimum": 90000,
        "description": "Réparer et prêter des vélos",
    },
    "/cobudget participer": {},
    "/cobudget donner 3 200": {"number": 3, "amount": 20000},
    "/cobudget donner 3 200,50 €": {"number": 3, "amount": 20050},
    "/cobudget retirer 3 50": {"number": 3, "amount": 5000},
    "/cobudget financer 3": {"number": 3},
}


async def test_every_help_example_parses_to_its_typed_values(bot: Bot) -> None:
    from tests.test_parser_examples import parse_line

    group = next(g for g in bot.router.groups if g.name == "cobudget")
    advertised = [line for command in group.commands for line in bot.router.examples(command)]
    assert sorted(advertised) == sorted(EXAMPLES)
    for line, values in EXAMPLES.items():
        _, parsed = await parse_line(bot, line)
        assert {k: v for k, v in parsed.items()} == values, line
