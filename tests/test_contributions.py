"""/contrib on both databases: amounts to the cent, totals, intentions, thresholds, overruns, cancelling."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from tests.conftest import Chat, message
from tests.helpers import assert_totals_consistent, count, envelope_row, snapshot


@pytest.mark.parametrize(
    ("command", "amount_text", "cents"),
    [
        ("/contrib 3h tech", "3 h × 30 € /h = 90 €", 9000),
        ("/contrib 45min tech", "45 min × 30 € /h = 22,50 €", 2250),
        ("/contrib 1h20 25€/h tech", "1 h 20 × 25 € /h = 33,33 €", 3333),
        ("/contrib 50min 29,99€/h tech", "50 min × 29,99 € /h = 24,99 €", 2499),
        ("/contrib 2,5h tech", "2 h 30 × 30 € /h = 75 €", 7500),
        ("/contrib 1min 0,30€/h tech", "1 min × 0,30 € /h = 0,01 €", 1),  # 0.5 cent rounds half up
        ("/contrib 250,50 € formation", "forfait 250,50 €", 25050),
    ],
)
async def test_amounts_are_exact_to_the_cent(chat: Chat, bot: Bot, command: str, amount_text: str, cents: int) -> None:
    reply = await chat(command)
    assert amount_text.replace(" /h", "/h") in reply
    slug = "formation" if "formation" in command else "tech"
    row = await envelope_row(bot, slug)
    assert row.spent_cents == cents
    await assert_totals_consistent(bot)


async def test_every_reply_shows_what_is_left(chat: Chat) -> None:
    await chat("/contrib 3h tech", user="alice")
    reply = await chat("/contrib 1h30 tech", user="bruno")
    assert "Enveloppe Technique 2026 : reste 2 865 € sur 3 000 € (4 % engagé)." in reply


async def test_circle_inferred_from_its_channels(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib 2h Relecture des statuts", room="cercle-communication")
    assert "enveloppe Communication 2026" in reply
    reply = await chat("/contrib 1h", room="cercle-sante-prive")
    assert "enveloppe Santé au travail 2026" in reply
    # An explicit circle wins over the channel's.
    reply = await chat("/contrib 1h tech", room="cercle-communication")
    assert "enveloppe Technique 2026" in reply


async def test_missing_circle_outside_circle_channels_is_asked_for(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib 2h Relecture", room="general")
    assert reply.startswith("Pour quel cercle ou quelle enveloppe ?")
    assert "Exemple" in reply
    assert await count(bot, "contribution") == 0


async def test_typo_in_circle_suggests_closest(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib 2h #cercle-tehc Relecture")
    assert "Cercle ou enveloppe inconnu : « #cercle-tehc »" in reply
    assert "Vouliez-vous dire : tech ?" in reply
    reply = await chat("/contrib 2h comunication")
    assert "Vouliez-vous dire : communication ?" in reply
    assert await count(bot, "contribution") == 0


async def test_work_date_forms(chat: Chat, bot: Bot) -> None:
    assert "travail du mercredi 25 novembre 2026" in await chat("/contrib 1h tech hier")
    assert "travail du jeudi 12 mars 2026" in await chat("/contrib 1h tech 12/03")
    assert "travail du jeudi 12 mars 2026" in await chat("/contrib 1h tech le 12 mars Atelier")
    assert "travail du lundi 23 novembre 2026" in await chat("/contrib 1h lundi tech")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/contrib 0h tech", "La durée doit être positive"),
        ("/contrib -3h tech", "La durée doit être positive"),
        ("/contrib 25h tech", "25 h en une seule déclaration, c'est plus que le maximum (24 h)"),
        ("/contrib 3h 45€/h tech", "Le taux 45 €/h dépasse le plafond de l'enveloppe Technique (30 €/h)"),
        ("/contrib 2h tech 30/11/2026", "est dans le futur"),
        ("/contrib 2h tech 31/02", "Cette date n'existe pas"),
        ("/contrib 150€ formation", "le forfait doit être entre 200 € et 400 €"),
        ("/contrib 450€ formation", "le forfait doit être entre 200 € et 400 €"),
        ("/contrib 3h formation", "ne prend que des montants forfaitaires (entre 200 € et 400 €)"),
        ("/contrib 250€ 25€/h formation", "Un taux horaire n'a de sens qu'avec une durée"),
        ("/contrib 2h tech 12/03/2025", "Pas d'enveloppe « tech » pour 2025"),
        ("/contrib tech", "Il manque la durée ou le montant"),
        ("/contrib", "Il manque la durée ou le montant"),
        ("/contrib 3h 2h tech", "Vous avez donné deux fois : la durée ou le montant"),
    ],
)
async def test_bad_input_gets_french_error_with_example_and_changes_nothing(
    chat: Chat, bot: Bot, command: str, expected: str
) -> None:
    before = await snapshot(bot)
    reply = await chat(command)
    assert expected in reply
    assert "Exemple" in reply or "ex. " in reply or "`/" in reply
    assert await snapshot(bot) == before


async def test_description_cannot_ping_or_format(chat: Chat, bot: Bot) -> None:
    out = await chat.send("/contrib 2h tech Réunion avec @all et @here, *gras* [lien](http://x.y) :smile:")
    text = out[0].text
    assert "@all" not in text and "@here" not in text
    assert "*gras*" not in text and "](" not in text and ":smile:" not in text
    # The member still reads their words.
    from chatbot.text import visible

    assert "Réunion avec @all et @here" in visible(text)


async def test_replayed_message_is_counted_once(chat: Chat, bot: Bot) -> None:
    first = await chat.send("/contrib 2h tech", message_id="msg-1")
    again = await chat.send("/contrib 2h tech", message_id="msg-1")
    assert first and again == []
    assert (await envelope_row(bot, "tech")).spent_cents == 6000
    assert await count(bot, "contribution") == 1


async def test_intention_commits_then_declarations_realise_it(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib prevoir 20h tech Refonte du site", user="alice")
    assert "Intention n°1 enregistrée : 20 h × 30 €/h = 600 €" in reply
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (0, 60000)
    assert "[#budget-contributif]" not in reply
    assert any("annonce l'intention n°1" in p.text for p in chat.posts)

    reply = await chat("/contrib 5h tech Maquettes", user="alice")
    assert "Réalise l'intention n°1 (reste prévu : 450 €)" in reply
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (15000, 45000)

    # Someone else's declaration does not realise alice's intention.
    await chat("/contrib 1h tech", user="bruno")
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (18000, 45000)

    # Cancelling the declaration gives the intention its share back; cancelling the intention frees the rest.
    await chat("/contrib annuler 2", user="alice")
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (3000, 60000)
    reply = await chat("/contrib annuler 1", user="alice")
    assert "Intention n°1 annulée (600 € prévus, 600 € rendus à l'enveloppe)" in reply
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (3000, 0)
    await assert_totals_consistent(bot)


async def test_declaring_more_than_the_intention_never_commits_negatively(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 2h tech", user="alice")
    await chat("/contrib 3h tech", user="alice")
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (9000, 0)
    await chat("/contrib annuler 2", user="alice")
    row = await envelope_row(bot, "tech")
    assert (row.spent_cents, row.committed_cents) == (0, 6000)
    await assert_totals_consistent(bot)


async def test_above_threshold_without_intention_is_recorded_but_flagged_and_mirrored(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib 12h tech Migration du serveur", user="alice")
    assert "Contribution n°1 enregistrée" in reply
    assert "annoncez le travail avant avec `/contrib prevoir`" in reply
    assert "(Signalé dans #budget-contributif.)" in reply
    [post] = chat.posts
    assert post.room_name == "budget-contributif"
    assert "alice a déclaré la contribution n°1" in post.text
    assert await count(bot, "contribution", "flagged") == 1


async def test_above_threshold_with_intention_is_not_flagged(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 12h tech Migration", user="alice")
    chat.posts.clear()
    reply = await chat("/contrib 12h tech Migration", user="alice")
    assert "signalée" not in reply and "annoncez" not in reply
    assert chat.posts == []


async def test_warning_at_80_percent_then_overrun_warned_and_mirrored(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 24h orientation", user="alice")  # 720 € of 1 000 €
    reply = await chat("/contrib 3h orientation", user="bruno")  # 810 €
    assert "⚠️ 81 % de l'enveloppe est déjà engagé." in reply
    chat.posts.clear()
    reply = await chat("/contrib 7h orientation", user="bruno")  # 1 020 €
    assert "🚨 Enveloppe dépassée de 20 €" in reply
    assert "Enveloppe Orientation 2026 : dépassée de 20 €" in reply
    assert any("bruno a déclaré la contribution n°3" in p.text for p in chat.posts)
    row = await envelope_row(bot, "orientation")
    assert row.spent_cents + row.committed_cents == 102000


@pytest.fixture
def refusing(settings: Settings) -> Settings:
    return dataclasses.replace(settings, budget=dataclasses.replace(settings.budget, overrun_policy="refuse"))


async def test_overrun_refused_when_configured(refusing: Settings, clock: FixedClock) -> None:
    bot = Bot.create(refusing, clock=clock)
    await bot.start(auto_migrate=False)
    try:
        chat = Chat(bot)
        await chat("/contrib 24h orientation")
        await chat("/contrib 8h orientation")  # 960 €
        before = await snapshot(bot)
        reply = await chat("/contrib 2h orientation")
        assert "Refusé : 60 € dépasserait l'enveloppe Orientation, où il ne reste que 40 €" in reply
        assert await snapshot(bot) == before
        assert "Contribution n°3" in await chat("/contrib 1h20 orientation")  # exactly 40 €: allowed
        assert (await envelope_row(bot, "orientation")).spent_cents == 100000
    finally:
        await bot.close()


async def test_concurrent_declarations_never_overrun_a_refusing_envelope(refusing: Settings, clock: FixedClock) -> None:
    bot = Bot.create(refusing, clock=clock)
    await bot.start(auto_migrate=False)
    try:
        # 40 members each try to declare 1 h (30 €) at once on a 1 000 € envelope: exactly 33 fit.
        replies = await asyncio.gather(
            *(bot.handle(message("/contrib 1h orientation", user=f"membre{i}")) for i in range(40))
        )
        accepted = sum("enregistrée" in r[0].text for r in replies)
        refused = sum("Refusé" in r[0].text for r in replies)
        assert (accepted, refused) == (33, 7)
        row = await envelope_row(bot, "orientation")
        assert row.spent_cents == 33 * 3000
        await assert_totals_consistent(bot)
    finally:
        await bot.close()


async def test_cancel_rules(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech", user="alice")
    before = await snapshot(bot)
    reply = await chat("/contrib annuler 1", user="bruno")
    assert "La contribution n°1 est celle de alice" in reply
    assert await snapshot(bot) == before
    assert "Aucune contribution n°99" in await chat("/contrib annuler 99", user="alice")
    assert "Contribution n°1 annulée (60 €)" in await chat("/contrib annuler n°1", user="alice")
    assert "déjà annulée" in await chat("/contrib annuler 1", user="alice")
    assert (await envelope_row(bot, "tech")).spent_cents == 0


async def test_admin_may_cancel_anyones_declaration_and_it_is_audited(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech", user="alice")
    before = await snapshot(bot)
    assert "dites pourquoi vous l'annulez" in await chat("/contrib annuler 1", user="camille")  # alice will be told
    assert await snapshot(bot) == before
    reply = await chat("/contrib annuler 1 doublon", user="camille")
    assert "Contribution n°1 annulée (60 €). Elle était au nom de alice." in reply
    assert await count(bot, "audit_event", "action = 'cancel'") == 1
    journal = await chat("/budget journal tech")
    assert "camille · tech : contribution de 60 € annulée (n°1) — doublon" in journal


async def test_closed_year_takes_no_more_declarations(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech")
    asked = await chat("/budget cloturer 2026")  # a line not invoiced yet: the report, and a question
    assert "`/budget cloturer 2026 confirmer`" in asked and "est clôturée" not in asked
    assert "L'année 2026 est clôturée" in await chat("/budget cloturer 2026 confirmer")
    before = await snapshot(bot)
    assert "L'année 2026 est clôturée : elle ne prend plus" in await chat("/contrib 1h tech", user="alice")
    assert "L'année 2026 est clôturée" in await chat("/contrib annuler 1")
    assert "L'année 2026 est clôturée" in await chat("/budget definir tech 5000")
    assert await snapshot(bot) == before
    assert "(clôturé)" in await chat("/budget")
    assert "rouverte" in await chat("/budget rouvrir 2026 oubli de décembre")
    assert "Contribution n°2" in await chat("/contrib 1h tech", user="alice")


async def test_listing_filters(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    await chat("/contrib 2h tech 12/03 Atelier", user="alice")
    await chat("/contrib 1h communication Affiche", user="alice")
    await chat("/contrib 3h tech", user="bruno")
    mine = await chat("/contrib liste", user="alice")
    assert "Contributions (de alice · 2026) : 2, total déclaré 90 €" in mine
    month = await chat("/contrib liste moi mois", user="alice")
    assert "1, total déclaré 30 €" in month and "novembre 2026" in month
    tech = await chat("/contrib liste tech", user="alice")
    assert "Contributions (enveloppe tech · 2026) : 2, total déclaré 150 €" in tech
    assert "bruno" in tech and "alice" in tech
    other = await chat("/contrib liste @bruno", user="alice")
    assert "de bruno" in other and "90 €" in other
    assert "Je ne connais pas encore de membre « inconnu »" in await chat("/contrib liste @inconnu")
    assert "Aucune contribution (de carla · 2025)" in await chat("/contrib liste 2025", user="carla")


async def test_export_csv_for_the_accountant(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 1h30 tech =SUM(A1) Atelier", user="alice")
    await chat("/contrib 250€ formation Nextcloud", user="bruno")
    await chat("/contrib 1h tech", user="bruno")
    await chat("/contrib annuler 3", user="bruno")
    out = await chat.send("/contrib export")
    assert "Export des contributions 2026 : 3 lignes, total déclaré 295 €" in out[0].text.replace("\u202f", " ")
    [attachment] = out[0].attachments
    assert attachment.filename == "contributions-2026.csv"
    content = attachment.content.decode("utf-8")
    assert content.startswith(
        "\ufeffn°;date;membre;enveloppe;durée (h);taux (€/h);montant (€);description;statut;signalement;"
        "intention (n°);référence facture;facturée le;payée le;durée (min)\r\n"
    )
    lines = content.splitlines()
    assert lines[1] == "1;26/11/2026;alice;Technique;1,50;30,00;45,00;'=SUM(A1) Atelier;déclarée;;;;;;90"
    assert lines[2] == "2;26/11/2026;bruno;Formation;;;250,00;Nextcloud;déclarée;;;;;;"
    assert lines[3] == "3;26/11/2026;bruno;Technique;1,00;30,00;30,00;;annulée;;;;;;60"
