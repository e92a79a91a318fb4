"""/contrib phrasings end to end: the reply states the work date with its weekday and year and the amount with
its computation; a phrasing asked about stores nothing. The bot's clock reads Thursday 26/11/2026."""

from __future__ import annotations

import pytest

from chatbot.app import Bot, command_groups
from chatbot.grammar.base import EnvelopeDirectory, ParseContext
from chatbot.grammar.tokens import tokenize
from chatbot.messages import load_catalogue
from tests.conftest import NOW, Chat
from tests.helpers import count, snapshot

T = load_catalogue("fr")


@pytest.mark.parametrize(
    ("command", "worth", "day"),
    [
        (
            "/contrib une demi-heure pour le cercle tech mardi 3 novembre",
            "30 min × 30 €/h = 15 €",
            "mardi 3 novembre 2026",
        ),
        ("/contrib 3h à 25€ tech le 1er", "3 h × 25 €/h = 75 €", "dimanche 1er novembre 2026"),
        ("/contrib forfait 300 € pour la formation lundi dernier", "forfait 300 €", "lundi 23 novembre 2026"),
        ("/contrib trois quarts d'heure tech le 31", "45 min × 30 €/h = 22,50 €", "samedi 31 octobre 2026"),
        ("/contrib 1h et demie 25 € de l'heure tech hier", "1 h 30 × 25 €/h = 37,50 €", "mercredi 25 novembre 2026"),
        ("/contrib Relecture du wiki deux heures pour tech", "2 h × 30 €/h = 60 €", "jeudi 26 novembre 2026"),
        ("/contrib 1/2 h l'enveloppe tech jeudi 12 mars", "30 min × 30 €/h = 15 €", "jeudi 12 mars 2026"),
    ],
)
async def test_the_reply_states_the_day_and_the_computation(
    chat: Chat, bot: Bot, command: str, worth: str, day: str
) -> None:
    reply = await chat(command)
    assert reply.startswith("✅ Contribution n°1 enregistrée"), reply
    assert worth in reply and f"travail du {day}." in reply
    assert await count(bot, "contribution") == 1


@pytest.mark.parametrize(
    ("command", "question"),
    [
        ("/contrib 2h tech lundi 3 novembre", "le 03/11/2026 est un mardi, pas un lundi"),
        ("/contrib 2h tech la semaine dernière", "quel jour exactement ? Le travail se déclare jour par jour"),
        ("/contrib 2:30 tech", "une durée, ou une heure de la journée ? Pour une durée, écrivez `2h30`"),
        ("/contrib 2h tech 28/12", "le 28/12/2026 est dans le futur. Pour du travail de l'an dernier"),
        ("/contrib 2h tech 01/12/2026", "La date du travail (01/12/2026) est dans le futur"),
        ("/contrib 2h tech demain", "est dans le futur"),
        ("/contrib 2h tech Atelier le 3 avec Paul", "« le 3 »"),
    ],
)
async def test_a_phrasing_asked_about_stores_nothing(chat: Chat, bot: Bot, command: str, question: str) -> None:
    before = await snapshot(bot)
    reply = await chat(command)
    assert question in reply, reply
    assert "Exemple" in reply or "par exemple" in reply
    assert await snapshot(bot) == before


async def test_the_weekday_example_offers_both_ways(chat: Chat) -> None:
    reply = await chat("/contrib 2h tech lundi 3 novembre")
    assert "`3 novembre`" in reply and "`mardi 3 novembre`" in reply


async def test_listing_by_month_name(chat: Chat) -> None:
    await chat("/contrib 2h tech 12/03 « Atelier »", user="alice")
    await chat("/contrib 1h tech le 31 « Tri »", user="alice")
    await chat("/contrib 1h tech « Relecture »", user="alice")
    march = await chat("/contrib liste mars", user="alice")
    assert "Contributions (de alice · mars 2026) : 1, total déclaré 60 €" in march and "Atelier" in march
    october = await chat("/contrib liste le mois dernier", user="alice")
    assert "Contributions (de alice · octobre 2026) : 1, total déclaré 30 €" in october and "Tri" in october
    last_year = await chat("/contrib liste décembre", user="alice")
    assert "Aucune contribution (de alice · décembre 2025)." in last_year


async def test_a_misspelt_month_is_asked_about_not_offered_as_a_member(chat: Chat) -> None:
    reply = await chat("/contrib liste novembr")
    assert "Vouliez-vous dire : novembre ?" in reply
    assert "@novembr" not in reply


def test_every_listed_phrasing_is_read_whole() -> None:
    """Each phrasing `/aide contrib` shows is read entirely by the /contrib converter with that label."""
    from chatbot.config import load_settings
    from chatbot.directories import envelope_names

    ctx = ParseContext(today=NOW.date(), now=NOW, directory=EnvelopeDirectory(envelope_names(load_settings())))
    contrib = next(g for g in command_groups() if g.name == "contrib")
    converters = {arg.label: arg.converter for c in contrib.commands for arg in c.args}
    labels = ("quantity", "work_date", "envelope", "rate", "period")
    for label in labels:
        phrasings = T.strings(f"phrasings.{label}")
        assert 6 <= len(phrasings) <= 10, label
        for phrasing in phrasings:
            tokens = tokenize(phrasing)
            found = converters[label].match(tokens, ctx)
            assert found is not None and found[1] == len(tokens), (label, phrasing)
