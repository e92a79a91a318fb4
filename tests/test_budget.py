"""/budget on both databases: overview, detail, admin changes with their audit trail, permissions."""

from __future__ import annotations

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from tests.conftest import Chat
from tests.helpers import count, envelope_row, snapshot


async def test_overview_lists_every_envelope_with_totals(chat: Chat) -> None:
    await chat("/contrib 3h tech")
    await chat("/contrib prevoir 10h communication")
    reply = await chat("/budget")
    lines = reply.splitlines()
    assert lines[0] == "**Budget contributif 2026** — reste / montant"
    assert "• Technique (`tech`) : 2 910 € / 3 000 € ░░░░░░░░░░ 3 % · dépensé 90 €, prévu 0 €" in lines
    assert "• Communication (`communication`) : 2 200 € / 2 500 € ▓░░░░░░░░░ 12 % · dépensé 0 €, prévu 300 €" in lines
    assert "• Inter-CAE (`inter-cae`) : 2 000 € / 2 000 € ░░░░░░░░░░ 0 % · dépensé 0 €, prévu 0 €" in lines
    assert lines[-1] == "Total : reste 14 610 € / 15 000 € · dépensé 90 €, prévu 300 €"
    assert len(lines) == 9  # header, 7 envelopes, total


async def test_detail_shows_recent_contributions_and_pace(chat: Chat, clock: FixedClock, at: object) -> None:
    await chat("/contrib 10h communication 15/01 Plaquette", user="alice")
    await chat("/contrib 2h communication Affiche", user="bruno")
    reply = await chat("/budget Communication")
    assert reply.startswith("**Enveloppe Communication** (`communication`) — 2026")
    assert "Taux plafond : 30 €/h" in reply
    assert "• n°2 · 26/11/2026 · bruno · 2 h · 60 € · Affiche" in reply
    assert "• n°1 · 15/01/2026 · alice · 10 h · 300 € · Plaquette" in reply
    assert "tiendra jusqu'à la fin de l'année" in reply


async def test_detail_pace_warns_when_the_envelope_runs_out_this_year(chat: Chat, clock: FixedClock) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris")))
    for day in ("05/01", "20/01", "10/02", "25/02"):
        await chat(f"/contrib 8h orientation {day}")  # 960 € in 60 days on 1 000 €
    await chat("/contrib prevoir 1h orientation")
    reply = await chat("/budget orientation")
    assert "Au rythme actuel, l'enveloppe sera épuisée vers le" in reply
    assert "mars 2026" in reply


async def test_unknown_year_and_envelope(chat: Chat) -> None:
    assert "Aucune enveloppe pour 2025" in await chat("/budget 2025")
    reply = await chat("/budget comunication")
    assert "Je ne comprends pas la fin de la commande : « comunication »" in reply or "Vouliez-vous" in reply


@pytest.mark.parametrize(
    "command",
    [
        "/budget definir communication 5000",
        "/budget ajuster communication -300 « erreur »",
        "/budget creer evenements « Événements » 1500",
        "/budget taux tech 28",
        "/budget cloturer 2025",
        "/budget rouvrir 2025 oubli",
    ],
)
async def test_admin_subcommands_are_refused_to_members(chat: Chat, bot: Bot, command: str) -> None:
    before = await snapshot(bot)
    reply = await chat(command, user="alice")
    assert reply.startswith("Cette commande est réservée aux administrateurs du budget")
    assert await snapshot(bot) == before


async def test_define_adjust_create_rate_are_audited(chat: Chat, bot: Bot) -> None:
    assert "Enveloppe Communication 2026 fixée à 5 000 €." in await chat("/budget definir communication 5000 vote AG")
    reply = await chat("/budget ajuster communication -300 « erreur de saisie »")
    assert "ajustée de -300 € ; nouveau montant 4 700 €. Raison : erreur de saisie" in reply
    assert "ajustée de +250,50 €" in await chat("/budget ajuster communication +250,50 don")
    reply = await chat('/budget creer evenements "Événements" 1500')
    assert "Enveloppe Événements (`evenements`) créée pour 2026 : 1 500 €, taux plafond 30 €/h." in reply
    assert "Taux plafond de l'enveloppe Technique 2026 : 28 €/h." in await chat("/budget taux tech 28")
    assert (await envelope_row(bot, "communication")).amount_cents == 495050
    assert (await envelope_row(bot, "tech")).rate_cents == 2800
    assert await count(bot, "audit_event", "actor_id IS NOT NULL") == 5

    journal = await chat("/budget journal")
    assert "camille · communication : 2 500 € → 5 000 € — vote AG" in journal
    assert "camille · communication ajustée : 5 000 € → 4 700 € — erreur de saisie" in journal
    assert "camille · enveloppe evenements créée : 1 500 €" in journal
    assert "camille · tech : taux 30 €/h → 28 €/h" in journal

    # The new envelope and the new rate are usable at once.
    assert "Contribution n°1" in await chat("/contrib 2h evenements", user="alice")
    assert "dépasse le plafond de l'enveloppe Technique (28 €/h)" in await chat("/contrib 1h tech 30€/h", user="alice")
    assert "1 h × 28 €/h = 28 €" in await chat("/contrib 1h tech", user="alice")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/budget ajuster communication -3000 trop", "passerait sous zéro"),
        ("/budget ajuster communication -300", "Il manque la raison."),
        ("/budget ajuster communication 300 raison", "Indiquez le sens de l'ajustement avec + ou −"),
        ("/budget definir communication -5", "Le montant ne peut pas être négatif"),
        ("/budget definir", "Il manque le cercle ou l'enveloppe"),
        ("/budget creer inter-cae « Inter-CAE » 2000", "L'enveloppe « inter-cae » existe déjà pour 2026"),
        ("/budget creer com « Com » 2000", "existe déjà"),
        ("/budget taux tech 31", "au plus 30 €/h"),
        ("/budget taux tech 0", "Le taux doit être positif"),
        ("/budget cloturer 2027", "On ne peut pas clôturer 2027"),
        ("/budget rouvrir 2025 oubli", "L'année 2025 n'est pas clôturée."),
        ("/budget definir communication 12,345", "Montant au centime près"),
    ],
)
async def test_admin_mistakes_get_french_errors_and_change_nothing(
    chat: Chat, bot: Bot, command: str, expected: str
) -> None:
    before = await snapshot(bot)
    reply = await chat(command)
    assert expected in reply
    assert await snapshot(bot) == before


async def test_define_creates_next_years_envelope(chat: Chat, bot: Bot) -> None:
    assert "Enveloppe Technique 2027 fixée à 3 500 €." in await chat("/budget definir tech 3500 2027")
    row = await envelope_row(bot, "tech", 2027)
    assert (row.amount_cents, row.rate_cents, row.circle_id is not None) == (350000, 3000, True)
    reply = await chat("/budget 2027")
    assert "• Technique (`tech`) : 3 500 € / 3 500 €" in reply
    assert len(reply.splitlines()) == 4  # header, tech, total, the envelopes of 2026 not carried over yet
    assert reply.splitlines()[-1].startswith("Pas encore reconduites de 2026 à 2027 : Communication (`communication`)")


async def test_year_close_is_audited_and_listed(chat: Chat, bot: Bot) -> None:
    await chat("/budget definir tech 1000 2025")  # a year without envelopes has nothing to close
    await chat("/budget cloturer 2025")
    assert "déjà clôturée" in await chat("/budget cloturer 2025")
    journal = await chat("/budget journal 2025")
    assert "camille · année 2025 clôturée" in journal


async def test_journal_says_what_it_leaves_out_and_pages_through_it(chat: Chat) -> None:
    """The envelope's creation and 20 changes: the first answer shows the 15 newest and the exact command for the
    other 6; that page shows them and no more; a page beyond the end says where the last one is."""
    for step in range(1, 21):
        assert "ajustée" in await chat(f"/budget ajuster communication +{step} don n°{step}")
    first = await chat("/budget journal communication")
    lines = first.splitlines()
    assert len(lines) == 1 + 15 + 1
    assert "don n°20" in lines[1] and "don n°6" in lines[15]
    assert lines[-1] == "… et 6 autres : `/budget journal communication 2026 suite 2`"
    second = await chat("/budget journal communication 2026 suite 2")
    lines = second.splitlines()
    assert lines[0].endswith("— page 2/2")
    assert [line.rsplit("n°", 1)[1] for line in lines[1:-1]] == ["5", "4", "3", "2", "1"]
    assert lines[-1].endswith("enveloppe communication créée : 2 500 €")
    beyond = await chat("/budget journal communication suite 4")
    assert (
        beyond == "Le journal de 2026 tient en 2 page(s) ; la dernière : `/budget journal communication 2026 suite 2`"
    )
