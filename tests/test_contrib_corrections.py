"""/contrib modifier and /contrib annuler … raison on both databases: each field, totals, rights, audit, the owner
told, refusals that change nothing, overruns named to the keepers, concurrent corrections."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select, text

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import AuditEvent, BudgetYear, Contribution
from tests.conftest import NOW, Chat, message, plain, refusing_overruns, started_bot
from tests.helpers import assert_totals_consistent, envelope_row, snapshot


async def line(bot: Bot, number: int) -> Contribution:
    async with bot.sessions() as session:
        row = await session.get(Contribution, number)
        assert row is not None
        return row


async def audits(bot: Bot, action: str) -> list[AuditEvent]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


async def set_status(bot: Bot, number: int, status: str) -> None:
    """Invoicing is another command: the tests mark a declaration billed or paid directly."""
    async with bot.sessions.begin() as session:
        await session.execute(text("UPDATE contribution SET status = :s WHERE id = :i"), {"s": status, "i": number})


async def spent(bot: Bot, slug: str) -> tuple[int, int]:
    row = await envelope_row(bot, slug)
    return row.spent_cents, row.committed_cents


# --- each field -------------------------------------------------------------------------------------------------


async def test_correct_the_duration(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech Relecture", user="alice")
    reply = await chat("/contrib modifier 1 2h30", user="alice")
    assert reply.startswith(
        "✏️ Contribution n°1 corrigée : 2 h 30 × 30 €/h = 75 €, enveloppe Technique 2026, "
        "travail du jeudi 26 novembre 2026."
    )
    assert "Description : Relecture" in reply
    assert "Changé : durée : 3 h → 2 h 30 ; montant : 90 € → 75 €." in reply
    assert "Technique 2026 : reste 2 925 € sur 3 000 €" in reply
    assert await spent(bot, "tech") == (7500, 0)
    row = await line(bot, 1)
    assert (row.minutes, row.rate_cents, row.amount_cents) == (150, 3000, 7500)
    await assert_totals_consistent(bot)


async def test_correct_the_envelope_moves_the_money(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    reply = await chat("/contrib modifier 1 pour le cercle communication", user="alice")
    assert "3 h × 30 €/h = 90 €, enveloppe Communication 2026" in reply
    assert "Changé : enveloppe : tech → communication." in reply
    assert "Communication 2026 : reste 2 410 € sur 2 500 €" in reply
    assert "Technique 2026 : reste 3 000 € sur 3 000 €" in reply
    assert await spent(bot, "tech") == (0, 0)
    assert await spent(bot, "communication") == (9000, 0)
    await assert_totals_consistent(bot)


async def test_correct_the_date_and_the_rate(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech", user="alice")
    reply = await chat("/contrib modifier 1 date 03/11", user="alice")
    assert "travail du mardi 3 novembre 2026" in reply
    assert "Changé : date : 26/11/2026 → 03/11/2026." in reply
    reply = await chat("/contrib modifier 1 taux 25€/h lundi dernier", user="alice")
    assert "2 h × 25 €/h = 50 €" in reply and "travail du lundi 23 novembre 2026" in reply
    assert "taux : 30 €/h → 25 €/h ; montant : 60 € → 50 € ; date : 03/11/2026 → 23/11/2026" in reply
    assert await spent(bot, "tech") == (5000, 0)
    await assert_totals_consistent(bot)


async def test_correct_the_description_keeps_every_word(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech Relecture", user="alice")
    reply = await chat("/contrib modifier 1 description Réunion de 3h du 12/03 en raison de la panne", user="alice")
    assert "Description : Réunion de 3h du 12/03 en raison de la panne" in reply
    assert "Changé : description : « Relecture » → « Réunion de 3h du 12/03 en raison de la panne »." in reply
    row = await line(bot, 1)
    assert (row.description, row.minutes, row.work_date.day) == (
        "Réunion de 3h du 12/03 en raison de la panne",
        120,
        26,
    )
    await assert_totals_consistent(bot)


async def test_a_flat_amount_and_a_combination_with_a_reason_is_audited(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    reply = await chat("/contrib modifier 1 2h30 communication raison oubli de la pause", user="alice")
    assert "Raison : oubli de la pause" in reply
    [event] = await audits(bot, "correct")
    assert (event.old_cents, event.new_cents, event.reason, event.contribution_id) == (
        9000,
        7500,
        "oubli de la pause",
        1,
    )
    assert event.detail == "durée : 3 h → 2 h 30 ; montant : 90 € → 75 € ; enveloppe : tech → communication"
    journal = await chat("/budget journal communication")
    assert f"contribution corrigée, 90 € → 75 € (n°1) ({event.detail}) — oubli de la pause" in journal
    await chat("/contrib 250€ formation Atelier", user="bruno")
    reply = await chat("/contrib modifier 2 forfait 300 €", user="bruno")
    assert "forfait 300 €, enveloppe Formation 2026" in reply and "Changé : forfait : 250 € → 300 €." in reply
    assert await spent(bot, "formation") == (30000, 0)
    await assert_totals_consistent(bot)


# --- intentions --------------------------------------------------------------------------------------------------


async def test_correcting_a_realising_declaration_keeps_the_intention_exact(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 10h tech Refonte", user="alice")  # n°1: 300 € committed
    await chat("/contrib 3h tech Refonte", user="alice")  # n°2 realises 90 €
    assert await spent(bot, "tech") == (9000, 21000)
    reply = await chat("/contrib modifier 2 5h", user="alice")
    assert "Réalise l'intention n°1 (reste prévu : 150 €)." in reply
    assert await spent(bot, "tech") == (15000, 15000)
    await assert_totals_consistent(bot)
    # Moved to another envelope, the declaration gives its share back to the intention.
    await chat("/contrib modifier 2 communication", user="alice")
    assert await spent(bot, "tech") == (0, 30000)
    assert await spent(bot, "communication") == (15000, 0)
    assert (await line(bot, 2)).intention_id is None
    await assert_totals_consistent(bot)
    # Back on tech it realises the intention again, as a new declaration would.
    await chat("/contrib modifier 2 tech", user="alice")
    assert await spent(bot, "tech") == (15000, 15000)
    assert (await line(bot, 2)).intention_id == 1
    await assert_totals_consistent(bot)


async def test_the_owner_may_correct_an_open_intention(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 20h tech Refonte", user="alice")
    reply = await chat("/contrib modifier 1 30h", user="alice")
    assert reply.startswith("✏️ Intention n°1 corrigée : 30 h × 30 €/h = 900 €, enveloppe Technique 2026.")
    assert await spent(bot, "tech") == (0, 90000)
    await chat("/contrib modifier 1 communication", user="alice")
    assert await spent(bot, "tech") == (0, 0)
    assert await spent(bot, "communication") == (0, 90000)
    await chat("/contrib 2h communication", user="alice")  # realises part of it
    before = await snapshot(bot)
    assert "déjà en partie réalisée" in await chat("/contrib modifier 1 tech", user="alice")
    assert "n'a pas de date de travail" in await chat("/contrib modifier 1 hier", user="alice")
    assert await snapshot(bot) == before
    await assert_totals_consistent(bot)


# --- rights ------------------------------------------------------------------------------------------------------


async def test_only_the_owner_or_an_admin_with_a_reason_and_the_owner_is_told(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    before = await snapshot(bot)
    assert "La contribution n°1 est celle de alice : seuls son auteur et les administrateurs" in await chat(
        "/contrib modifier 1 2h raison erreur", user="bruno"
    )
    assert "dites pourquoi vous la corrigez" in await chat("/contrib modifier 1 2h", user="camille")
    assert await snapshot(bot) == before
    out = await chat.send("/contrib modifier 1 2h raison réunion écourtée", user="camille")
    reply = "\n".join(plain(o.text) for o in out if o.is_reply)
    assert "Elle est au nom de alice" in reply
    [told] = [o for o in out if not o.is_reply]
    assert told.room_name == "@alice" and not told.is_reply
    said = plain(told.text)
    assert "camille a corrigé votre contribution n°1 : durée : 3 h → 2 h ; montant : 90 € → 60 €." in said
    assert "Raison : réunion écourtée" in said
    assert "travail du jeudi 26 novembre 2026" in said
    # Correcting one's own line tells nobody.
    out = await chat.send("/contrib modifier 1 1h", user="alice")
    assert all(o.is_reply for o in out)
    await assert_totals_consistent(bot)


async def test_a_billed_declaration_is_corrected_by_a_treasurer_only(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    await set_status(bot, 1, "billed")
    before = await snapshot(bot)
    assert "est facturée : seule la trésorerie" in await chat("/contrib modifier 1 2h", user="alice")
    assert "est facturée : seule la trésorerie" in await chat("/contrib modifier 1 2h raison x", user="camille")
    assert "déjà été facturée" in await chat("/contrib annuler 1", user="alice")
    assert await snapshot(bot) == before
    out = await chat.send("/contrib modifier 1 2h raison erreur de saisie", user="dominique")
    assert "Contribution n°1 corrigée" in plain(out[0].text)
    assert any(o.room_name == "@alice" for o in out)
    row = await line(bot, 1)
    assert (row.status, row.amount_cents) == ("billed", 6000)
    [event] = await audits(bot, "correct")
    assert event.reason == "erreur de saisie"
    await set_status(bot, 1, "paid")
    assert "est payée : seule la trésorerie" in await chat("/contrib modifier 1 1h", user="alice")
    assert "déjà été payée" in await chat("/contrib annuler 1", user="alice")
    await assert_totals_consistent(bot)


async def test_a_closed_year_is_not_corrected(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    # Closed directly (how `/budget cloturer` asks for confirmation is another command's business); any /budget
    # command makes the bot read the years again.
    async with bot.sessions.begin() as session:
        session.add(BudgetYear(year=2026, closed_at=NOW))
    await chat("/budget")
    before = await snapshot(bot)
    assert "L'année 2026 est clôturée" in await chat("/contrib modifier 1 2h", user="alice")
    assert "L'année 2026 est clôturée" in await chat("/contrib modifier 1 2h raison x", user="camille")
    assert await snapshot(bot) == before


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/contrib modifier 1", "Que faut-il corriger dans la contribution n°1 ? Donnez la nouvelle valeur"),
        ("/contrib modifier 1 oubli", "Je ne sais pas quoi faire de « oubli »"),
        ("/contrib modifier 1 2h oubli", "Exemple : `/contrib modifier 12 2h30 raison oubli`"),
        ("/contrib modifier 1 3h", "se lit déjà ainsi : rien n'a changé"),
        ("/contrib modifier 1 demain", "est dans le futur"),
        ("/contrib modifier 1 30h", "plus que le maximum"),
        ("/contrib modifier 1 2h 1h", "Vous avez donné deux fois"),
        ("/contrib modifier 1 description", "écrivez la nouvelle description"),
        ("/contrib modifier 1 2h raison", "écrivez la raison"),
        ("/contrib modifier 1 date tech", "j'attendais la date du travail"),
        ("/contrib modifier 1 formation", "ne prend que des montants forfaitaires"),
        ("/contrib modifier 1 40€/h", "dépasse le plafond"),
        ("/contrib modifier 1 tehc", "Cercle ou enveloppe inconnu : « tehc »"),
        ("/contrib modifier 99 2h", "Aucune contribution n°99"),
        ("/contrib modifier 2h", "Il manque"),
        (f"/contrib modifier 1 2h raison {'x' * 501}", "La raison est trop longue (au plus 500 caractères)"),
    ],
)
async def test_refused_corrections_change_nothing(chat: Chat, bot: Bot, command: str, expected: str) -> None:
    await chat("/contrib 3h tech", user="alice")
    before = await snapshot(bot)
    reply = await chat(command, user="alice")
    assert expected in reply
    assert "Exemple" in reply or "/contrib" in reply
    assert await snapshot(bot) == before


async def test_a_cancelled_declaration_is_not_corrected(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech", user="alice")
    await chat("/contrib annuler 1", user="alice")
    before = await snapshot(bot)
    assert "est annulée : elle ne se corrige plus" in await chat("/contrib modifier 1 2h", user="alice")
    assert await snapshot(bot) == before


# --- overruns -----------------------------------------------------------------------------------------------------


async def test_a_correction_that_overruns_is_warned_and_mirrored_to_the_keepers(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 20h orientation", user="alice")  # 600 € of 1 000 €
    await chat("/contrib 10h orientation", user="bruno")  # 900 €
    chat.posts.clear()
    reply = await chat("/contrib modifier 2 15h", user="bruno")
    assert "🚨 Enveloppe dépassée de 50 €" in reply
    assert "(Signalé dans #budget-contributif.)" in reply
    [post] = chat.posts
    assert post.room_name == "budget-contributif"
    said = plain(post.text)
    assert "bruno a corrigé la contribution n°2 de bruno : 15 h × 30 €/h = 450 €" in said
    assert "À l'attention de : dominique." in said  # orientation has no keepers: the treasurers
    await assert_totals_consistent(bot)


async def test_a_refusing_policy_refuses_an_overrunning_correction(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(refusing_overruns(settings), clock) as bot:
        chat = Chat(bot)
        await chat("/contrib 20h orientation", user="alice")
        await chat("/contrib 10h orientation", user="alice")
        before = await snapshot(bot)
        reply = await chat("/contrib modifier 2 15h", user="alice")
        assert "Refusé : 150 € dépasserait l'enveloppe Orientation, où il ne reste que 100 €" in reply
        assert await snapshot(bot) == before
        assert "corrigée" in await chat("/contrib modifier 2 13h20", user="alice")  # exactly the 100 € left
        assert (await envelope_row(bot, "orientation")).spent_cents == 100000


async def test_mirrors_name_the_circle_keepers_or_the_treasurers(settings: Settings, clock: FixedClock) -> None:
    circles = tuple(
        dataclasses.replace(c, meeting_keepers=("kim", "@here")) if c.slug == "tech" else c for c in settings.circles
    )
    custom = dataclasses.replace(settings, circles=circles, treasurers=frozenset({"tresor"}))
    async with started_bot(custom, clock) as bot:
        chat = Chat(bot)
        await chat("/contrib 12h tech Migration", user="alice")  # 360 €: above the announcement threshold
        await chat("/contrib 12h inter-cae Rencontre", user="alice")
        tech, inter = (plain(p.text) for p in chat.posts)
        assert "À l'attention de : @here, kim." in tech and "tresor" not in tech
        assert "@here" not in chat.posts[0].text  # a name is echoed inert, never a ping
        assert "À l'attention de : tresor." in inter
        # A declaration that is neither flagged nor over names nobody: it is not mirrored at all.
        chat.posts.clear()
        await chat("/contrib 1h tech", user="alice")
        assert chat.posts == []


# --- cancelling with a reason ----------------------------------------------------------------------------------


async def test_cancel_with_a_reason(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech", user="alice")
    await chat("/contrib 3h tech", user="alice")
    out = await chat.send("/contrib annuler 1 doublon de la n°2", user="alice")
    assert all(o.is_reply for o in out)  # one's own: nobody to tell
    reply = plain(out[0].text)
    assert "Contribution n°1 annulée (60 €)." in reply and "Raison : doublon de la n°2" in reply
    [event] = await audits(bot, "cancel")
    assert event.reason == "doublon de la n°2"
    before = await snapshot(bot)
    assert "dites pourquoi vous l'annulez" in await chat("/contrib annuler 2", user="camille")
    assert await snapshot(bot) == before
    out = await chat.send("/contrib annuler 2 raison : travail non fait", user="camille")
    assert "Elle était au nom de alice." in plain(out[0].text)
    [told] = [o for o in out if not o.is_reply]
    assert told.room_name == "@alice"
    assert "camille a annulé votre contribution n°2 (90 €)." in plain(told.text)
    assert "Raison : travail non fait" in plain(told.text)
    assert await spent(bot, "tech") == (0, 0)
    await assert_totals_consistent(bot)


# --- concurrency -----------------------------------------------------------------------------------------------


async def test_concurrent_corrections_and_cancellations_keep_totals_exact(bot: Bot) -> None:
    chat = Chat(bot)
    for user in ("alice", "bruno", "carla", "dora"):
        await chat("/contrib prevoir 10h tech Refonte", user=user)
        await chat("/contrib 2h tech", user=user)
        await chat("/contrib 2h communication", user=user)
    # Lines 2, 5, 8, 11 are on tech (realising intentions), 3, 6, 9, 12 on communication.
    commands = [
        ("/contrib modifier 2 communication", "alice"),  # tech → communication
        ("/contrib modifier 3 tech 3h", "alice"),  # communication → tech
        ("/contrib modifier 5 4h", "bruno"),
        ("/contrib annuler 6", "bruno"),
        ("/contrib modifier 6 1h", "bruno"),  # races the cancellation: one of the two wins
        ("/contrib modifier 8 communication 1h", "carla"),
        ("/contrib modifier 9 tech", "carla"),
        ("/contrib annuler 11", "dora"),
        ("/contrib modifier 11 5h", "dora"),
        ("/contrib modifier 12 tech raison x", "camille"),
        ("/contrib 1h tech", "emile"),
        ("/contrib annuler 4", "carla"),
    ]
    for _ in range(2):
        replies = await asyncio.gather(*(bot.handle(message(text, user=user)) for text, user in commands))
        assert all(r and "erreur interne" not in r[0].text for r in replies), [r[0].text for r in replies]
        await assert_totals_consistent(bot)
        commands = [
            (t.replace("communication", "TMP").replace("tech", "communication").replace("TMP", "tech"), u)
            for t, u in commands
        ]
