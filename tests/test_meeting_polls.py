"""Date polls (`/reunion sondage`): one top-level post with a line per slot, answers by reaction (:one: …) or by
command (`4 1 3` replaces the member's answer), the deadline as a task that fires once and survives restarts, a
single winner announced as a meeting with its reminders, a tie left to the author, rights on `choisir`, and the
refusals of slots and deadlines that cannot be right (now is Thursday 26/11/2026 10:00, Europe/Paris)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import Meeting, MeetingPoll, MeetingPollVote, ScheduledTask, TaskStatus
from chatbot.transport.base import Author, IncomingMessage, Outgoing, ReactionChange, Room, RoomKind
from tests.conftest import NOW, Chat, message, plain, room, started_bot

PARIS = ZoneInfo("Europe/Paris")
OPEN = '/reunion sondage tech "Point budget" visio mardi 14h | mercredi 10h-12h | vendredi 16h jusqu\'à demain 12h'


def reaction(emoji: str, user: str, *, added: bool = True, post: str = "poll-1") -> ReactionChange:
    return ReactionChange(post, room("cercle-tech"), Author(f"id-{user}", user), emoji, added)


async def open_poll(chat: Chat, line: str = OPEN, user: str = "alice") -> Outgoing:
    reply = await chat(line, user=user)
    expected = "✅ Sondage n°1 publié dans #cercle-tech : 3 créneaux, réponses jusqu'au vendredi 27"
    assert reply.startswith(expected), reply
    post = chat.posts[-1]
    assert post.id == "poll-1" and post.room_name == "cercle-tech" and post.thread_id is None
    return post


def collect(bot: Bot) -> list[Outgoing]:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    return delivered


async def test_the_poll_post_has_one_line_per_slot(chat: Chat, bot: Bot) -> None:
    post = plain((await open_poll(chat)).text)
    lines = post.splitlines()
    assert lines[0] == "🗳️ **Sondage n°1 du cercle Technique** : quand se réunir ?"
    assert lines[1] == "Objet : Point budget"
    assert lines[2] == ":one: mardi 1er décembre 2026 de 14 h à 15 h 30"  # the circle's usual length
    assert lines[3] == ":two: mercredi 2 décembre 2026 de 10 h à 12 h"
    assert lines[4] == ":three: vendredi 27 novembre 2026 de 16 h à 17 h 30"
    assert "Réponses jusqu'au vendredi 27 novembre 2026 à 12 h." in post
    assert "`/reunion sondage 1 1 3`" in post and "Proposé par alice." in post
    assert await bot.watched_posts() == ["poll-1"]
    async with bot.sessions() as session:
        query = select(ScheduledTask).where(ScheduledTask.kind == "meeting_poll_deadline")
        tasks = (await session.scalars(query)).all()
        assert [(t.ref_id, t.due_at) for t in tasks] == [(1, datetime(2026, 11, 27, 12, tzinfo=PARIS))]


async def test_answers_by_reaction_and_by_command(chat: Chat, bot: Bot) -> None:
    await open_poll(chat)
    await bot.handle_reaction(reaction(":one:", "bob"))
    await bot.handle_reaction(reaction(":three:", "bob"))
    await bot.handle_reaction(reaction(":seven:", "bob"))  # no slot 7: nothing
    await bot.handle_reaction(reaction(":thumbsup:", "bob"))  # not a number: nothing
    reply = await chat("/reunion sondage 1 1 3", user="carol")
    assert reply.startswith("C'est noté : pour le sondage n°1, vous êtes disponible : :one: mardi 1er décembre")
    assert ":one: mardi 1er décembre 2026 de 14 h à 15 h 30 — 2 : bob, carol" in reply
    assert ":two: mercredi 2 décembre 2026 de 10 h à 12 h — 0" in reply
    # A command replaces the whole answer; a reaction adds or removes one slot.
    await chat("/reunion sondage 1 2", user="carol")
    await bot.handle_reaction(reaction(":three:", "bob", added=False))
    await bot.handle_reaction(reaction(":two:", "carol", added=False))  # given by command: stays
    shown = await chat("/reunion sondage 1", user="dave")
    assert ":one: mardi 1er décembre 2026 de 14 h à 15 h 30 — 1 : bob" in shown
    assert ":two: mercredi 2 décembre 2026 de 10 h à 12 h — 1 : carol" in shown
    assert ":three: vendredi 27 novembre 2026 de 16 h à 17 h 30 — 0" in shown
    assert "Ouvert : réponses jusqu'au vendredi 27 novembre 2026 à 12 h." in shown
    assert "aucun créneau ne vous convient" in await chat("/reunion sondage 1 aucun", user="carol")
    assert "— 0" in (await chat("/reunion sondage 1", user="dave")).splitlines()[3]
    assert "n'a pas de créneau n°5 (il en a 3)" in await chat("/reunion sondage 1 1 5", user="carol")
    assert "Réponse non comprise : « bof »" in await chat("/reunion sondage 1 bof", user="carol")
    assert "Aucun sondage n°9" in await chat("/reunion sondage 9", user="carol")


async def test_the_deadline_announces_the_winner_as_a_meeting(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = collect(bot)
    await open_poll(chat)
    for user in ("bob", "carol"):
        await chat("/reunion sondage 1 2 3", user=user)
    await chat("/reunion sondage 1 1 2", user="dave")
    clock.set(datetime(2026, 11, 27, 11, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    assert delivered == []  # not yet
    clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    await bot.scheduler.run_due()  # fires once
    result = [plain(m.text) for m in delivered if m.id == "poll-1-result"]
    assert len(result) == 1 and "**Résultat du sondage n°1 du cercle Technique**" in result[0]
    assert ":two: mercredi 2 décembre 2026 de 10 h à 12 h — 3 : bob, carol, dave" in result[0]
    assert "✅ Créneau retenu : :two: mercredi 2 décembre 2026 de 10 h à 12 h. C'est la réunion n°1" in result[0]
    announcement = next(m for m in delivered if m.id == "meeting-1")
    assert announcement.room_name == "cercle-tech" and announcement.thread_id is None
    text = plain(announcement.text)
    assert "Réunion n°1 du cercle Technique** : mercredi 2 décembre 2026 de 10 h à 12 h" in text
    assert "Visio : https://visio.opteos.fr/reunion-tech-" in text and "Ordre du jour : Point budget" in text
    assert "Annoncée par alice." in text
    # a meeting like any other: its reminders are scheduled, its answers open
    assert "Rappels : " in await chat("/reunion 1", user="bob")
    assert "Clos : créneau :two: retenu, c'est la réunion n°1" in await chat("/reunion sondage 1", user="bob")
    assert "est clos" in await chat("/reunion sondage 1 1", user="erin")
    assert "est clos" in "\n".join(o.text for o in await bot.handle_reaction(reaction(":one:", "erin")))
    assert await bot.handle_reaction(reaction(":two:", "bob")) == []  # counted (by command): a replay says nothing
    assert await bot.watched_posts() == ["meeting-1"]


async def test_a_tie_is_shown_and_the_author_chooses(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = collect(bot)
    await open_poll(chat)
    await chat("/reunion sondage 1 1", user="bob")
    await chat("/reunion sondage 1 3", user="carol")
    clock.set(datetime(2026, 11, 27, 12, 5, tzinfo=PARIS))
    await bot.scheduler.run_due()
    result = plain(next(m.text for m in delivered if m.id == "poll-1-result"))
    assert "⚖️ Égalité entre :one: :three: (1 réponse chacun) : alice choisit le créneau" in result
    assert "`/reunion sondage 1 choisir 1`" in result
    direct = next(m for m in delivered if m.id == "poll-1-tie")
    assert direct.room_name == "@alice" and "Choisissez celui de la réunion" in direct.text
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0
    assert "Clos sur une égalité : alice choisit" in await chat("/reunion sondage 1", user="bob")
    assert "est clos" in await chat("/reunion sondage 1 2", user="bob")
    # only the author (exact account), a keeper or an admin chooses
    refused = await chat("/reunion sondage 1 choisir 1", user="bob")
    assert "est choisi par son auteur" in refused
    assert "est choisi par son auteur" in await chat("/reunion sondage 1 choisir 1", user="Alice_")
    out = await chat.send("/reunion sondage 1 choisir 1", user="alice", room="cercle-tech")
    replies = [o for o in out if o.is_reply]
    assert len(replies) == 1 and replies[0].id == "poll-1-result" and replies[0].thread_id is None
    assert "✅ Créneau retenu par alice : :one: mardi 1er décembre 2026" in plain(replies[0].text)
    assert any(o.id == "meeting-1" and not o.is_reply for o in out)
    again = await chat("/reunion sondage 1 choisir 3", user="camille")
    assert "déjà tranché : créneau n°1, réunion n°1" in again


async def test_the_author_may_choose_before_the_deadline(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = collect(bot)
    await open_poll(chat)
    reply = await chat("/reunion sondage 1 choisir 2", user="alice")
    assert "le résultat du sondage n°1 et l'annonce de la réunion n°1 sont publiés dans #cercle-tech" in reply
    assert "est clos" in await chat("/reunion sondage 1 1", user="bob")
    clock.set(datetime(2026, 11, 27, 13, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    assert not [m for m in delivered if m.id and m.id.startswith("poll-")]  # the deadline was withdrawn
    async with bot.sessions() as session:
        task = await session.scalar(select(ScheduledTask).where(ScheduledTask.kind == "meeting_poll_deadline"))
        assert task is not None and task.status == TaskStatus.CANCELLED
        poll = await session.get(MeetingPoll, 1)
        assert poll is not None and poll.meeting_id == 1 and poll.chosen_slot == 2


async def test_reactions_removed_while_down_go_at_the_next_reading(chat: Chat, bot: Bot) -> None:
    await open_poll(chat)
    await bot.handle_reaction(reaction(":one:", "bob"))
    await bot.handle_reaction(reaction(":two:", "bob"))
    await chat("/reunion sondage 1 1", user="carol")
    await bot.handle_reactions_read("poll-1", {":one:": ["id-bob"], ":two:": []})
    shown = await chat("/reunion sondage 1", user="dave")
    assert "— 2 : bob, carol" in shown and ":two: mercredi 2 décembre 2026 de 10 h à 12 h — 0" in shown


async def test_the_deadline_survives_a_restart(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    await open_poll(chat)
    await chat("/reunion sondage 1 3", user="bob")
    await bot.close()
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=PARIS))  # down at the deadline
    async with started_bot(bot.settings, clock) as again:
        delivered = collect(again)
        await again.scheduler.run_due()
        result = plain(next(m.text for m in delivered if m.id == "poll-1-result"))
        assert "Créneau retenu : :three:" not in result  # slot 3 (Friday 27) is over: not a winner
        assert "(résultat envoyé en retard)" in result


async def test_slots_and_deadlines_that_cannot_be_right_are_refused(chat: Chat, bot: Bot) -> None:
    cases = {
        "/reunion sondage tech mardi 14h jusqu'à lundi 18h": "au moins deux créneaux",
        "/reunion sondage tech jusqu'à lundi 18h": "Quels créneaux proposer ?",
        "/reunion sondage tech mardi 14h | mercredi 10h": "Jusqu'à quand répondre ?",
        "/reunion sondage tech mardi 14h | mardi 14h jusqu'à lundi 18h": "est proposé deux fois",
        "/reunion sondage tech mardi 14h | aujourd'hui 9h jusqu'à lundi 18h": "est déjà passé",
        "/reunion sondage tech mardi 14h | le 26/11 9h30 jusqu'à lundi 18h": "est déjà passé",
        "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à aujourd'hui 9h": "est déjà passée",
        "/reunion sondage tech le 1/12 14h | le 2/12 10h jusqu'au 2/12 18h": "ne vient pas avant le premier",
        "/reunion sondage tech Point budget mardi 14h | mercredi 10h jusqu'à lundi 18h": "n'est pas un créneau",
        "/reunion sondage tech mardi | mercredi 10h jusqu'à lundi 18h": "donne un jour sans heure",
        "/reunion sondage tech chaque mardi 14h | mercredi 10h jusqu'à lundi 18h": "pas un rythme",
        "/reunion sondage tech mardi 14h salle 3 | mercredi 10h jusqu'à lundi 18h": "je ne comprends pas « salle 3 »",
        "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à bientôt": "Clôture non comprise",
        "/reunion sondage mardi 14h | mercredi 10h jusqu'à lundi 18h": "Pour quel cercle ?",
        "/reunion sondage tech mardi 14h | mercredi 10h d'ici 48h": "« 48h » est une durée",
        "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à 18h": "lu comme un créneau de 10 h à 18 h",
        "/reunion sondage tech mardi 14h | mercredi 10h d'ici 18h": "peut dire « avant 18 h » ou « dans 18 heures »",
        "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à 3 jours": "« 3 jours » est une durée",
        "/reunion sondage tech mardi 14h, mercredi 10h jusqu'à lundi 18h": "je ne comprends pas « , mercredi 10h »",
        "/reunion sondage tech mardi 14h; mercredi 10h jusqu'à lundi 18h": "je ne comprends pas « ; mercredi 10h »",
    }
    ten = " | ".join(f"{day}/12 14h" for day in range(1, 11))
    cases[f"/reunion sondage tech {ten} jusqu'à lundi 18h"] = "10 créneaux, c'est trop"
    for line, expected in cases.items():
        reply = await chat(line, user="alice")
        assert expected in reply, (line, reply)
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MeetingPoll)) == 0
    nine = " | ".join(f"{day}/12 14h" for day in range(1, 10))
    assert "9 créneaux" in await chat(f"/reunion sondage tech {nine} jusqu'à lundi 18h", user="alice")


async def test_in_the_circle_channel_the_poll_is_the_answer(chat: Chat) -> None:
    out = await chat.send("/reunion sondage mardi 14h|mercredi 10h jusqu'à lundi 18h", user="alice", room="cercle-tech")
    assert [o.id for o in out if o.is_reply] == ["poll-1"]
    post = plain(out[0].text)
    assert ":one: mardi 1er décembre" in post and ":two: mercredi 2 décembre" in post and "Objet" not in post


async def test_a_poll_of_a_circle_without_public_channel_stays_in_its_private_room(
    settings: Settings, clock: FixedClock
) -> None:
    circles = tuple(dataclasses.replace(c, public_channel=None) if c.slug == "tech" else c for c in settings.circles)
    async with started_bot(dataclasses.replace(settings, circles=circles), clock) as bot:
        chat = Chat(bot)
        line = "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à demain 12h"
        assert "n'a pas de canal public" in await chat(line, user="alice")  # from a direct message
        private = Room("room-prive", "cercle-tech-prive", RoomKind.GROUP)
        typed = IncomingMessage("m-1", private, Author("id-alice", "alice"), line, NOW)
        out = await bot.handle(typed)
        assert [(o.id, o.room_id, o.is_reply) for o in out] == [("poll-1", "room-prive", True)]
        assert "a été lancé dans un salon privé" in await chat("/reunion sondage 1", user="bob", room="general")
        assert await bot.watched_posts() == []
        assert "Aucun sondage de dates ouvert." in await chat("/reunion sondage", user="bob", room="general")
        listing = await bot.handle(IncomingMessage("m-3", private, Author("id-bob", "bob"), "/reunion sondage", NOW))
        assert "• n°1 · Technique" in listing[0].text
        delivered = collect(bot)
        await bot.handle(IncomingMessage("m-2", private, Author("id-bob", "bob"), "/reunion sondage 1 2", NOW))
        clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        assert {(m.id, m.room_id) for m in delivered} == {("poll-1-result", "room-prive"), ("meeting-1", "room-prive")}


# --- concurrency (meaningful on PostgreSQL, where these run at once) ----------------------------------------------


async def test_many_members_answering_at_once_count_once_each(chat: Chat, bot: Bot) -> None:
    await open_poll(chat)
    members = [f"membre{i}" for i in range(20)]
    await asyncio.gather(
        *(bot.handle(message("/reunion sondage 1 1 2", user=u, room_name="cercle-tech")) for u in members[:10]),
        *(bot.handle_reaction(reaction(":two:", u)) for u in members),
        *(bot.handle_reaction(reaction(":three:", u)) for u in members[10:]),
    )
    async with bot.sessions() as session:
        rows = (await session.execute(select(MeetingPollVote.slot_number, MeetingPollVote.member_id))).all()
    assert len(rows) == len(set(rows))
    shown = await chat("/reunion sondage 1", user="dave")
    assert "— 20 : " in shown.splitlines()[3]  # every member at slot 2, once
    assert " — 10 : " in shown.splitlines()[4] and " — 10 : " in shown.splitlines()[2]


async def test_choosing_while_the_deadline_fires_makes_one_meeting(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = collect(bot)
    await open_poll(chat)
    await chat("/reunion sondage 1 1", user="bob")
    clock.set(datetime(2026, 11, 27, 11, 59, 59, tzinfo=PARIS))
    choose = bot.handle(message("/reunion sondage 1 choisir 2", user="alice", room_name="cercle-tech"))
    clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=PARIS))
    out, _ = await asyncio.gather(choose, bot.scheduler.run_due())
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 1
        poll = await session.get(MeetingPoll, 1)
        assert poll is not None and poll.meeting_id == 1
    announcements = [o for o in [*out, *delivered] if o.id == "meeting-1"]
    assert len(announcements) == 1


async def test_a_replayed_command_opens_one_poll(chat: Chat, bot: Bot) -> None:
    line = "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à demain 12h"
    await chat.send(line, user="alice", message_id="m-poll")
    await chat.send(line, user="alice", message_id="m-poll")  # the same message, delivered again
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MeetingPoll)) == 1
        query = select(func.count()).select_from(ScheduledTask).where(ScheduledTask.kind == "meeting_poll_deadline")
        assert await session.scalar(query) == 1


async def test_a_keeper_or_an_admin_may_choose(chat: Chat) -> None:
    await open_poll(chat)
    assert "réunion n°1" in await chat("/reunion sondage 1 choisir 1", user="dominique")  # keeper of tech
    await chat("/reunion sondage tech mardi 18h | mercredi 18h jusqu'à demain 12h", user="alice")
    assert "n'a pas de créneau n°4" in await chat("/reunion sondage 2 choisir 4", user="camille")
    assert "réunion n°2" in await chat("/reunion sondage 2 choisir 2", user="camille")  # admin


async def test_the_open_polls(chat: Chat, bot: Bot, settings: Settings, clock: FixedClock) -> None:
    assert "Aucun sondage de dates ouvert." in await chat("/reunion sondage", user="bob")
    await open_poll(chat)
    await chat("/reunion sondage communication mardi 18h | mercredi 18h jusqu'à aujourd'hui 18h", user="alice")
    listed = await chat("/reunion sondage", user="bob")
    assert listed.splitlines() == [
        "Sondages de dates ouverts :",
        "• n°2 · Communication · réponses jusqu'au jeudi 26 novembre 2026 à 18 h",
        "• n°1 · Technique · réponses jusqu'au vendredi 27 novembre 2026 à 12 h · Point budget",
    ]
    await chat("/reunion sondage 2 choisir 1", user="alice")
    assert "n°2" not in await chat("/reunion sondage", user="bob")


async def test_the_answer_example_names_slots_the_poll_has(chat: Chat) -> None:
    """A poll of two slots shows `1 2` as its example answer, never a third slot that it does not have."""
    line = "/reunion sondage mardi 14h | mercredi 10h jusqu'à lundi 18h"
    out = await chat.send(line, user="alice", room="cercle-tech")
    post = plain(out[0].text)
    assert "`/reunion sondage 1 1 2` (les créneaux 1 et 2" in post and "1 3" not in post
    await chat("/reunion sondage 1 1", user="bob")
    shown = await chat("/reunion sondage 1", user="bob")
    assert "`/reunion sondage 1 1 2` (les créneaux 1 et 2" in shown and "1 3" not in shown
    await chat.send(OPEN, user="alice")
    three = plain(chat.posts[-1].text)
    assert "`/reunion sondage 2 1 3` (les créneaux 1 et 3" in three


async def test_a_poll_closed_after_all_its_slots_says_so_and_offers_no_choice(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    """The bot was down past the deadline and every slot: the poll is not 'closed on a tie' for its author to
    choose from; its state says that no slot is left."""
    await open_poll(chat)
    await chat("/reunion sondage 1 1 2", user="bob")
    await bot.close()
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=PARIS))  # every slot is over
    async with started_bot(bot.settings, clock) as again:
        collect(again)
        await again.scheduler.run_due()
        shown = await Chat(again)("/reunion sondage 1", user="bob")
        assert "égalité" not in shown and "choisir" not in shown
        assert "Tous les créneaux sont déjà passés" in shown


async def test_a_tie_shown_later_offers_a_slot_still_to_come(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    collect(bot)
    await chat("/reunion sondage tech mardi 14h | jeudi 10h jusqu'à lundi 18h", user="alice")
    await chat("/reunion sondage 1 1 2", user="bob")
    clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))  # slot 1 (Tuesday) is over, slot 2 (Thursday) is not
    shown = await chat("/reunion sondage 1", user="bob")
    assert "Clos sur une égalité : alice choisit le créneau, ex. `/reunion sondage 1 choisir 2`" in shown


async def test_the_list_of_open_polls_says_what_it_leaves_out(chat: Chat, bot: Bot) -> None:
    """22 open polls: 20 shown, soonest closing first; the last line names the two others by number, and how to
    see one."""
    for hour in range(22):
        reply = await chat(f"/reunion sondage tech le 10/12 14h | le 11/12 14h jusqu'au 5/12 {hour}h", user="alice")
        assert reply.startswith(f"✅ Sondage n°{hour + 1} publié"), reply
    lines = (await chat("/reunion sondage", user="bob")).splitlines()
    assert len(lines) == 1 + 20 + 1
    assert lines[1].startswith("• n°1 ") and lines[20].startswith("• n°20 ")
    assert lines[-1] == "… et 2 autres, qui ferment plus tard : n°21, n°22 ; en voir un : `/reunion sondage 21`."
