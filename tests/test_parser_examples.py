"""The parser accepts every example the bot advertises (catalogue and design §2), with the exact typed values."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import Bot, command_groups
from chatbot.commandkit import Command
from chatbot.db.models import Envelope
from chatbot.errors import UsageError
from chatbot.grammar.base import ParseContext
from chatbot.messages import load_catalogue
from chatbot.services import Services
from chatbot.values import Duration, EnvelopeRef, FlatAmount, MemberRef, Money, Period, Rate
from tests.conftest import Chat

T = load_catalogue("fr")
TODAY = date(2026, 11, 26)
INTERNAL = T("errors.internal", reference="x").split(";")[0]  # "Désolé, une erreur interne m'empêche…"
USAGE = T("errors.usage_hint", group="").split("`")[0]  # "Autres façons de l'écrire : "


def declare(
    quantity: Any,
    envelope: str | None = None,
    rate: int | None = None,
    work_date: date | None = None,
    description: str = "",
) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "envelope": EnvelopeRef(envelope) if envelope else None,
        "rate": Rate(rate) if rate else None,
        "work_date": work_date,
        "description": description,
    }


def plan(quantity: Any, envelope: str | None = None, rate: int | None = None, description: str = "") -> dict[str, Any]:
    values = declare(quantity, envelope, rate, None, description)
    del values["work_date"]
    return values


def correct(number: int, **changes: Any) -> dict[str, Any]:
    """`/contrib modifier`: the number, and only the values given."""
    fields = ("quantity", "envelope", "rate", "work_date", "description", "reason")
    return {"number": number, **dict.fromkeys(fields), **changes}


def billing(numbers: tuple[int, ...] | None = None, **given: Any) -> dict[str, Any]:
    """`/contrib facturer` and `/contrib payer`: numbers, or a member and a period; an optional reference."""
    return {"numbers": numbers, **dict.fromkeys(("ref", "who", "period", "envelope")), **given}


def transfer(year: int | None, force: bool | None, reason: str) -> dict[str, Any]:
    return {
        "source": EnvelopeRef("orientation"),
        "target": EnvelopeRef("communication"),
        "amount": Money(30000),
        "year": year,
        "force": force,
        "reason": reason,
    }


def env(slug: str | None) -> EnvelopeRef | None:
    return EnvelopeRef(slug) if slug else None


# Every example of the catalogue ([help.*] examples), as the router shows it: the typed values the parser must
# produce, and a fragment of the reply a fresh bot gives to admin camille in a direct message.
CATALOGUE: dict[str, tuple[dict[str, Any], str]] = {
    "/contrib 3h cercle-tech Mise à jour du wiki": (
        declare(Duration(180), "tech", description="Mise à jour du wiki"),
        "✅ Contribution n°1 enregistrée : 3 h × 30 €/h = 90 €, enveloppe Technique 2026",
    ),
    "/contrib 1h30 communication": (
        declare(Duration(90), "communication"),
        "1 h 30 × 30 €/h = 45 €, enveloppe Communication 2026",
    ),
    "/contrib 2,5h tech": (declare(Duration(150), "tech"), "2 h 30 × 30 €/h = 75 €, enveloppe Technique 2026"),
    "/contrib 45min vie-coop": (
        declare(Duration(45), "vie-coop"),
        "45 min × 30 €/h = 22,50 €, enveloppe Vie coopérative 2026",
    ),
    # The date ending the description is the work date, and the reply says so with its weekday and year.
    "/contrib 250€ formation Formation Nextcloud du 12/03": (
        declare(FlatAmount(25000), "formation", work_date=date(2026, 3, 12), description="Formation Nextcloud"),
        "forfait 250 €, enveloppe Formation 2026, travail du jeudi 12 mars 2026",
    ),
    "/contrib une demi-heure pour le cercle tech Tri des tickets": (
        declare(Duration(30), "tech", description="Tri des tickets"),
        "30 min × 30 €/h = 15 €, enveloppe Technique 2026",
    ),
    "/contrib forfait 300 € pour la formation Atelier Nextcloud": (
        declare(FlatAmount(30000), "formation", description="Atelier Nextcloud"),
        "forfait 300 €, enveloppe Formation 2026",
    ),
    "/contrib 3h à 25 € tech Relecture des statuts": (
        declare(Duration(180), "tech", 2500, description="Relecture des statuts"),
        "3 h × 25 €/h = 75 €, enveloppe Technique 2026",
    ),
    "/contrib 2h tech mardi 3 novembre Préparation de l'AG": (
        declare(Duration(120), "tech", work_date=date(2026, 11, 3), description="Préparation de l'AG"),
        "travail du mardi 3 novembre 2026",
    ),
    "/contrib 3h 25€/h tech Relecture des statuts": (
        declare(Duration(180), "tech", 2500, description="Relecture des statuts"),
        "3 h × 25 €/h = 75 €, enveloppe Technique 2026",
    ),
    "/contrib 2h tech hier Réunion de cercle": (
        declare(Duration(120), "tech", work_date=date(2026, 11, 25), description="Réunion de cercle"),
        "travail du mercredi 25 novembre 2026",
    ),
    "/contrib tech 1h le 12 mars « Tri des tickets »": (
        declare(Duration(60), "tech", work_date=date(2026, 3, 12), description="Tri des tickets"),
        "travail du jeudi 12 mars 2026.\nDescription : Tri des tickets",
    ),
    "/contrib prevoir 20h tech Refonte du site": (
        plan(Duration(1200), "tech", description="Refonte du site"),
        "📝 Intention n°1 enregistrée : 20 h × 30 €/h = 600 €, enveloppe Technique 2026",
    ),
    "/contrib prevoir 400€ formation Cycle d'ateliers": (
        plan(FlatAmount(40000), "formation", description="Cycle d'ateliers"),
        "📝 Intention n°1 enregistrée : forfait 400 €, enveloppe Formation 2026",
    ),
    "/contrib liste": (
        {"who": None, "envelope": None, "period": None, "page": None},
        "Aucune contribution (de camille · 2026).",
    ),
    "/contrib liste moi mois": (
        {"who": MemberRef(None), "envelope": None, "period": Period(2026, 11), "page": None},
        "Aucune contribution (de camille · novembre 2026).",
    ),
    "/contrib liste novembre": (
        {"who": None, "envelope": None, "period": Period(2026, 11), "page": None},
        "Aucune contribution (de camille · novembre 2026).",
    ),
    "/contrib liste le mois dernier": (
        {"who": None, "envelope": None, "period": Period(2026, 10), "page": None},
        "Aucune contribution (de camille · octobre 2026).",
    ),
    "/contrib liste l'an dernier": (
        {"who": None, "envelope": None, "period": Period(2025), "page": None},
        "Aucune contribution (de camille · 2025).",
    ),
    "/contrib liste @camille": (
        {"who": MemberRef("camille"), "envelope": None, "period": None, "page": None},
        "Aucune contribution (de camille · 2026).",
    ),
    "/contrib liste tech année": (
        {"who": None, "envelope": EnvelopeRef("tech"), "period": Period(2026), "page": None},
        "Aucune contribution (enveloppe tech · 2026).",
    ),
    "/contrib liste communication 2025": (
        {"who": None, "envelope": EnvelopeRef("communication"), "period": Period(2025), "page": None},
        "Aucune contribution (enveloppe communication · 2025).",
    ),
    # Domain refusal: there is no n°12 in a fresh database.
    "/contrib annuler 12": ({"number": 12, "reason": ""}, "Aucune contribution n°12."),
    "/contrib annuler 12 doublon": ({"number": 12, "reason": "doublon"}, "Aucune contribution n°12."),
    "/contrib liste tech 2026 suite 2": (
        {"who": None, "envelope": EnvelopeRef("tech"), "period": Period(2026), "page": 2},
        "Aucune contribution (enveloppe tech · 2026).",
    ),
    "/contrib modifier 12 2h30": (correct(12, quantity=Duration(150)), "Aucune contribution n°12."),
    "/contrib modifier 12 tech": (correct(12, envelope=EnvelopeRef("tech")), "Aucune contribution n°12."),
    "/contrib modifier 12 date 03/11": (correct(12, work_date=date(2026, 11, 3)), "Aucune contribution n°12."),
    "/contrib modifier 12 description Mise à jour du wiki": (
        correct(12, description="Mise à jour du wiki"),
        "Aucune contribution n°12.",
    ),
    "/contrib modifier 12 2h30 tech raison oubli de la réunion": (
        correct(12, quantity=Duration(150), envelope=EnvelopeRef("tech"), reason="oubli de la réunion"),
        "Aucune contribution n°12.",
    ),
    "/contrib questionner 12 Le taux me paraît élevé pour une relecture": (
        {"number": 12, "reason": "Le taux me paraît élevé pour une relecture"},
        "Aucune contribution n°12.",
    ),
    "/contrib confirmer 12": ({"number": 12, "note": ""}, "Aucune contribution n°12."),
    "/contrib confirmer 12 Vu en réunion de cercle, c'était bien 3 h": (
        {"number": 12, "note": "Vu en réunion de cercle, c'était bien 3 h"},
        "Aucune contribution n°12.",
    ),
    "/contrib moi": ({"year": None, "page": None}, "Rien à votre nom en 2026"),
    "/contrib moi 2025": ({"year": 2025, "page": None}, "Rien à votre nom en 2025"),
    "/contrib moi suite 2": ({"year": None, "page": 2}, "Rien à votre nom en 2026"),
    # Treasurers' commands, typed here by camille (an admin, not a treasurer): refused by right, not by grammar.
    "/contrib facturer 12 13 14 ref LOUTY-2026-041": (
        billing((12, 13, 14), ref="LOUTY-2026-041"),
        "réservée aux trésoriers",
    ),
    "/contrib facturer @alice novembre ref LOUTY-2026-042": (
        billing(who=MemberRef("alice"), period=Period(2026, 11), ref="LOUTY-2026-042"),
        "réservée aux trésoriers",
    ),
    "/contrib facturer @alice tech 2026": (
        billing(who=MemberRef("alice"), envelope=EnvelopeRef("tech"), period=Period(2026)),
        "réservée aux trésoriers",
    ),
    "/contrib payer 12 13 14": (billing((12, 13, 14)), "réservée aux trésoriers"),
    "/contrib payer @alice novembre ref VIR-2026-118": (
        billing(who=MemberRef("alice"), period=Period(2026, 11), ref="VIR-2026-118"),
        "réservée aux trésoriers",
    ),
    "/contrib releve": ({"who": None, "envelope": None, "period": None}, "Aucune déclaration (de camille · 2026)."),
    # Domain refusal: alice has never written to this fresh bot.
    "/contrib releve @alice 2026": (
        {"who": MemberRef("alice"), "envelope": None, "period": Period(2026)},
        "Je ne connais pas encore de membre « alice »",
    ),
    "/contrib releve tech novembre": (
        {"who": None, "envelope": EnvelopeRef("tech"), "period": Period(2026, 11)},
        "Aucune déclaration (enveloppe tech · novembre 2026).",
    ),
    "/contrib releve novembre": (
        {"who": None, "envelope": None, "period": Period(2026, 11)},
        "Aucune déclaration (de camille · novembre 2026).",
    ),
    "/contrib export": ({"year": None, "by_member": None}, "Export des contributions 2026 : 0 ligne"),
    "/contrib export 2026": ({"year": 2026, "by_member": None}, "Export des contributions 2026 : 0 ligne"),
    "/contrib export 2026 par-membre": (
        {"year": 2026, "by_member": True},
        "Export des contributions 2026 par membre : 0 ligne, 0 membre(s)",
    ),
    "/budget": ({"envelope": None, "year": None}, "**Budget contributif 2026** — reste / montant"),
    "/budget communication": (
        {"envelope": EnvelopeRef("communication"), "year": None},
        "**Enveloppe Communication** (`communication`) — 2026",
    ),
    # Domain refusal: the configuration only fills the current year.
    "/budget tech 2025": ({"envelope": EnvelopeRef("tech"), "year": 2025}, "Pas d'enveloppe « tech » pour 2025."),
    "/budget definir communication 5000": (
        {"envelope": EnvelopeRef("communication"), "amount": Money(500000), "year": None, "reason": ""},
        "Enveloppe Communication 2026 fixée à 5 000 €.",
    ),
    "/budget definir tech 3000 2027 vote de l'AG": (
        {"envelope": EnvelopeRef("tech"), "amount": Money(300000), "year": 2027, "reason": "vote de l'AG"},
        "Enveloppe Technique 2027 fixée à 3 000 €.",
    ),
    "/budget ajuster communication -300 « erreur de saisie »": (
        {"envelope": EnvelopeRef("communication"), "delta": Money(-30000), "year": None, "reason": "erreur de saisie"},
        "Enveloppe Communication 2026 ajustée de -300 € ; nouveau montant 2 200 €. Raison : erreur de saisie",
    ),
    "/budget ajuster tech +500 « don reçu »": (
        {"envelope": EnvelopeRef("tech"), "delta": Money(50000), "year": None, "reason": "don reçu"},
        "Enveloppe Technique 2026 ajustée de +500 € ; nouveau montant 3 500 €. Raison : don reçu",
    ),
    # Domain refusal: inter-cae is one of the configured envelopes.
    '/budget creer inter-cae "Inter-CAE" 2000': (
        {"new_slug": "inter-cae", "name": "Inter-CAE", "amount": Money(200000), "year": None},
        "L'enveloppe « inter-cae » existe déjà pour 2026",
    ),
    "/budget creer evenements « Événements » 1500 2027": (
        {"new_slug": "evenements", "name": "Événements", "amount": Money(150000), "year": 2027},
        "Enveloppe Événements (`evenements`) créée pour 2027 : 1 500 €, taux plafond 30 €/h.",
    ),
    "/budget taux tech 28": (
        {"envelope": EnvelopeRef("tech"), "rate": Rate(2800), "year": None},
        "Taux plafond de l'enveloppe Technique 2026 : 28 €/h.",
    ),
    # Domain refusals: a fresh database has no envelope in 2025.
    "/budget cloturer 2025": ({"year": 2025, "confirm": None}, "Il n'y a aucune enveloppe en 2025 : rien à clôturer"),
    "/budget cloturer 2025 confirmer": (
        {"year": 2025, "confirm": True},
        "Il n'y a aucune enveloppe en 2025 : rien à clôturer",
    ),
    "/budget bilan": ({"year": None}, "**Bilan du budget 2026**"),
    "/budget bilan 2025": ({"year": 2025}, "Aucune enveloppe pour 2025."),
    "/budget reconduire 2027": ({"year": 2027, "percent": None}, "Enveloppes 2027 reconduites depuis 2026 :"),
    "/budget reconduire 2027 +3%": ({"year": 2027, "percent": 300}, "• Inter-CAE (`inter-cae`) : 2 000 € → 2 060 €"),
    "/budget reconduire 2027 -5%": ({"year": 2027, "percent": -500}, "• Inter-CAE (`inter-cae`) : 2 000 € → 1 900 €"),
    "/budget transferer orientation communication 300 « renfort newsletter »": (
        transfer(None, None, "renfort newsletter"),
        "300 € transférés de l'enveloppe Orientation vers l'enveloppe Communication (2026)",
    ),
    "/budget transferer orientation communication 300 2026 --force « fin d'année »": (
        transfer(2026, True, "fin d'année"),
        "300 € transférés de l'enveloppe Orientation vers l'enveloppe Communication (2026)",
    ),
    "/budget questions": ({"envelope": None, "page": None}, "Aucune question ouverte"),
    "/budget questions tech": (
        {"envelope": EnvelopeRef("tech"), "page": None},
        "Aucune question ouverte sur l'enveloppe tech",
    ),
    "/budget questions suite 2": ({"envelope": None, "page": 2}, "Aucune question ouverte"),
    # Domain refusal: 2025 is not closed in a fresh database.
    "/budget rouvrir 2025 oubli de déclarations de décembre": (
        {"year": 2025, "reason": "oubli de déclarations de décembre"},
        "L'année 2025 n'est pas clôturée.",
    ),
    "/budget journal": (
        {"envelope": None, "year": None, "page": None},
        "**Journal du budget 2026** (le plus récent d'abord)",
    ),
    "/budget journal communication": (
        {"envelope": EnvelopeRef("communication"), "year": None, "page": None},
        "enveloppe communication créée : 2 500 €",
    ),
    "/budget journal 2025": ({"envelope": None, "year": 2025, "page": None}, "Aucune modification du budget en 2025."),
    "/budget journal communication 2026 suite 2": (
        {"envelope": EnvelopeRef("communication"), "year": 2026, "page": 2},
        "Le journal de 2026 tient en 1 page(s) ; la dernière : `/budget journal communication 2026`",
    ),
    "/aide": ({"command": None}, "**Commandes du bot**"),
    "/aide contrib": ({"command": "contrib"}, "**/contrib** — déclarer une contribution"),
    "/aide budget": ({"command": "budget"}, "**/budget** — voir ce qui reste dans les enveloppes"),
}


def catalogue_lines() -> list[Any]:
    return [pytest.param(line, id=line) for line in CATALOGUE]


async def parse_ctx(bot: Bot) -> ParseContext:
    """What Bot.handle gives the parser: today and the names of the envelopes known to the database."""
    context = bot.parse_context()
    async with bot.sessions() as session:
        context.directory = await bot.envelope_directory(Services.bind(session, bot.settings, bot.clock))
    return context


async def parse_line(bot: Bot, line: str, *, direct: bool = True) -> tuple[Command, dict[str, Any]]:
    """Recognise a full command line and parse its arguments, without running the handler."""
    recognised = bot.router.recognise(line, direct=direct)
    assert recognised is not None and recognised.group is not None, line
    command, arguments = recognised.group.select(recognised.arguments)
    return command, command.parse(arguments, await parse_ctx(bot))


def assert_not_a_parse_error(reply: str) -> None:
    assert reply, "no reply"
    assert INTERNAL not in reply
    assert USAGE not in reply, f"usage error: {reply}"
    assert "réservée aux administrateurs" not in reply


# --- catalogue examples ---------------------------------------------------------------------------------------


CORE_GROUPS = ("contrib", "budget", "aide")  # the table above; later features test their own examples


async def test_the_table_covers_every_catalogue_example(bot: Bot) -> None:
    advertised = [
        line
        for group in bot.router.groups
        if group.name in CORE_GROUPS
        for c in group.commands
        for line in bot.router.examples(c)
    ]
    assert len(advertised) == len(set(advertised))
    assert set(advertised) == set(CATALOGUE)
    # and they are the [help.*] examples of the catalogue, behind their command
    for group in command_groups():
        for command in group.commands:
            raw = load_catalogue("fr").strings(f"{command.help_key}.examples")
            assert raw, f"{command.help_key} has no example"
            assert len(bot.router.examples(command)) == len(raw)


async def test_every_other_advertised_example_parses(bot: Bot) -> None:
    """Commands outside the table (later features): each example at least parses, as an admin would type it."""
    others = [
        line
        for group in bot.router.groups
        if group.name not in CORE_GROUPS
        for c in group.commands
        for line in bot.router.examples(c)
    ]
    for line in others:
        await parse_line(bot, line)


@pytest.mark.parametrize("line", catalogue_lines())
async def test_catalogue_example_parses_to_typed_values(bot: Bot, line: str) -> None:
    _, values = await parse_line(bot, line)
    assert values == CATALOGUE[line][0]


@pytest.mark.parametrize("line", catalogue_lines())
async def test_catalogue_example_is_accepted_by_the_bot(chat: Chat, line: str) -> None:
    reply = await chat(line)
    assert_not_a_parse_error(reply)
    assert CATALOGUE[line][1] in reply


async def test_catalogue_examples_in_sequence(chat: Chat) -> None:
    """All the examples one after the other in one database: none is a usage or argument error."""
    for line in CATALOGUE:
        assert_not_a_parse_error(await chat(line))


async def test_aide_lists_every_example(chat: Chat, bot: Bot) -> None:
    """Each reader sees the commands they may use: camille (an admin) and dominique (a treasurer) see them all."""
    for group in bot.router.groups:
        reply = await chat(f"/aide {group.name}") + await chat(f"/aide {group.name}", user="dominique")
        for command in group.commands:
            for example in bot.router.examples(command):
                assert f"`{example}`" in reply


# --- design §2 ------------------------------------------------------------------------------------------------

DESIGN: dict[str, dict[str, Any]] = {
    "/contrib 3h cercle-tech Mise à jour du wiki": declare(Duration(180), "tech", description="Mise à jour du wiki"),
    "/contrib 1h30 communication": declare(Duration(90), "communication"),
    "/contrib 2,5h tech": declare(Duration(150), "tech"),
    "/contrib 45min vie-coop": declare(Duration(45), "vie-coop"),
    "/contrib 3h tech": declare(Duration(180), "tech"),
    "/contrib 3h30 tech": declare(Duration(210), "tech"),
    "/contrib 1,5h tech": declare(Duration(90), "tech"),
    "/contrib 90min tech": declare(Duration(90), "tech"),
    "/contrib 3h 25€/h tech": declare(Duration(180), "tech", 2500),
    "/contrib 250€ formation": declare(FlatAmount(25000), "formation"),
    "/contrib 250,50 € formation": declare(FlatAmount(25050), "formation"),
    "/contrib 2h tech hier": declare(Duration(120), "tech", work_date=date(2026, 11, 25)),
    "/contrib 2h tech 12/03": declare(Duration(120), "tech", work_date=date(2026, 3, 12)),
    "/contrib 2h tech 12/03/2026": declare(Duration(120), "tech", work_date=date(2026, 3, 12)),
    "/contrib 2h tech le 12 mars": declare(Duration(120), "tech", work_date=date(2026, 3, 12)),
    "/contrib 2h Technique": declare(Duration(120), "tech"),
    "/contrib 2h #cercle-tech": declare(Duration(120), "tech"),
    "/contrib 2h cercle-tech": declare(Duration(120), "tech"),
    "/contrib 2h inter-cae": declare(Duration(120), "inter-cae"),
    "/contrib 2h Vie coopérative Assemblée": declare(Duration(120), "vie-coop", description="Assemblée"),
    "/contrib 2h Santé au travail": declare(Duration(120), "sante"),
    "/contrib prevoir 20h tech Refonte du site": plan(Duration(1200), "tech", description="Refonte du site"),
    "/contrib liste": {"who": None, "envelope": None, "period": None, "page": None},
    "/contrib liste moi": {"who": MemberRef(None), "envelope": None, "period": None, "page": None},
    "/contrib liste @alice mois": {
        "who": MemberRef("alice"),
        "envelope": None,
        "period": Period(2026, 11),
        "page": None,
    },
    "/contrib liste tech année": {"who": None, "envelope": EnvelopeRef("tech"), "period": Period(2026), "page": None},
    "/contrib annuler 7": {"number": 7, "reason": ""},
    "/contrib annuler n°7": {"number": 7, "reason": ""},
    "/contrib export": {"year": None, "by_member": None},
    "/contrib export 2025": {"year": 2025, "by_member": None},
    "/contrib export par-membre 2025": {"year": 2025, "by_member": True},
    "/contrib export par membre": {"year": None, "by_member": True},
    "/budget": {"envelope": None, "year": None},
    "/budget communication": {"envelope": EnvelopeRef("communication"), "year": None},
    "/budget communication 2026": {"envelope": EnvelopeRef("communication"), "year": 2026},
    "/budget 2026 communication": {"envelope": EnvelopeRef("communication"), "year": 2026},
    "/budget definir communication 5000": {
        "envelope": EnvelopeRef("communication"),
        "amount": Money(500000),
        "year": None,
        "reason": "",
    },
    "/budget definir communication 5000 2026": {
        "envelope": EnvelopeRef("communication"),
        "amount": Money(500000),
        "year": 2026,
        "reason": "",
    },
    "/budget ajuster communication -300 « raison »": {
        "envelope": EnvelopeRef("communication"),
        "delta": Money(-30000),
        "year": None,
        "reason": "raison",
    },
    '/budget creer inter-cae "Inter-CAE" 2000': {
        "new_slug": "inter-cae",
        "name": "Inter-CAE",
        "amount": Money(200000),
        "year": None,
    },
    "/budget taux tech 28": {"envelope": EnvelopeRef("tech"), "rate": Rate(2800), "year": None},
}


@pytest.mark.parametrize("line", list(DESIGN))
async def test_design_example_parses_to_typed_values(bot: Bot, line: str) -> None:
    _, values = await parse_line(bot, line)
    assert values == DESIGN[line]


@pytest.mark.parametrize(
    "line, amount",
    [
        ("/contrib 3h cercle-tech Mise à jour du wiki", "3 h × 30 €/h = 90 €"),
        ("/contrib 1h30 communication", "1 h 30 × 30 €/h = 45 €"),
        ("/contrib 2,5h tech", "2 h 30 × 30 €/h = 75 €"),
        ("/contrib 45min vie-coop", "45 min × 30 €/h = 22,50 €"),
        ("/contrib 3h 25€/h tech", "3 h × 25 €/h = 75 €"),
        ("/contrib 250,50 € formation", "forfait 250,50 €"),
        ("/contrib 2h inter-cae", "2 h × 30 €/h = 60 €, enveloppe Inter-CAE 2026"),
    ],
)
async def test_design_declarations_through_the_bot(chat: Chat, line: str, amount: str) -> None:
    reply = await chat(line, user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée : " + amount)


async def test_design_budget_admin_examples_through_the_bot(chat: Chat) -> None:
    assert await chat("/budget definir communication 5000 2026") == "Enveloppe Communication 2026 fixée à 5 000 €."
    reply = await chat("/budget ajuster communication -300 « raison »")
    assert reply.startswith("Enveloppe Communication 2026 ajustée de -300 € ; nouveau montant 4 700 €. Raison : raison")
    reply = await chat('/budget creer fetes "Fêtes" 2000')
    assert reply == "Enveloppe Fêtes (`fetes`) créée pour 2026 : 2 000 €, taux plafond 30 €/h."
    assert await chat("/budget taux tech 28") == "Taux plafond de l'enveloppe Technique 2026 : 28 €/h."


async def test_a_created_envelope_becomes_a_known_name(chat: Chat, bot: Bot) -> None:
    await chat('/budget creer fetes "Fêtes de fin d\'année" 2000')
    _, values = await parse_line(bot, "/contrib 2h fetes Décoration")
    assert values == declare(Duration(120), "fetes", description="Décoration")
    _, values = await parse_line(bot, "/budget Fêtes de fin d'année")
    assert values == {"envelope": EnvelopeRef("fetes"), "year": None}


# --- word order, quotes, prefixes, accents --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "/contrib 2h tech hier",
        "/contrib tech 2h hier",
        "/contrib hier tech 2h",
        "/contrib hier 2h tech",
        "/contrib tech hier 2h",
    ],
)
async def test_tokens_in_any_order(bot: Bot, line: str) -> None:
    _, values = await parse_line(bot, line)
    assert values == declare(Duration(120), "tech", work_date=date(2026, 11, 25))


async def test_rate_in_any_order(bot: Bot) -> None:
    for line in ("/contrib 25€/h tech 3h Relecture", "/contrib tech 3h 25€/h Relecture"):
        _, values = await parse_line(bot, line)
        assert values == declare(Duration(180), "tech", 2500, description="Relecture")


async def test_envelope_first_through_the_bot(chat: Chat) -> None:
    reply = await chat("/contrib tech 2h", user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 2 h × 30 €/h = 60 €, enveloppe Technique 2026")


@pytest.mark.parametrize(
    "quoted, text",
    [
        ("« hier soir, relecture »", "hier soir, relecture"),
        ("«hier soir»", "hier soir"),
        ("“Vie coopérative”", "Vie coopérative"),
        ('"tech 2h"', "tech 2h"),
        ("„le 12 mars“", "le 12 mars"),
    ],
)
async def test_quotes_group_a_description(bot: Bot, quoted: str, text: str) -> None:
    _, values = await parse_line(bot, f"/contrib 2h tech {quoted}")
    assert values == declare(Duration(120), "tech", description=text)


async def test_quoted_description_through_the_bot(chat: Chat) -> None:
    reply = await chat("/contrib 2h tech « Vie coopérative : hier »", user="alice")
    assert "travail du jeudi 26 novembre 2026" in reply
    assert "Description : Vie coopérative : hier" in reply


@pytest.mark.parametrize(
    "line, description",
    [
        ("/contrib 250€ formation « Formation Nextcloud du 12/03 »", "Formation Nextcloud du 12/03"),
        ("/contrib 2h tech communication du site", "communication du site"),
        ("/contrib 2h tech Technique de relecture", "Technique de relecture"),
    ],
)
async def test_a_second_envelope_name_starts_the_description(bot: Bot, line: str, description: str) -> None:
    _, values = await parse_line(bot, line)
    assert values["description"] == description
    assert values["envelope"] in (EnvelopeRef("tech"), EnvelopeRef("formation"))


@pytest.mark.parametrize(
    "line, label, given",
    [
        ("/contrib 3h tech 2h", "la durée ou le montant (ex. `3h`, `1h30`, `250 €`)", "2h"),
        ("/contrib 3h 25€/h tech 20€/h", "le taux horaire (ex. `25 €/h`)", "20€/h"),
    ],
)
async def test_a_second_quantity_or_rate_is_a_mistake(chat: Chat, line: str, label: str, given: str) -> None:
    reply = await chat(line)
    assert reply.startswith(f"Vous avez donné deux fois : {label} (« {given} »).")
    assert "guillemets" in reply and USAGE in reply


@pytest.mark.parametrize("room", ["general", "cercle-tech", "@bot"])
async def test_bang_prefix(chat: Chat, room: str) -> None:
    reply = await chat("!contrib 3h tech", user="alice", room=room)
    assert reply.startswith("✅ Contribution n°1 enregistrée : 3 h × 30 €/h = 90 €")


async def test_no_prefix_in_a_direct_message(chat: Chat) -> None:
    reply = await chat("contrib 3h tech", user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée")
    assert (await chat("budget", user="alice")).startswith("**Budget contributif 2026**")
    assert (await chat("aide")).startswith("**Commandes du bot**")


async def test_no_prefix_in_a_channel_is_ordinary_talk(chat: Chat) -> None:
    assert await chat.send("contrib 3h tech", user="alice", room="general") == []
    assert await chat.send("budget de la fête ?", user="alice", room="cercle-tech") == []


@pytest.mark.parametrize(
    "line",
    ["/CONTRIB 3h TECH", "/Contrib 3H Tech", "/contribution 3h tech", "/DÉCLARER 3h tech", "/contrib 3h Cercle-Tech"],
)
async def test_case_and_accents_in_command_and_names(chat: Chat, line: str) -> None:
    reply = await chat(line, user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 3 h × 30 €/h = 90 €, enveloppe Technique 2026")


async def test_budget_with_a_capitalised_envelope(chat: Chat) -> None:
    assert (await chat("/Budget Communication")).startswith("**Enveloppe Communication** (`communication`) — 2026")
    assert (await chat("/BUDGET santé")).startswith("**Enveloppe Santé au travail** (`sante`) — 2026")


@pytest.mark.parametrize("word", ["prévoir", "PREVOIR", "Prévoir", "intention"])
async def test_subcommand_keyword_ignores_accents_and_case(chat: Chat, word: str) -> None:
    reply = await chat(f"/contrib {word} 20h tech Refonte du site", user="alice")
    assert reply.startswith("📝 Intention n°1 enregistrée : 20 h × 30 €/h = 600 €")


async def test_circle_may_be_omitted_in_its_channel(chat: Chat) -> None:
    reply = await chat("/contrib 2h Relecture du wiki", user="alice", room="cercle-tech")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 2 h × 30 €/h = 60 €, enveloppe Technique 2026")
    assert "Description : Relecture du wiki" in reply


async def test_circle_required_elsewhere(chat: Chat) -> None:
    reply = await chat("/contrib 2h Relecture du wiki", user="alice", room="general")
    assert reply.startswith("Pour quel cercle ou quelle enveloppe ?")
    assert "Exemple : `/contrib 3h cercle-tech Mise à jour du wiki`" in reply


@pytest.mark.parametrize(
    "line, key",
    [
        ("/contrib 0h tech", "duration_not_positive"),
        ("/contrib 3h75 tech", "duration_invalid"),
        ("/contrib 2h tech 31/02", "date_invalid"),
        ("/contrib 2h #cercle-inconnu", "envelope_unknown"),
        ("/contrib tech", "missing_argument"),
        ("/contrib annuler douze", "invalid_argument"),
        ("/budget ajuster tech 300 « raison »", "delta_needs_sign"),
        ("/budget taux tech 28 2026 encore", "unexpected_words"),
    ],
)
async def test_argument_errors_say_what_was_expected(chat: Chat, line: str, key: str) -> None:
    reply = await chat(line)
    first = re.escape(T(f"errors.{key}")).split(r"\{")[0]
    assert re.match(first, reply), reply
    assert USAGE in reply and "Exemple : `/" in reply


# --- unknown commands -----------------------------------------------------------------------------------------


async def test_unknown_command_in_a_channel_is_ignored(chat: Chat) -> None:
    assert await chat.send("/giphy chat", user="alice", room="general") == []
    assert await chat.send("!remind me", user="alice", room="cercle-tech") == []


@pytest.mark.parametrize(
    "line, suggestion", [("/contrb 3h tech", "/contrib"), ("!budgte", "/budget"), ("/aid", "/aide")]
)
async def test_unknown_command_close_to_a_known_one(chat: Chat, line: str, suggestion: str) -> None:
    reply = await chat(line, user="alice", room="general")
    assert "Vouliez-vous dire" in reply
    assert suggestion in reply
    assert reply.startswith("Je ne connais pas la commande « ")


async def test_unknown_command_in_a_direct_message_is_answered(chat: Chat) -> None:
    reply = await chat("/giphy chat", user="alice")
    assert reply == "Je ne connais pas la commande « giphy ». Tapez `/aide` pour la liste des commandes."
    assert (await chat("bonjour", user="alice")).startswith("Je ne connais pas la commande « bonjour »")


# --- fixed misreadings (regressions) -------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\n", "\t", "  \n  "])
async def test_newline_after_the_command_name(chat: Chat, separator: str) -> None:
    reply = await chat(f"/contrib{separator}3h tech", user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 3 h × 30 €/h = 90 €")


async def test_rate_with_a_space_before_the_euro_sign_after_a_duration(chat: Chat) -> None:
    reply = await chat("/contrib 3h 25 €/h", user="alice", room="cercle-tech")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 3 h × 25 €/h = 75 €")


async def test_day_and_month_after_a_duration(chat: Chat) -> None:
    reply = await chat("/contrib 3h 12 mars", user="alice", room="cercle-tech")
    assert reply.startswith("✅ Contribution n°1 enregistrée : 3 h × 30 €/h = 90 €")
    assert "travail du jeudi 12 mars 2026" in reply


async def test_amount_with_a_thousands_separator(chat: Chat, bot: Bot) -> None:
    """`5 000` is five thousand euros, not 5 € with a reason `000`."""
    assert await chat("/budget definir communication 5 000 2026") == "Enveloppe Communication 2026 fixée à 5 000 €."
    async with bot.sessions() as session:
        amount = await session.scalar(
            select(Envelope.amount_cents).where(Envelope.slug == "communication", Envelope.year == 2026)
        )
    assert amount == 500000


async def test_missing_quantity_is_a_usage_error(bot: Bot) -> None:
    command = next(g for g in bot.router.groups if g.name == "contrib").default
    assert command is not None
    with pytest.raises(UsageError) as caught:
        command.parse("tech Relecture", await parse_ctx(bot))
    assert caught.value.key == "missing_argument"
    assert caught.value.data == {"label": "quantity", "given": "Relecture"}


async def test_poll_examples_through_the_bot(chat: Chat, bot: Bot) -> None:
    """`/aide reunion`'s poll examples, one after the other: two polls open, then the others answer and choose
    (n°4 does not exist: a French answer saying so, not a usage error)."""
    command = next(c for g in bot.router.groups if g.name == "reunion" for c in g.commands if c.keyword == "sondage")
    replies = [await chat(line, user="alice") for line in bot.router.examples(command)]
    for reply in replies:
        assert_not_a_parse_error(reply)
    assert replies[0].startswith("✅ Sondage n°1 publié dans #cercle-tech : 3 créneaux")
    assert replies[1].startswith("✅ Sondage n°2 publié dans #cercle-tech : 2 créneaux")
    assert all("Aucun sondage n°4" in reply for reply in replies[2:-1])
    assert replies[-1].startswith(
        "Sondages de dates ouverts :\n• n°1 · Technique · réponses jusqu'au vendredi 27 novembre 2026 à 18 h · Point"
    )
    assert "\n• n°2 · Technique · réponses jusqu'au vendredi 27" in replies[-1]
