"""What a QA pass through the console found in /contrib and /budget, kept fixed."""

from __future__ import annotations

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from tests.conftest import Chat, refusing_overruns, started_bot
from tests.helpers import envelope_row, snapshot


async def test_a_mistyped_year_is_refused_not_taken_as_a_reason(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    for line in (
        "/budget definir tech 5000 20277",
        "/budget ajuster tech +100 20277 don",
        "/budget definir tech 5000 0",
    ):
        reply = await chat(line)
        assert reply.startswith("Année invalide"), reply
    assert "Année invalide : « 1999 »" in await chat("/budget creer fetes 100 1999")
    assert await snapshot(bot) == before


async def test_future_dates_in_a_declaration_are_refused(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    for when in ("demain", "après-demain", "lundi prochain"):
        reply = await chat(f"/contrib 2h tech {when} Atelier")
        assert f"« {when} » est dans le futur" in reply, reply
        assert "/contrib prevoir" in reply
    assert await snapshot(bot) == before


async def test_cancelling_a_partly_realised_intention_says_what_it_gives_back(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 20h orientation", user="alice")
    await chat("/contrib 1h orientation", user="alice")
    before = await envelope_row(bot, "orientation")
    reply = await chat("/contrib annuler 1", user="alice")
    assert "Intention n°1 annulée (600 € prévus, 570 € rendus à l'enveloppe)." in reply
    after = await envelope_row(bot, "orientation")
    assert (before.committed_cents - after.committed_cents, after.spent_cents) == (57000, 3000)


async def test_an_identical_declaration_is_recorded_but_pointed_out(chat: Chat, bot: Bot) -> None:
    first = await chat("/contrib 7h tech hier Migration", user="alice")
    assert "même déclaration" not in first
    second = await chat("/contrib 7h tech hier Migration", user="alice")
    assert "C'est la même déclaration que la n°1" in second
    assert "`/contrib annuler 2`" in second
    assert (await envelope_row(bot, "tech")).spent_cents == 2 * 21000
    other_day = await chat("/contrib 7h tech Migration", user="alice")
    assert "même déclaration" not in other_day


async def test_defining_below_what_is_used_shows_the_overrun(chat: Chat) -> None:
    await chat("/contrib 24h orientation")
    await chat("/contrib 11h orientation")  # 1 050 €
    reply = await chat("/budget definir orientation 100")
    assert "Enveloppe Orientation 2026 fixée à 100 €." in reply
    assert "Enveloppe Orientation 2026 : dépassée de 950 €" in reply
    detail = await chat("/budget orientation")
    assert "L'enveloppe est épuisée" in detail
    assert "sera épuisée vers" not in detail


async def test_unknown_words_get_the_closest_envelope_or_the_member_form(chat: Chat) -> None:
    reply = await chat("/budget tehc")
    assert "Cercle ou enveloppe inconnu : « tehc ». Vouliez-vous dire : tech ?" in reply
    reply = await chat("/contrib liste bob")
    assert "Je ne connais ni cercle ni enveloppe « bob ». Pour un membre, écrivez `@bob`" in reply
    reply = await chat("/budget definir tehc 5000")
    assert "Vouliez-vous dire : tech ?" in reply


async def test_refusal_examples_fit_the_envelope(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(refusing_overruns(settings), clock) as bot:
        chat = Chat(bot)
        await chat("/budget taux orientation 10")
        reply = await chat("/contrib 3h 12€/h orientation")
        assert "Exemple : `/contrib 3h 10 €/h orientation`" in reply
        assert "1 h × 10 €/h" in await chat("/contrib 1h 10 €/h orientation")  # the example itself is valid
        await chat("/budget definir orientation 20")
        reply = await chat("/contrib 3h orientation")
        assert "Refusé : 30 € dépasserait l'enveloppe Orientation" in reply
        assert "`/budget orientation`" in reply


async def test_export_counts_lines_in_good_french(chat: Chat) -> None:
    await chat("/contrib 1h tech")
    assert "Export des contributions 2026 : 1 ligne, total" in await chat("/contrib export")
    assert "Export des contributions 2025 : 0 ligne," in await chat("/contrib export 2025")
