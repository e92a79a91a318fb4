"""Consent as the circles practise it: where each post lands (top-level posts members must see, acknowledgements in
the member's thread), who has not answered in a large room, the decision with who took part, keyword search, and
clarifying questions before positions."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.export_decisions import decisions_csv, decisions_markdown
from chatbot.services import Services
from chatbot.transport.base import Author, Outgoing, ReactionChange, Room, RoomKind
from tests.conftest import Chat, message
from tests.conftest import plain as visible_plain
from tests.helpers import count

GOV = "gouvernance"
THREAD = "thread-of-the-command"


def plain(text: str) -> str:
    return visible_plain(text).replace("**", "")


async def in_thread(bot: Bot, text: str, *, user: str = "alice", room: str = GOV) -> list[Outgoing]:
    """A command typed in a thread of the room (`thread_id` set)."""
    return await bot.handle(dataclasses.replace(message(text, user=user, room_name=room), thread_id=THREAD))


def scheduled(bot: Bot) -> list[Outgoing]:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    return delivered


def members(bot: Bot, names: list[str], room_name: str = GOV) -> None:
    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in names] if r.name == room_name else None

    bot.members_of = members_of


# --- 0. the proposal must be seen ------------------------------------------------------------------------------


async def test_round_post_is_top_level_even_when_the_command_was_typed_in_a_thread(bot: Bot) -> None:
    out = await in_thread(bot, "/consent Adopter la charte 48h")
    post = next(o for o in out if o.id == "consent-1")
    assert post.thread_id is None and post.room_id == f"room-{GOV}" and post.room_name == GOV
    assert "Cycle de consentement n°1" in plain(post.text)
    ack = [o for o in out if o is not post]
    assert len(ack) == 1 and ack[0].thread_id == THREAD and "publié dans #gouvernance" in plain(ack[0].text)


async def test_typed_at_top_level_the_post_is_the_only_message(chat: Chat) -> None:
    out = await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    assert len(out) == 1 and out[0].id == "consent-1" and out[0].thread_id is None and out[0].is_reply


async def test_amendment_and_close_are_top_level_answers_stay_in_thread(bot: Bot) -> None:
    await in_thread(bot, "/consent Adopter la charte 48h")
    answer = await in_thread(bot, "/consent 1 objection trop cher", user="bruno")
    assert len(answer) == 1 and answer[0].thread_id == THREAD  # an acknowledgement: in the member's thread
    state = await in_thread(bot, "/consent 1", user="bruno")
    assert state[0].thread_id == THREAD  # an answer to a member's question: in their thread
    amended = await in_thread(bot, "/consent 1 amender Adopter la charte, sauf l'article 3")
    post = next(o for o in amended if o.id == "consent-2")
    assert post.thread_id is None and post.room_name == GOV and "Cycle n°1 amendé" in plain(post.text)
    await in_thread(bot, "/consent 2 ok", user="chloe")
    closed = await in_thread(bot, "/consent 2 clore")
    outcome = next(o for o in closed if "Cycle n°2 adopté" in plain(o.text))
    assert outcome.thread_id is None and outcome.room_name == GOV
    assert any(o.thread_id == THREAD and "publié" in plain(o.text) for o in closed)


async def test_deadline_outcome_and_reminder_are_top_level_posts(bot: Bot, clock: FixedClock) -> None:
    delivered = scheduled(bot)
    await in_thread(bot, "/consent Adopter la charte 48h")
    for _ in range(2):
        clock.advance(timedelta(hours=25))
        await bot.scheduler.run_due()
    assert len(delivered) == 2
    for post in delivered:
        assert post.thread_id is None and post.room_id == f"room-{GOV}" and not post.is_reply


# --- 0. who has not answered, in a room of 155 -----------------------------------------------------------------


async def test_a_large_room_gets_a_count_and_fifteen_names_the_full_list_in_a_direct_message(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    names = ["alice", "bruno", *(f"membre{i:03d}" for i in range(153))]
    members(bot, names)
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    state = await chat("/consent 1", user="bruno", room=GOV)
    assert "Pas encore répondu : alice, membre000, " in state
    assert "membre013 … et 139 autres (154 en tout ; liste complète en message direct : `/consent 1 attente`)" in state
    assert "membre014" not in state and len(state) < 1200

    out = await chat.send("/consent 1 attente", user="bruno", room=GOV)
    direct = [o for o in out if o.room_name == "@bruno"]
    assert len(direct) == 1 and not direct[0].is_reply
    assert "154 membre(s) n'ont pas encore répondu" in plain(direct[0].text) and "membre152" in direct[0].text
    ack = [o for o in out if o.is_reply]
    assert len(ack) == 1 and ack[0].room_name == GOV and "message direct" in plain(ack[0].text)
    assert "membre152" not in ack[0].text

    in_dm = await chat.send("/consent 1 attente", user="bruno")  # typed in a direct message: answered there
    assert len(in_dm) == 1 and in_dm[0].is_reply and "membre152" in in_dm[0].text

    delivered = scheduled(bot)
    clock.advance(timedelta(hours=24))
    await bot.scheduler.run_due()
    reminder = plain(delivered[-1].text)
    assert "@alice, @membre000" in reminder and "… et 139 autres" in reminder and "@membre152" not in reminder


async def test_waiting_list_takes_no_words(chat: Chat) -> None:
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    assert "extra" in await chat("/consent 1 attente extra", user="bruno", room=GOV)
    assert "Aucun cycle de consentement n°9" in await chat("/consent 9 attente", user="bruno", room=GOV)


@pytest.mark.parametrize("word", ["attente", "manquants"])
async def test_waiting_words(chat: Chat, word: str) -> None:
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    assert "message direct" in await chat(f"/consent 1 {word}", user="bruno", room=GOV)


# --- 6. who took part is part of the decision ------------------------------------------------------------------

ROOM = ["alice", "bruno", "chloe", "dede", "emile", "fanny"]


async def adopt_after_an_amendment(chat: Chat, bot: Bot) -> None:
    members(bot, ROOM)
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat("/consent 1 objection =trop cher pour les petits", user="bruno", room=GOV)
    await chat("/consent 1 ok", user="chloe", room=GOV)
    await chat.send("/consent 1 amender Adopter la charte, sauf l'article 3", user="alice", room=GOV)
    await chat("/consent 2 ok", user="bruno", room=GOV)
    await chat("/consent 2 ok", user="chloe", room=GOV)
    await chat("/consent 2 abstention", user="dede", room=GOV)
    await chat("/consent 2 reserve coût à suivre", user="emile", room=GOV)
    assert "Cycle n°2 adopté" in await chat("/consent 2 clore", user="alice", room=GOV)


async def test_the_decision_lists_who_took_part_and_the_objection_an_amendment_integrated(chat: Chat, bot: Bot) -> None:
    await adopt_after_an_amendment(chat, bot)
    shown = plain(await chat("/decision D-1", user="fanny", room=GOV))
    assert "Ont consenti (2) : bruno, chloe" in shown
    assert "Se sont abstenus (1) : dede" in shown
    assert "Réserves :\n• emile : coût à suivre" in shown
    assert "Objections des cycles précédents, intégrées par amendement :" in shown
    assert "• n°1 — bruno : =trop cher pour les petits → cycle n°2 : « Adopter la charte, sauf l'article 3 »" in shown
    assert "Sans réponse : 2 membre(s) du salon." in shown  # alice (the author) and fanny

    async with bot.sessions() as session:
        entries = await Services.bind(session, bot.settings, bot.clock).decisions.register()
    rows = list(
        csv.reader(io.StringIO(decisions_csv(entries, bot.settings, bot.t, bot.fmt).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[1][8:] == [
        "bruno, chloe",
        "dede",
        "n°1 — bruno : =trop cher pour les petits → cycle n°2 : « Adopter la charte, sauf l'article 3 »",
        "2",
        "publique",
    ]
    markdown = decisions_markdown(entries, bot.settings, bot.t, bot.fmt, bot.clock.now().date()).decode()
    assert "Ont consenti (2) : bruno, chloe." in markdown and "Se sont abstenus (1) : dede." in markdown
    assert "- n°1 — bruno : =trop cher pour les petits → cycle n°2 : « Adopter la charte, sauf l'article 3 »" in (
        markdown
    )
    assert "Sans réponse : 2 membre(s) du salon." in markdown


async def test_without_the_room_members_nobody_is_counted_as_not_answering(chat: Chat, bot: Bot) -> None:
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    await chat("/consent 1 clore", user="alice", room=GOV)
    shown = plain(await chat("/decision D-1", user="fanny", room=GOV))
    assert "Ont consenti (1) : bruno" in shown and "Sans réponse" not in shown


async def test_a_decision_adopted_at_its_deadline_counts_who_did_not_answer(bot: Bot, clock: FixedClock) -> None:
    members(bot, ROOM)
    scheduled(bot)
    bot.scheduler.members_of = bot.members_of
    chat = Chat(bot)
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    for _ in range(2):
        clock.advance(timedelta(hours=25))
        await bot.scheduler.run_due()
    assert "Sans réponse : 5 membre(s) du salon." in plain(await chat("/decision D-1", user="bruno", room=GOV))


# --- 5. clarifying questions before reactions ------------------------------------------------------------------


async def test_questions_go_in_the_round_thread_numbered_per_round_and_answered_by_anyone(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat.send("/consent Autre proposition 48h", user="alice", room=GOV)
    out = await chat.send("/consent 1 question Que couvre l'article 3 ?", user="bruno", room=GOV)
    post = next(o for o in out if not o.is_reply)
    assert post.thread_id == "consent-1" and post.room_name == GOV
    assert "Question n°1 sur le cycle n°1, de bruno :\n« Que couvre l'article 3 ? »" in plain(post.text)
    ack = [o for o in out if o.is_reply]
    assert len(ack) == 1 and ack[0].thread_id is None and "question n°1 est posée" in plain(ack[0].text)

    # Typed in the round's thread itself: the question is the reply, nothing else.
    in_round_thread = await bot.handle(
        dataclasses.replace(
            message("/consent 1 question Et le coût ?", user="chloe", room_name=GOV), thread_id="consent-1"
        )
    )
    assert len(in_round_thread) == 1 and in_round_thread[0].thread_id == "consent-1"
    assert "Question n°2 sur le cycle n°1" in plain(in_round_thread[0].text)
    await chat("/consent 2 question Pourquoi ?", user="chloe", room=GOV)
    assert "n°1 — chloe : Pourquoi ?" in await chat("/consent 2", user="chloe", room=GOV)  # numbered per round

    state = await chat("/consent 1", user="dede", room=GOV)
    assert (
        "Questions sans réponse (2) :\n• n°1 — bruno : Que couvre l'article 3 ?\n• n°2 — chloe : Et le coût ?" in state
    )
    answered = await chat.send("/consent 1 reponse 1 Les frais de visio.", user="dede", room=GOV)
    posted = next(o for o in answered if not o.is_reply)
    assert posted.thread_id == "consent-1"
    assert "Réponse à la question n°1 du cycle n°1 (bruno : « Que couvre l'article 3 ? »), par dede" in plain(
        posted.text
    )
    state = await chat("/consent 1", user="dede", room=GOV)
    assert "Questions sans réponse (1) :" in state and "n°1 — bruno" not in state

    delivered = scheduled(bot)
    clock.advance(timedelta(hours=25))
    await bot.scheduler.run_due()
    reminder = next(plain(o.text) for o in delivered if "Cycle n°1 : clôture" in plain(o.text))
    assert "Questions sans réponse (1) :\n• n°2 — chloe : Et le coût ?" in reminder


async def test_bad_question_commands_change_nothing(chat: Chat, bot: Bot) -> None:
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    assert "Il manque la question. Exemple : `/consent 1 question" in await chat("/consent 1 question", room=GOV)
    assert "Donnez le numéro de la question" in await chat("/consent 1 reponse", room=GOV)
    assert "Donnez le numéro de la question" in await chat("/consent 1 reponse Oui", room=GOV)
    assert "Donnez le numéro de la question" in await chat("/consent 1 reponse 1", room=GOV)
    assert "pas de question n°4" in await chat("/consent 1 reponse 4 Oui", room=GOV)
    assert "Aucun cycle de consentement n°7" in await chat("/consent 7 question Quoi ?", room=GOV)
    assert await count(bot, "consent_question") == 0


async def test_a_clarification_phase_refuses_positions_until_it_ends(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    post = plain(
        (await chat.send("/consent Adopter la charte 72h phase clarification 24h", user="alice", room=GOV))[0].text
    )
    assert "« Adopter la charte »" in post
    assert "Phase de clarification jusqu'au vendredi 27 novembre 2026 à 10 h" in post
    refused = await chat("/consent 1 ok", user="bruno", room=GOV)
    opens = "en phase de clarification : les réponses (ok, réserve, objection, abstention) s'ouvrent le vendredi 27"
    assert opens in refused
    out = await bot.handle_reaction(
        ReactionChange(
            "consent-1", Room(f"room-{GOV}", GOV, RoomKind.CHANNEL), Author("id-chloe", "chloe"), ":thumbsup:", True
        )
    )
    assert "phase de clarification" in plain(out[0].text)
    assert await count(bot, "consent_position") == 0
    assert "question n°1 est posée" in await chat("/consent 1 question Pourquoi ?", user="bruno", room=GOV)
    clock.advance(timedelta(hours=24))
    assert "consentement au cycle n°1 est enregistré" in await chat("/consent 1 ok", user="bruno", room=GOV)


async def test_the_end_of_the_clarification_phase_is_said_in_the_room(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    """Once, top-level in the round's room, at the end of the phase: answers are open, until when, how to answer,
    and the questions still unanswered. A round closed before then says nothing."""
    delivered = scheduled(bot)
    await chat.send("/consent Adopter la charte 72h phase clarification 24h", user="alice", room=GOV)
    await chat("/consent 1 question Que couvre l'article 3 ?", user="bruno", room=GOV)
    await chat.send("/consent Changer de banque 72h phase clarification 2 jours", user="alice", room=GOV)
    await chat("/consent 2 retirer", user="alice", room=GOV)
    clock.advance(timedelta(hours=23, minutes=59))
    await bot.scheduler.run_due()
    assert not [m for m in delivered if "clarification est terminée" in m.text]
    clock.advance(timedelta(minutes=1))
    await bot.scheduler.run_due()
    await bot.scheduler.run_due()
    [post] = [m for m in delivered if "clarification est terminée" in m.text]
    text = plain(post.text)
    assert post.room_name == GOV and post.thread_id is None and not post.is_reply
    assert "**Cycle n°1** : la phase de clarification est terminée ; les réponses sont ouvertes jusqu'au" in post.text
    assert "« Adopter la charte »" in text and "`/consent 1 ok`" in text
    assert "Que couvre l'article 3 ?" in text
    clock.advance(timedelta(days=1))
    await bot.scheduler.run_due()
    assert len([m for m in delivered if "clarification est terminée" in m.text]) == 1  # round 2 was withdrawn


async def test_a_reminder_during_the_clarification_phase_pings_nobody(bot: Bot, clock: FixedClock) -> None:
    """The reminder before the deadline falls while answers are not open yet: it names nobody as not having
    answered (nobody could), and says until when the phase lasts."""
    members(bot, ["alice", "bruno", "chloe"])
    delivered = scheduled(bot)
    bot.scheduler.members_of = bot.members_of
    chat = Chat(bot)
    await chat.send("/consent Adopter la charte 72h phase clarification 60h", user="alice", room=GOV)
    clock.advance(timedelta(hours=48))  # the reminder, 24 h before the deadline, 12 h before answers open
    await bot.scheduler.run_due()
    [reminder] = [plain(m.text) for m in delivered if "⏰ Cycle n°1" in m.text]
    assert "@" not in reminder and "Pas encore répondu" not in reminder
    assert "Phase de clarification jusqu'au samedi 28 novembre 2026 à 22 h" in reminder


async def test_a_round_closes_when_the_room_members_cannot_be_read(bot: Bot, clock: FixedClock) -> None:
    """Who did not answer is an extra count: the chat server failing to list the room's members must not keep the
    round from closing at its deadline (a task that keeps failing is given up), nor its reminder from going out."""

    async def members_of(r: Room) -> list[Author] | None:
        raise ConnectionError("channels.members: server unreachable")

    delivered = scheduled(bot)
    chat = Chat(bot)
    await chat.send("/consent Adopter la charte 48h", user="alice", room=GOV)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    bot.members_of = members_of
    bot.scheduler.members_of = members_of
    assert "Je ne connais pas la liste des membres" in await chat("/consent 1", user="bruno", room=GOV)
    clock.advance(timedelta(hours=24))
    await bot.scheduler.run_due()
    assert [m for m in delivered if "⏰ Cycle n°1" in m.text]
    clock.advance(timedelta(hours=24))
    await bot.scheduler.run_due()
    assert [m for m in delivered if "adopté" in plain(m.text).lower()], [m.text for m in delivered]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("/consent Adopter la charte 48h phase clarification 48h", "doit finir au moins 1 heure avant"),
        ("/consent Adopter la charte phase clarification demain", "Phase de clarification illisible"),
        ("/consent Adopter la charte phase clarification 0h", "Phase de clarification illisible"),
    ],
)
async def test_bad_clarification_phase_opens_nothing(chat: Chat, bot: Bot, line: str, error: str) -> None:
    assert error in await chat(line, user="alice", room=GOV)
    assert await count(bot, "consent_round") == 0
