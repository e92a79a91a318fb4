"""/contrib moi: a member's dashboard for the year, its totals, sections and pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import text

from chatbot.app import Bot
from tests.conftest import Chat


async def set_status(bot: Bot, contribution_id: int, status: str) -> None:
    """What the treasurers' commands do to a declaration (invoiced, paid), set directly for the dashboard."""
    async with bot.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE contribution SET status = :s WHERE id = :i"), {"s": status, "i": contribution_id}
        )


async def test_nothing_yet(chat: Chat) -> None:
    reply = await chat("/contrib moi", user="bruno")
    assert reply.startswith("Rien à votre nom en 2026 : ni déclaration ni intention.")
    assert "`/contrib 3h tech Mise à jour du wiki`" in reply


async def test_totals_intentions_invoicing_payment_and_questions(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 10h tech Refonte du site", user="bruno")  # n°1: 300 € planned
    await chat("/contrib 2h tech Refonte, maquettes", user="bruno")  # n°2 realises 60 € of it
    await chat("/contrib 1h tech Relecture", user="bruno")  # n°3 realises 30 € more
    await chat("/contrib 1h30 communication Affiches", user="bruno")  # n°4
    await chat("/contrib 250€ formation Atelier Nextcloud", user="bruno")  # n°5
    await chat("/contrib 1h communication Erreur", user="bruno")  # n°6, cancelled
    await chat("/contrib annuler 6", user="bruno")
    await chat("/contrib 5h tech Autre membre", user="alice")  # not bruno's
    await set_status(bot, 3, "billed")
    await set_status(bot, 5, "paid")
    await chat("/contrib questionner 4 Lesquelles ?", user="alice")

    reply = await chat("/contrib moi", user="bruno")
    lines = reply.split("\n")
    assert lines[0] == "**Votre tableau de bord 2026** (bruno)"
    assert lines[1] == "Par enveloppe (déclaré = à facturer + facturé + payé) :"
    assert lines[2] == (
        "• Technique (tech) : 90 € déclarés (2) — à facturer 60 €, facturé 30 €, payé 0 €"
        " · prévu, pas encore réalisé : 210 €"
    )
    assert lines[3] == "• Communication (communication) : 45 € déclarés (1) — à facturer 45 €, facturé 0 €, payé 0 €"
    assert lines[4] == "• Formation (formation) : 250 € déclarés (1) — à facturer 0 €, facturé 0 €, payé 250 €"
    assert lines[5] == ("Total 2026 : 385 € déclarés — à facturer 105 € (2), facturé 30 € (1), payé 250 € (1)")
    assert lines[6] == "❓ Questions ouvertes sur vos déclarations (1) ; on en parle dans leur fil :"
    assert lines[7] == (
        "• n°4 · communication · 45 € · questionnée le 26/11/2026 par alice : « Lesquelles ? »"
        " — la garder : `/contrib confirmer 4`"
    )
    assert lines[8] == "📝 Vos intentions ouvertes (1) :"
    assert lines[9] == "• n°1 · tech · 90 € réalisés sur 300 € prévus (30 %) · Refonte du site"
    assert lines[10] == "🧾 À facturer (2, 105 €) : déclarées, pas encore facturées"
    assert lines[11].startswith("• n°2 · 26/11/2026 · tech · 2 h × 30 €/h = 60 € · Refonte, maquettes")
    assert lines[12].startswith("• n°4 · 26/11/2026 · communication · 1 h 30 × 30 €/h = 45 € · ❓ questionnée")
    assert lines[13] == "💶 Facturées, en attente de paiement (1, 30 €)"
    assert lines[14] == "• n°3 · 26/11/2026 · tech · 1 h × 30 €/h = 30 € · facturée · Relecture"
    assert len(lines) == 15  # 14 lines under the header: one page, nothing left out


async def test_pages_past_fifteen_lines_with_the_exact_command(chat: Chat) -> None:
    for n in range(30):
        await chat(f"/contrib {n + 1}min tech Tâche {n}", user="bruno")
    # Header block: 3 lines (title of the block, tech, total); then the to-bill section: 1 + 30 lines. 34 in all.
    first = await chat("/contrib moi", user="bruno")
    assert first.split("\n")[0] == "**Votre tableau de bord 2026** (bruno) — page 1/3"
    assert first.endswith("… et 19 autres : `/contrib moi suite 2`")
    second = await chat("/contrib moi suite 2", user="bruno")
    assert second.split("\n")[1] == "🧾 À facturer (30, 232,50 €) : déclarées, pas encore facturées (suite)"
    assert second.endswith("… et 4 autres : `/contrib moi suite 3`")
    third = await chat("/contrib moi suite 3", user="bruno")
    assert "autres" not in third
    shown = [int(n) for page in (first, second, third) for n in re.findall(r"^• n°(\d+) ", page, re.M)]
    assert shown == list(range(1, 31))  # every declaration once, oldest work first
    for page in (first, second, third):
        assert len(page.split("\n")) <= 1 + 1 + 15 + 1  # title, a repeated section header, 15 lines, what is left
    beyond = await chat("/contrib moi suite 4", user="bruno")
    assert beyond == "Votre tableau de bord 2026 tient en 3 page(s) ; la dernière : `/contrib moi suite 3`"


async def test_another_year_and_its_pages_name_the_year(chat: Chat, bot: Bot) -> None:
    await chat("/budget definir tech 3000 2025")
    for n in range(16):
        await chat(f"/contrib {n + 1}min tech 12/03/2025 Tâche {n}", user="bruno")
    assert (await chat("/contrib moi", user="bruno")).startswith("Rien à votre nom en 2026")
    reply = await chat("/contrib moi 2025", user="bruno")
    assert reply.startswith("**Votre tableau de bord 2025** (bruno) — page 1/2")
    assert reply.endswith("… et 5 autres : `/contrib moi 2025 suite 2`")
    assert (await chat("/contrib moi suite 2 2025", user="bruno")) == await chat(
        "/contrib moi 2025 suite 2", user="bruno"
    )
    assert (await chat("/contrib moi l'an dernier", user="bruno")) == reply


async def test_bad_words_are_answered_with_an_example(chat: Chat) -> None:
    reply = await chat("/contrib moi 12", user="bruno")
    assert reply.startswith("Année invalide : « 12 »")
    assert "Exemple : `/contrib moi`" in reply
    assert (await chat("/contrib moi suite 0", user="bruno")).startswith("« suite 0 » : quelle page ?")
