"""Who comes to a meeting: ✅ ❔ ❌ on its announcement or `/reunion 12 je viens|peut-etre|absent`, the same answer
either way; a reaction removed (even while the bot was down) takes back what it gave, not an answer by command;
`/reunion 12` shows the meeting in full; the reminder says who comes."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.transport.base import Author, IncomingMessage, Outgoing, ReactionChange, Room, RoomKind
from tests.conftest import NOW, Chat, plain, room, started_bot

PARIS = ZoneInfo("Europe/Paris")


def reaction(emoji: str, user: str, *, added: bool = True, post: str = "meeting-1") -> ReactionChange:
    return ReactionChange(post, room("cercle-tech"), Author(f"id-{user}", user), emoji, added)


async def announce(chat: Chat) -> Outgoing:
    await chat("/reunion tech jeudi 14h 1h30 visio Ordre du jour : budget 2027", user="alice")
    post = chat.posts[-1]
    assert post.id == "meeting-1"
    return post


async def test_answers_by_reaction_and_by_command_are_the_same(chat: Chat, bot: Bot) -> None:
    post = await announce(chat)
    assert "Réagissez ✅ je viens, ❔ peut-être, ❌ je ne viens pas, ou `/reunion 1 je viens`" in plain(post.text)
    assert await bot.watched_posts() == ["meeting-1"]
    assert await bot.handle_reaction(reaction(":white_check_mark:", "bob")) == []
    await bot.handle_reaction(reaction(":grey_question:", "carol"))
    await bot.handle_reaction(reaction(":x:", "dave"))
    reply = await chat("/reunion 1 je viens", user="erin")
    assert reply.startswith("C'est noté : vous venez à la réunion n°1 (jeudi 26 novembre 2026 de 14 h à 15 h 30).")
    assert "✅ Viennent : 2 : bob, erin" in reply and "❔ Peut-être : 1 : carol" in reply
    assert "❌ Ne viennent pas : 1 : dave" in reply
    # Changing one's answer, either way.
    assert "vous ne venez pas" in await chat("/reunion 1 absent", user="bob")
    await bot.handle_reaction(reaction(":white_check_mark:", "dave"))
    shown = await chat("/reunion 1", user="bob")
    assert "✅ Viennent : 2 : dave, erin" in shown and "❌ Ne viennent pas : 1 : bob" in shown
    # A reaction removed takes back the answer it gave, not one given by command.
    await bot.handle_reaction(reaction(":white_check_mark:", "dave", added=False))
    await bot.handle_reaction(reaction(":x:", "dave", added=False))  # no longer his answer: nothing
    await bot.handle_reaction(reaction(":x:", "bob", added=False))  # bob answered by command: stays
    shown = await chat("/reunion 1", user="bob")
    assert "✅ Viennent : 1 : erin" in shown and "❌ Ne viennent pas : 1 : bob" in shown


async def test_show_one_meeting_in_full(chat: Chat, bot: Bot) -> None:
    await announce(chat)
    shown = plain(await chat("/reunion 1", user="bob"))
    assert shown.splitlines()[0] == "📅 **Réunion n°1 du cercle Technique**"
    assert "Quand : jeudi 26 novembre 2026 de 14 h à 15 h 30 (durée 1 h 30)" in shown
    assert "Visio : https://visio.opteos.fr/reunion-tech-" in shown and "Ordre du jour : budget 2027" in shown
    assert "✅ Viennent : 0" in shown and "Rappels : " in shown
    await chat("/reunion tech chaque mardi 18h visio", user="alice")
    numbers = [p.id for p in chat.posts if p.id and p.id.startswith("meeting-")]
    occurrence = await chat(f"/reunion {numbers[-1].split('-')[1]}", user="bob")
    assert "Date de la réunion régulière n°2 (chaque mardi de 18 h à 19 h 30)" in occurrence
    assert "réunion régulière" in await chat("/reunion 2 je viens", user="bob")
    assert "Aucune réunion n°99" in await chat("/reunion 99", user="bob")
    assert "Réponse non comprise" not in await chat("/reunion 1 peut-être", user="bob")
    assert "Réponse non comprise : « bof »" in await chat("/reunion voir 1 bof", user="bob")


async def test_reactions_removed_while_down_go_at_the_next_reading(chat: Chat, bot: Bot) -> None:
    await announce(chat)
    await bot.handle_reaction(reaction(":white_check_mark:", "bob"))
    await bot.handle_reaction(reaction(":question:", "carol"))
    await chat("/reunion 1 je viens", user="dave")
    await bot.handle_reactions_read("meeting-1", {":white_check_mark:": ["id-bob"], ":question:": ["id-carol"]})
    assert "✅ Viennent : 2 : bob, dave" in await chat("/reunion 1", user="bob")
    await bot.handle_reactions_read("meeting-1", {":heavy_check_mark:": ["id-bob"]})
    shown = await chat("/reunion 1", user="bob")
    assert "✅ Viennent : 2 : bob, dave" in shown and "❔ Peut-être : 0" in shown


async def test_the_reminder_says_who_comes(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    await announce(chat)
    clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    reminders = [plain(m.text) for m in delivered if "Rappel" in m.text]
    assert len(reminders) == 1 and "Viennent" not in reminders[0]  # the hour before: the link, no more
    await chat("/reunion tech vendredi 14h", user="alice")  # n°2, its 24 h reminder on Thursday 14 h
    for user in ("bob", "carol", "dave"):
        await chat("/reunion 2 je viens", user=user)
    await chat("/reunion 2 absent", user="erin")
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    reminders = [plain(m.text) for m in delivered if "Rappel : réunion n°2" in m.text]
    assert len(reminders) == 1 and "dans 24 h" in reminders[0]
    assert "✅ Viennent : 3 : bob, carol, dave" in reminders[0] and "❌ Ne viennent pas : 1 : erin" in reminders[0]


async def test_the_reminder_the_day_before_names_who_has_not_answered(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    """The channel's members who said nothing are pinged the day before (at most 15 names, the rest counted); a
    member who answered, by command or reaction, is not; the hour-before reminder names nobody."""
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    channel = [f"membre{i:02d}" for i in range(20)] + ["bob", "erin"]

    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in channel] if r.name == "cercle-tech" and not r.id else None

    bot.outlet = outlet
    bot.scheduler.members_of = members_of
    await chat("/reunion tech vendredi 14h", user="alice")  # n°1, its 24 h reminder on Thursday 14 h
    await chat("/reunion 1 je viens", user="bob")
    await bot.handle_reaction(reaction(":x:", "erin"))
    await bot.handle_reaction(reaction(":white_check_mark:", "membre07"))
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    [reminder] = [plain(m.text) for m in delivered if "Rappel : réunion n°1" in m.text]
    silent = [f"@membre{i:02d}" for i in range(20) if i != 7]
    assert f"⏳ Pas encore répondu : 19 : {', '.join(silent[:15])} … et 4 autres" in reminder
    assert "@bob" not in reminder and "@erin" not in reminder and "@membre07" not in reminder
    delivered.clear()
    clock.set(datetime(2026, 11, 27, 13, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    [last] = [plain(m.text) for m in delivered if "Rappel : réunion n°1" in m.text]
    assert "Pas encore répondu" not in last


async def test_without_the_channel_members_the_reminder_names_nobody(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    await chat("/reunion tech vendredi 14h", user="alice")
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    [reminder] = [plain(m.text) for m in delivered if "Rappel : réunion n°1" in m.text]
    assert "✅ Viennent : 0" in reminder and "Pas encore répondu" not in reminder


async def test_a_meeting_said_only_in_a_private_room_is_reminded_there(settings: Settings, clock: FixedClock) -> None:
    """A circle with no public channel: its meeting, said in its private group, gets its reminders and its start
    there, the day before naming the members of that room who have not answered, and a series its next dates;
    never in another room."""
    circles = tuple(dataclasses.replace(c, public_channel=None) if c.slug == "tech" else c for c in settings.circles)
    private = Room("room-prive", "cercle-tech-prive", RoomKind.GROUP)

    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in ("alice", "bob", "carol")] if r.id == private.id else None

    async with started_bot(dataclasses.replace(settings, circles=circles), clock) as bot:
        delivered: list[Outgoing] = []

        async def outlet(messages: list[Outgoing]) -> None:
            delivered.extend(messages)

        bot.outlet = outlet
        bot.scheduler.members_of = members_of
        line = "/reunion vendredi 14h Entretien"
        await bot.handle(IncomingMessage("m-1", private, Author("id-alice", "alice"), line, NOW))
        await bot.handle(IncomingMessage("m-2", private, Author("id-bob", "bob"), "/reunion 1 je viens", NOW))
        clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        [reminder] = delivered
        assert (reminder.room_id, reminder.thread_id, reminder.is_reply) == (private.id, None, False)
        text = plain(reminder.text)
        assert "Rappel : réunion n°1" in text and "Entretien" in text
        assert "⏳ Pas encore répondu : 2 : @alice, @carol" in text
        clock.set(datetime(2026, 11, 27, 14, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        assert len(delivered) == 3 and {m.room_id for m in delivered} == {private.id}
        series = "/reunion chaque mardi 18h Suivi"  # n°2, its first date (1/12) n°3 at once
        await bot.handle(IncomingMessage("m-3", private, Author("id-alice", "alice"), series, NOW))
        clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        [next_date] = [m for m in delivered if m.id == "meeting-4"]
        assert next_date.room_id == private.id and "mardi 8 décembre 2026" in plain(next_date.text)
        assert {m.room_id for m in delivered} == {private.id}


async def test_the_reminder_goes_out_when_the_channel_members_cannot_be_read(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    """Who has not answered is an extra line: the chat server failing to list the channel's members must not cost
    the reminder itself (a task that keeps failing is given up)."""
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    async def members_of(r: Room) -> list[Author] | None:
        raise ConnectionError("channels.members: server unreachable")

    bot.outlet = outlet
    bot.scheduler.members_of = members_of
    await chat("/reunion tech vendredi 14h", user="alice")
    clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS))
    await bot.scheduler.run_due()
    [reminder] = [plain(m.text) for m in delivered if "Rappel : réunion n°1" in m.text]
    assert "✅ Viennent : 0" in reminder and "Pas encore répondu" not in reminder
