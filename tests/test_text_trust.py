"""Member text kept whole and inert: links never cut, exact CSV figures, bounded stored text, no bidi controls,
slugs that never hide a subcommand, and messages that say what is true (issue 10, items 9 to 14)."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import AuditEvent, ConsentPosition, ConsentRound, Contribution, Envelope, Meeting
from chatbot.text import chat_safe, visible
from tests.conftest import Chat, plain, refusing_overruns, started_bot
from tests.test_meetings import Channel, tick, utc

TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + "N2Q5ZjM4" * 24 + "%40thread.v2/0?context=x"
MAX_PROPOSAL, MAX_POSITION_REASON, MAX_BUDGET_REASON, MAX_LINK = 3000, 1000, 500, 2000  # chatbot.services.limits
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


async def rows(bot: Bot, model: type) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- 9. links are never cut -----------------------------------------------------------------------------------


def test_a_long_link_is_kept_whole_and_the_words_around_it_are_cut() -> None:
    assert len(TEAMS) > 200
    assert visible(chat_safe(TEAMS, 200)) == TEAMS
    shown = visible(chat_safe("Salle du fond, puis " + TEAMS + " et la suite " * 30, 200))
    assert TEAMS + " " in shown and shown.startswith("Salle du fond") and shown.endswith("…")
    assert len(visible(chat_safe("mot " * 100, 50))) == 50  # words alone are still cut to the limit


def test_links_beyond_the_first_are_left_out_whole_not_cut_when_they_do_not_fit() -> None:
    links = [f"https://exemple.org/{i}/" + "x" * 170 for i in range(5)]
    shown = visible(chat_safe("Voir " + " ".join(links), 80))
    assert shown == "Voir " + links[0] + " …"
    assert not any(link[:40] in shown for link in links[1:])  # none of the others, not even cut
    short = ["https://a.org/1", "https://a.org/2"]
    assert visible(chat_safe(" et ".join(short), 80)) == " et ".join(short)  # what fits is kept


async def test_a_listing_of_declarations_full_of_links_stays_a_chat_message(chat: Chat) -> None:
    links = " ".join(f"https://exemple.org/{i}/" + "x" * 170 for i in range(5))
    for _ in range(8):
        await chat(f"/contrib 1h tech {links}")
    assert len(visible(await chat("/contrib liste"))) < 5000  # Rocket.Chat's default message size


async def test_a_teams_link_is_whole_in_the_announcement_the_list_and_the_reminders(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    channel = Channel(bot)
    await chat(f"/reunion tech 29/03/2027 14h {TEAMS}", user="alice")
    assert f"Visio : {TEAMS}" in plain(chat.posts[-1].text)
    assert (await chat("/reunion liste")).endswith(TEAMS)
    assert await tick(bot, clock, utc(2027, 3, 28, 12)) == 1
    assert f"Visio : {TEAMS}" in channel.take()[0].splitlines()  # the whole link, on a line of its own


# --- 10. an exact duration beside the rounded hours -----------------------------------------------------------


async def test_the_csv_lets_a_spreadsheet_recompute_every_amount_to_the_cent(chat: Chat) -> None:
    for command in (
        "/contrib 1h20 tech",
        "/contrib 50min 29,99€/h tech",
        "/contrib 1min 0,30€/h tech",
        "/contrib 7min tech",
    ):
        await chat(command)
    out = await chat.send("/contrib export")
    table = list(csv.reader(io.StringIO(out[0].attachments[0].content.decode("utf-8-sig")), delimiter=";"))
    header, body = table[0], table[1:]
    assert header[4:7] == ["durée (h)", "taux (€/h)", "montant (€)"] and header[-1] == "durée (min)"
    assert body[0][4:7] + body[0][-1:] == ["1,33", "30,00", "40,00", "80"]
    for row in body:
        minutes, rate, amount = Decimal(row[-1]), Decimal(row[5].replace(",", ".")), Decimal(row[6].replace(",", "."))
        assert (minutes * rate / 60).quantize(Decimal("0.01"), ROUND_HALF_UP) == amount, row


# --- 11. every stored text has a limit ------------------------------------------------------------------------


async def test_a_huge_proposal_is_refused_with_its_limit(chat: Chat, bot: Bot) -> None:
    reply = await chat("/consent " + "Adopter la charte. " * 6000, room="gouvernance")
    assert f"La proposition est trop longue (au plus {MAX_PROPOSAL} caractères)" in reply
    assert await rows(bot, ConsentRound) == 0
    await chat("/consent " + "x" * (MAX_PROPOSAL - 10), room="gouvernance", user="alice")
    assert await rows(bot, ConsentRound) == 1


async def test_a_huge_objection_reason_is_refused_with_its_limit(chat: Chat, bot: Bot) -> None:
    await chat("/consent Adopter la charte", room="gouvernance", user="alice")
    reply = await chat("/consent 1 objection " + "trop cher " * 10_000, room="gouvernance")
    assert f"La raison est trop longue (au plus {MAX_POSITION_REASON} caractères)" in reply
    assert await rows(bot, ConsentPosition) == 0
    await chat("/consent 1 objection trop cher", room="gouvernance")
    assert await rows(bot, ConsentPosition) == 1


async def test_a_huge_amendment_is_refused_and_the_round_stays_open(chat: Chat, bot: Bot) -> None:
    await chat("/consent Adopter la charte", room="gouvernance", user="alice")
    await chat("/consent 1 objection trop cher", room="gouvernance")
    reply = await chat("/consent 1 amender " + "y" * 100_000, room="gouvernance", user="alice")
    assert f"au plus {MAX_PROPOSAL} caractères" in reply
    async with bot.sessions() as session:
        assert list(await session.scalars(select(ConsentRound.status))) == ["open"]


async def test_huge_budget_reasons_are_refused_with_their_limit(chat: Chat, bot: Bot) -> None:
    before = await rows(bot, AuditEvent)
    for command in (
        "/budget ajuster communication -300 " + "erreur " * 15_000,
        "/budget definir communication 2000 2026 " + "erreur " * 15_000,
    ):
        reply = await chat(command)
        assert f"La raison est trop longue (au plus {MAX_BUDGET_REASON} caractères)" in reply, reply
    assert await rows(bot, AuditEvent) == before
    assert "ajustée" in await chat("/budget ajuster communication -300 erreur de saisie")
    await chat("/budget definir communication 1000 2025")  # a year closes only once it has envelopes
    assert "clôturée" in await chat("/budget cloturer 2025")
    reply = await chat("/budget rouvrir 2025 " + "oubli " * 15_000)
    assert f"au plus {MAX_BUDGET_REASON} caractères" in reply
    assert "rouverte" in await chat("/budget rouvrir 2025 oubli de décembre")


async def test_a_huge_meeting_link_is_refused_with_its_limit(chat: Chat, bot: Bot) -> None:
    reply = await chat("/reunion tech jeudi 14h https://visio.example/" + "a" * 20_000)
    assert f"Le lien de la réunion est trop long (au plus {MAX_LINK} caractères)" in reply
    assert await rows(bot, Meeting) == 0
    await chat(f"/reunion tech jeudi 14h {TEAMS}")
    assert await rows(bot, Meeting) == 1


# --- 12. no bidirectional control is stored or echoed ---------------------------------------------------------


async def test_bidi_controls_are_neither_stored_nor_echoed(chat: Chat, bot: Bot) -> None:
    reply = await chat(f"/contrib 1h tech Relecture{BIDI} du wiki")
    assert "Relecture du wiki" in reply and not set(BIDI) & set(reply)
    await chat("/consent Adopter \u202ela charte\u202c", room="gouvernance", user="alice")
    await chat("/consent 1 ok", room="gouvernance")
    await chat("/consent 1 clore", room="gouvernance", user="alice")
    register = await chat("/decisions")
    assert "Adopter la charte" in register and not set(BIDI) & set(register)
    async with bot.sessions() as session:
        stored = [
            *await session.scalars(select(Contribution.description)),
            *await session.scalars(select(ConsentRound.text)),
        ]
    assert stored == ["Relecture du wiki", "Adopter la charte"]


def test_bidi_controls_are_dropped_from_any_echo_and_any_csv_cell() -> None:
    from chatbot.text import spreadsheet_cell

    assert visible(chat_safe(f"n°1{BIDI} · alice")) == "n°1 · alice"
    assert spreadsheet_cell(f"ab{BIDI}c") == "abc"


def test_an_invisible_character_does_not_let_a_formula_through_the_csv_guard() -> None:
    from chatbot.text import spreadsheet_cell

    for sneaky in ("\ufeff=1+1", "\u200b=1+1", "\u202e=1+1", "\u2066@SUM(A1)", " =1+1", "\xa0+1"):
        assert spreadsheet_cell(sneaky).startswith("'"), sneaky
    assert spreadsheet_cell("Atelier = 2h") == "Atelier = 2h"


async def test_the_csv_exports_guard_a_formula_behind_a_byte_order_mark(chat: Chat) -> None:
    await chat("/contrib 1h tech \ufeff=1+1")
    out = await chat.send("/contrib export")
    body = out[0].attachments[0].content.decode("utf-8-sig").splitlines()[1]
    assert body.split(";")[7].startswith("'")  # the description


# --- 13. a new envelope's slug never hides a subcommand or an argument's word ---------------------------------


async def test_a_slug_that_is_a_subcommand_or_an_argument_word_is_refused(chat: Chat, bot: Bot) -> None:
    envelopes = await rows(bot, Envelope)
    for word in ("journal", "audit", "fixer", "liste", "export", "csv", "prevoir", "Annuler", "hier", "mois", "moi"):
        reply = await chat(f'/budget creer {word} "Journal" 100')
        assert "est déjà un mot des commandes" in reply, (word, reply)
        assert "Exemple" in reply
    assert await rows(bot, Envelope) == envelopes
    assert "Journal du budget 2026" in await chat("/budget journal")
    assert "créée pour 2026" in await chat('/budget creer journal-coop "Journal" 100')


# --- 14. messages that say what is true -----------------------------------------------------------------------


async def test_a_refused_overrun_says_how_far_the_envelope_is_already_overrun(
    settings: Settings, clock: FixedClock
) -> None:
    async with started_bot(settings, clock) as warned:
        for hours in (24, 24, 15):  # 1 890 € in a 1 000 € envelope: overrun, warned
            await Chat(warned)(f"/contrib {hours}h orientation")
    async with started_bot(refusing_overruns(settings), clock) as bot:
        chat = Chat(bot)
        reply = await chat("/contrib 1h orientation")
        assert "l'enveloppe Orientation est déjà dépassée de 890 €, elle ne peut pas prendre 30 € de plus" in reply
        assert "-890" not in reply
        overview = await chat("/budget")
        assert "Orientation (`orientation`) : dépassée de 890 € / 1 000 €" in overview
        assert "-" not in overview.split("Orientation")[1].split("\n")[0]


async def test_an_exhausted_envelope_is_called_so(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(refusing_overruns(settings), clock) as bot:
        chat = Chat(bot)
        await chat("/contrib 1000€ orientation")
        reply = await chat("/contrib 1h orientation")
        assert "l'enveloppe Orientation est épuisée, elle ne peut pas prendre 30 €" in reply
        assert "ne reste que 0" not in reply


async def test_a_work_date_in_year_1_names_the_budget_years_and_suggests_nothing_refused(chat: Chat, bot: Bot) -> None:
    for command in ("/contrib 1h tech 01/01/0001", "/contrib 1h tech le 3 mars 0001"):
        reply = await chat(command)
        assert "Il n'y a pas de budget pour l'an 1 : les années budgétaires vont de 2000 à 2099" in reply, reply
        assert "/budget definir tech 3000 1" not in reply
    assert await rows(bot, Contribution) == 0


async def test_a_member_name_with_no_letter_is_named_as_typed(chat: Chat) -> None:
    """`_` and `-` are usernames Rocket.Chat accepts: looked up as typed, and named so when unknown."""
    for command in ("/contrib liste @_", "/contrib liste @-", "/contrib liste @__"):
        reply = await chat(command)
        assert "Je ne connais pas encore de membre « " in reply, reply
        assert "«  »" not in reply


async def test_an_empty_quoted_word_is_shown_as_typed_not_as_nothing(chat: Chat) -> None:
    for command in ('/budget creer "" "X" 100', '/budget definir "" 100', '/contrib liste ""', '/aide ""'):
        reply = await chat(command)
        assert '« "" »' in reply and "«  »" not in reply, (command, reply)


async def test_a_year_written_in_full_is_not_told_to_be_written_in_full(chat: Chat) -> None:
    reply = await chat("/budget 1999")
    assert "Année invalide : « 1999 ». Une année budgétaire s'écrit en entier, de 2000 à 2099" in reply


async def test_an_adjustment_below_zero_says_where_it_would_land(chat: Chat) -> None:
    reply = await chat("/budget ajuster communication -3000 erreur")
    assert "L'enveloppe passerait sous zéro : elle est à 2 500 €, et -3 000 € la mettrait à -500 €." in reply
