"""/cobudget on both databases: open, submit, take part, the vote opening at its date with equal shares, gifts
(capped at a project's target, refused beyond a balance), the close with its table, restarts, concurrency, and
every total equal to what the append-only events add up to."""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.cobudget_settings import CobudgetSettings
from chatbot.config import ConfigError, Settings, example_config_path, parse_settings
from chatbot.db.models import CobudgetParticipant, CobudgetProject, CobudgetRound
from chatbot.services.cobudget import CobudgetService
from chatbot.transport.base import Author, Outgoing, Room, RoomKind
from tests.conftest import PARIS, Chat, message, plain, started_bot
from tests.helpers import count

ROOM = "cobudget"
OPEN = "/cobudget ouvrir \"Résultat 2026\" 100 propositions jusqu'au 30/11 vote jusqu'au 10/12"
FUNDING = datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)
CLOSE = datetime(2026, 12, 11, 0, 0, tzinfo=PARIS)
TABLES = ("cobudget_round", "cobudget_project", "cobudget_participant", "cobudget_event", "scheduled_task")


def delivered(bot: Bot) -> list[Outgoing]:
    out: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        out.extend(messages)

    bot.outlet = outlet
    return out


async def assert_totals_exact(bot: Bot) -> None:
    """Every running total equals what the events add up to; no balance is negative, no project over its target."""
    async with bot.sessions() as session:
        service = CobudgetService(session, bot.settings, bot.clock, None)  # type: ignore[arg-type]
        for round_ in (await session.scalars(select(CobudgetRound))).all():
            per_project, per_member = await service.recomputed(round_)
            for project in await service.projects(round_):
                assert project.funded_cents == per_project.get(project.id, 0), project.id
                assert 0 <= project.funded_cents <= project.target_cents
            for participant in await service.participants(round_):
                assert participant.given_cents == per_member.get(participant.member_id, 0)
                assert 0 <= participant.given_cents <= participant.share_cents
            if round_.share_cents is not None:
                assert round_.share_cents * (round_.participants or 0) + (round_.remainder_cents or 0) == (
                    round_.amount_cents
                )


async def rows(bot: Bot) -> dict[str, int]:
    return {table: await count(bot, table) for table in TABLES}


async def opened(chat: Chat, bot: Bot, members: tuple[str, ...] = ("alice", "bruno", "chloe")) -> None:
    out = await chat.send(OPEN, room=ROOM)
    assert any("Co-budget n°1" in plain(o.text) and o.thread_id is None for o in out), out
    await chat('/cobudget projet "Atelier vélo" 50 min 20 Réparer les vélos', user="alice", room=ROOM)
    await chat("/cobudget projet « Bibliothèque » 30", user="bruno", room=ROOM)
    await chat("/cobudget projet Jardin 40 min 35", user="chloe", room=ROOM)
    for member in members:
        assert "Vous participez" in await chat("/cobudget participer", user=member, room=ROOM)


async def test_a_whole_round_with_exact_shares_gifts_and_result(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    sent = delivered(bot)
    await opened(chat, bot)
    state = await chat("/cobudget", user="bruno", room=ROOM)
    assert "(propositions)" in state and "Atelier vélo" in state and "lundi 30 novembre 2026" in state
    assert "pas encore ouvert" in await chat("/cobudget donner 1 10", user="alice", room=ROOM)

    clock.set(FUNDING)
    assert await bot.scheduler.run_due() == 1
    [vote] = [plain(o.text) for o in sent]
    assert "le vote est ouvert" in vote
    # 100 € among 3: 33,33 € each, 1 centime stated, not lost.
    assert "3 participant(s) : 100 € ÷ 3 = 33,33 € chacun." in vote
    assert "Reste 0,01 € non répartis" in vote
    assert "on ne peut plus s'ajouter" in await chat("/cobudget participer", user="dora", room=ROOM)
    assert "ne participez pas" in await chat("/cobudget donner 1 5", user="dora", room=ROOM)
    assert "Projet n°" not in await chat("/cobudget modifier 1 « Atelier » 60", user="alice", room=ROOM)

    assert "20 € donnés au projet n°1" in await chat("/cobudget donner 1 20", user="alice", room=ROOM)
    assert "il ne vous reste que 13,33 €" in await chat("/cobudget donner 2 20", user="alice", room=ROOM)
    reply = await chat("/cobudget donner 2 13,33 €", user="alice", room=ROOM)
    assert "Il vous reste 0 € à donner" in reply
    # Nothing left: say how to give elsewhere (take some back first), never suggest giving 0 €.
    nothing = await chat("/cobudget donner 1 0,01", user="alice", room=ROOM)
    assert "déjà donné toute votre part" in nothing and "`/cobudget retirer 3 50`" in nothing
    assert "0 €`" not in nothing
    assert "Il vous reste 13,33 €" in await chat("/cobudget donner 1 20", user="bruno", room=ROOM)
    # Atelier vélo needs 10 € more: what fits is accepted, and said.
    capped = await chat("/cobudget donner 1 30", user="chloe", room=ROOM)
    assert "n'avait plus besoin que de 10 €" in capped and "sur les 30 € demandés" in capped
    assert "déjà atteint sa cible" in await chat("/cobudget donner 1 1", user="bruno", room=ROOM)
    assert "5 € repris du projet n°3" not in await chat("/cobudget retirer 3 5", user="chloe", room=ROOM)
    assert "30 € donnés" not in await chat("/cobudget donner 3 30", user="chloe", room=ROOM)
    await chat("/cobudget donner 3 20", user="chloe", room=ROOM)
    assert "5 € repris du projet n°3" in await chat("/cobudget retirer 3 5", user="chloe", room=ROOM)
    mine = await chat("/cobudget moi", user="chloe", room=ROOM)
    assert "votre part 33,33 €, donnée 25 €, reste à donner 8,33 €" in mine and "n°3 « Jardin » : 15 €" in mine
    await assert_totals_exact(bot)

    clock.set(CLOSE - timedelta(days=1))  # the reminder, a day before: who still holds money, mentioned
    sent.clear()
    assert await bot.scheduler.run_due() == 1
    [reminder] = [plain(o.text) for o in sent]
    assert sent[0].room_name == ROOM and sent[0].thread_id is None
    assert reminder.startswith(
        "⏰ **Co-budget n°1 (« Résultat 2026 »)** : le vote se termine le jeudi 10 décembre 2026"
    )
    assert "21,66 € restent à donner, chez 2 participant(s) : @bruno, @chloe." in reminder
    assert "@alice" not in reminder  # she gave her whole share

    clock.set(CLOSE)
    sent.clear()
    assert await bot.scheduler.run_due() == 1
    [result] = [plain(o.text) for o in sent]
    assert sent[0].room_name == ROOM and sent[0].thread_id is None
    assert "| n° | Projet | Cible | Minimum | Reçu au vote | Statut |" in result
    assert "| 1 | Atelier vélo | 50 € | 20 € | 50 € | financé |" in result
    assert "| 2 | Bibliothèque | 30 € | — | 13,33 € | non financé (rendu aux membres) |" in result
    assert "| 3 | Jardin | 40 € | 35 € | 15 € | non financé (rendu aux membres) |" in result
    assert "Rendu aux membres (projets sous leur minimum) : 28,33 €." in result
    # 33,33 × 3 = 99,99 € shared, 50 € kept by the funded project: 49,99 € unallocated, said so.
    assert "Non attribué à la clôture (parts non données, argent rendu compris) : 49,99 €" in result
    assert "funded" not in result
    assert "est clos" in await chat("/cobudget donner 1 1", user="bruno", room=ROOM)
    await assert_totals_exact(bot)
    assert await bot.scheduler.run_due() == 0  # the close fired once


async def test_open_submit_and_edit_rules(chat: Chat, bot: Bot) -> None:
    assert "réservée aux administrateurs" in await chat(OPEN, user="bruno", room=ROOM)
    assert "pas en message direct" in await chat(OPEN)
    await chat(OPEN, room=ROOM)
    assert "un seul à la fois" in await chat(OPEN, room=ROOM)
    reply = await chat('/cobudget projet "Atelier vélo" 1500 min 800 Réparer', user="alice", room=ROOM)
    assert "Projet n°1 enregistré" in reply and "minimum 800 €" in reply
    assert "dépasse la cible" in await chat('/cobudget projet "Vélo" 100 min 800', user="alice", room=ROOM)
    assert "seuls son auteur" in await chat('/cobudget modifier 1 "Vélo" 100', user="bruno", room=ROOM)
    edited = await chat('/cobudget modifier 1 "Vélos" 1600 min 900 Réparer et prêter', user="alice", room=ROOM)
    assert "Projet n°1 modifié" in edited and "1 600 €" in edited and "minimum 900 €" in edited
    assert "Aucun projet n°9" in await chat('/cobudget modifier 9 "Vélo" 100', user="alice", room=ROOM)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/cobudget donner 1 0", "Le montant doit être positif"),
        ("/cobudget donner 1 -5", "Le montant doit être positif"),
        ("/cobudget donner 1 abc", "j'attendais le montant en euros"),
        ("/cobudget donner 1 2,555", "au centime près"),
        ("/cobudget donner 1 1.500", "au centime près"),
        ("/cobudget donner 1", "Il manque le montant en euros"),
        ('/cobudget projet "Vélo" 0', "Le montant doit être positif"),
        ('/cobudget projet "Vélo" 100 min zéro', "Minimum illisible"),
        ('/cobudget projet "Vélo" 100 pour 3 vélos à 50 €', "ressemble à un montant"),
        ("/cobudget ouvrir \"R\" 100 propositions jusqu'au 31/02 vote jusqu'au 10/03", "Date illisible"),
        ("/cobudget ouvrir \"R\" 100 propositions jusqu'au 10/12 vote jusqu'au 01/12", "après la fin des propositions"),
        ('/cobudget ouvrir "R" 100 propositions demain vote bientôt', "pas compris les dates"),
        ('/cobudget ouvrir "R" 100', "Il manque les deux dates"),
        ("/cobudget ouvrir \"R\" 100 propositions jusqu'au 20/11/2026 vote jusqu'au 10/12", "déjà passée"),
    ],
)
async def test_bad_input_is_refused_in_french_and_writes_nothing(
    chat: Chat, bot: Bot, command: str, expected: str
) -> None:
    await chat(OPEN, room=ROOM)
    await chat('/cobudget projet "Atelier" 50', user="alice", room=ROOM)
    before = await rows(bot)
    reply = await chat(command, user="camille", room=ROOM)
    assert expected in reply, reply
    assert await rows(bot) == before


async def test_the_close_crossing_a_restart_is_sent_late_once(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(settings, clock) as first:
        chat = Chat(first)
        await opened(chat, first)
    clock.set(CLOSE.replace(day=12))  # down across the vote's opening and its close
    async with started_bot(settings, clock) as second:
        sent = delivered(second)
        assert await second.scheduler.run_due() == 3  # the opening, the reminder (skipped: too late), the close
        texts = [plain(o.text) for o in sent]
        assert len(texts) == 2
        assert "le vote est ouvert" in texts[0] and "Envoyé en retard" in texts[0]
        assert "résultat" in texts[1] and "Envoyé en retard" in texts[1]
        assert "Non attribué à la clôture (parts non données, argent rendu compris) : 99,99 €" in texts[1]
    async with started_bot(settings, clock) as third:
        assert await third.scheduler.run_due() == 0


async def test_configured_room_members_are_the_participants(settings: Settings, clock: FixedClock) -> None:
    configured = dataclasses.replace(settings, cobudget=CobudgetSettings(room=ROOM))
    async with started_bot(configured, clock) as bot:
        chat = Chat(bot)
        assert "s'ouvre dans #cobudget" in await chat(OPEN, room="general")
        await chat(OPEN, room=ROOM)
        await chat("/cobudget participer", user="zoe", room=ROOM)  # said so, and not in the room: counts too

        async def members_of(room: Room) -> list[Author] | None:
            assert room.name == ROOM
            return [Author(f"id-{u}", u) for u in ("alice", "bruno", "chloe", "dora", "eve", "fanny")]

        bot.members_of = members_of
        bot.scheduler.members_of = members_of
        sent = delivered(bot)
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        assert "7 participant(s) : 100 € ÷ 7 = 14,28 € chacun." in plain(sent[0].text)
        assert "Reste 0,04 € non répartis" in plain(sent[0].text)
        async with bot.sessions() as session:
            shares = (await session.scalars(select(CobudgetParticipant.share_cents))).all()
        assert sorted(shares) == [1428] * 7


async def test_a_configured_room_that_cannot_be_listed_is_said(settings: Settings, clock: FixedClock) -> None:
    configured = dataclasses.replace(settings, cobudget=CobudgetSettings(room=ROOM))
    async with started_bot(configured, clock) as bot:
        chat = Chat(bot)
        await chat(OPEN, room=ROOM)
        await chat("/cobudget participer", user="zoe", room=ROOM)
        sent = delivered(bot)
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        text = plain(sent[0].text)
        assert "1 participant(s) : 100 € ÷ 1 = 100 € chacun." in text
        assert "La liste des membres de #cobudget n'a pas pu être lue" in text


async def test_many_members_giving_at_once_never_overdraw_nor_overfill(settings: Settings, clock: FixedClock) -> None:
    members = [f"membre{i}" for i in range(24)]
    async with started_bot(settings, clock) as bot:
        chat = Chat(bot)
        await chat("/cobudget ouvrir \"R\" 2400 propositions jusqu'au 30/11 vote jusqu'au 10/12", room=ROOM)
        await chat('/cobudget projet "Petit" 300', user="alice", room=ROOM)
        await chat('/cobudget projet "Grand" 5000', user="alice", room=ROOM)
        for member in members:
            await chat("/cobudget participer", user=member, room=ROOM)
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        # Each member (100 € each) gives 60 € to each project at once: at most 100 € each, at most 300 € on « Petit ».
        gifts = [message(f"/cobudget donner {n} 60", user=member, room_name=ROOM) for member in members for n in (1, 2)]
        gifts += [message("/cobudget retirer 2 10", user=member, room_name=ROOM) for member in members[:6]]
        replies = await asyncio.gather(*(bot.handle(m) for m in gifts))
        texts = [plain(o.text) for out in replies for o in out]
        assert not any("erreur interne" in t for t in texts), texts
        await assert_totals_exact(bot)
        async with bot.sessions() as session:
            small = await session.get(CobudgetProject, 1)
            assert small is not None and small.funded_cents == 30000
        clock.set(CLOSE)
        await bot.scheduler.run_due()
        await assert_totals_exact(bot)


async def test_second_pass_tops_up_funded_projects_with_returned_money(settings: Settings, clock: FixedClock) -> None:
    two_passes = dataclasses.replace(settings, cobudget=CobudgetSettings(second_pass=True, second_pass_days=3))
    async with started_bot(two_passes, clock) as bot:
        chat = Chat(bot)
        sent = delivered(bot)
        await opened(chat, bot, ("alice", "bruno"))
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        await chat("/cobudget donner 1 30", user="alice", room=ROOM)  # 50 € target, 20 € min: funded, short
        await chat("/cobudget donner 3 20", user="bruno", room=ROOM)  # 35 € min: returned
        clock.set(CLOSE)
        await bot.scheduler.run_due()
        first = plain(sent[-1].text)
        assert "Second tour jusqu'au" in first and "Rendu aux membres (projets sous leur minimum) : 20 €." in first
        assert "seuls les projets financés" in await chat("/cobudget donner 2 5", user="bruno", room=ROOM)
        assert "on donne sans reprendre" in await chat("/cobudget retirer 1 5", user="alice", room=ROOM)
        assert "plus besoin que de 20 €" in await chat("/cobudget donner 1 25", user="bruno", room=ROOM)
        clock.set(datetime(2026, 12, 14, 0, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        final = plain(sent[-1].text)
        assert "| 1 | Atelier vélo | 50 € | 20 € | 50 € | financé |" in final
        assert "Second tour" not in final
        await assert_totals_exact(bot)


async def test_a_funded_project_becomes_an_envelope_once(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    await opened(chat, bot)
    clock.set(FUNDING)
    await bot.scheduler.run_due()
    await chat("/cobudget donner 1 30", user="alice", room=ROOM)
    assert "pas un projet financé" in await chat("/cobudget financer 1", user="dominique")
    clock.set(CLOSE)
    await bot.scheduler.run_due()
    assert "Seuls les trésoriers" in await chat("/cobudget financer 1", user="alice")
    assert "pas un projet financé" in await chat("/cobudget financer 2", user="dominique")
    await chat("/contrib liste tech", user="alice")  # the envelope names, now known to the bot, must be read again
    reply = await chat("/cobudget financer 1", user="dominique")
    assert "l'enveloppe `cobudget-1` du budget contributif 2026, de 30 €" in reply
    assert "déjà l'enveloppe `cobudget-1`" in await chat("/cobudget financer 1", user="camille")
    detail = await chat("/budget cobudget-1", user="alice")
    assert "Atelier vélo" in detail and "inconnu" not in detail, detail


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"room": ""}, "cobudget.room doit être le nom d'un salon"),
        ({"room": 3}, "cobudget.room"),
        ({"second_pass": "oui"}, "cobudget.second_pass doit être true ou false"),
        ({"second_pass_days": 0}, "entre 1 et 90"),
        ({"second_pass_days": True}, "entre 1 et 90"),
        ({"seconde_passe": True}, "seconde_passe"),
    ],
)
def test_configuration_mistakes_are_named(table: dict[str, object], message: str) -> None:
    raw = tomllib.loads(example_config_path().read_text("utf-8"))
    raw["cobudget"] = table
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw)
    assert message in str(raised.value)


def test_configuration_read() -> None:
    raw = tomllib.loads(example_config_path().read_text("utf-8"))
    assert parse_settings(raw).cobudget == CobudgetSettings()
    raw["cobudget"] = {"room": "#cobudget", "second_pass": True, "second_pass_days": 5}
    assert parse_settings(raw).cobudget == CobudgetSettings("cobudget", True, 5)


async def test_a_private_round_is_seen_only_in_its_room(bot: Bot) -> None:
    chat = Chat(bot)
    secret = Room("room-secret", "bureau", RoomKind.GROUP)

    async def send(text: str, user: str, where: Room) -> str:
        incoming = message(text, user=user)
        out = await bot.handle(dataclasses.replace(incoming, room=where))
        return "\n".join(plain(o.text) for o in out if o.is_reply)

    assert "Co-budget n°1" in await send(OPEN, "camille", secret)
    assert "salon privé" in await chat("/cobudget", user="bruno")
    assert "salon privé" in await chat("/cobudget participer", user="bruno", room="general")
    assert "Résultat 2026" in await send("/cobudget", "bruno", secret)


async def test_opened_from_a_thread_is_posted_top_level(bot: Bot) -> None:
    incoming = dataclasses.replace(message(OPEN, room_name=ROOM), thread_id="some-thread")
    out = await bot.handle(incoming)
    [post] = [o for o in out if "Co-budget n°1" in o.text]
    assert post.thread_id is None and post.room_name == ROOM
    assert any("hors du fil" in plain(o.text) and o.thread_id == "some-thread" for o in out)


async def test_a_private_round_is_not_named_when_another_is_opened_elsewhere(bot: Bot) -> None:
    secret = Room("room-secret", "bureau", RoomKind.GROUP)
    private_open = OPEN.replace("Résultat 2026", "Primes secrètes")
    await bot.handle(dataclasses.replace(message(private_open), room=secret))
    before = await rows(bot)
    reply = "\n".join(plain(o.text) for o in await bot.handle(message(OPEN, room_name="general")))
    assert "n'est pas encore clos" in reply and "salon privé" in reply, reply
    assert "Primes secrètes" not in reply
    assert await rows(bot) == before


async def test_a_room_listing_that_fails_still_opens_the_vote(settings: Settings, clock: FixedClock) -> None:
    configured = dataclasses.replace(settings, cobudget=CobudgetSettings(room=ROOM))
    async with started_bot(configured, clock) as bot:
        chat = Chat(bot)
        await chat(OPEN, room=ROOM)
        await chat("/cobudget participer", user="zoe", room=ROOM)

        async def members_of(room: Room) -> list[Author] | None:
            raise ConnectionError("chat server unreachable")

        bot.members_of = members_of
        bot.scheduler.members_of = members_of
        sent = delivered(bot)
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        text = plain(sent[0].text) if sent else ""
        assert "le vote est ouvert" in text and "1 participant(s) : 100 € ÷ 1 = 100 € chacun." in text, sent
        assert "La liste des membres de #cobudget n'a pas pu être lue" in text
        assert "votre part 100 €" in await chat("/cobudget moi", user="zoe", room=ROOM)


@pytest.mark.parametrize(
    ("command", "room", "expected"),
    [
        ('/cobudget projet "Long" 50 ' + "mot " * 1200, ROOM, "Description trop longue"),
        (OPEN, "@bot", "pas en message direct"),
    ],
)
async def test_refusals_of_what_was_typed_show_an_example(
    chat: Chat, bot: Bot, command: str, room: str, expected: str
) -> None:
    if room != "@bot":
        await chat(OPEN, room=ROOM)
    before = await rows(bot)
    reply = await chat(command, user="camille", room=room)
    assert expected in reply and "Exemple : `/cobudget " in reply, reply
    assert await rows(bot) == before


async def test_opening_outside_the_configured_room_shows_an_example(settings: Settings, clock: FixedClock) -> None:
    configured = dataclasses.replace(settings, cobudget=CobudgetSettings(room=ROOM))
    async with started_bot(configured, clock) as bot:
        reply = await Chat(bot)(OPEN, room="general")
        assert "s'ouvre dans #cobudget" in reply and "Exemple : `/cobudget ouvrir " in reply, reply


async def test_a_second_pass_fired_late_still_ends_at_midnight_as_said(settings: Settings, clock: FixedClock) -> None:
    two_passes = dataclasses.replace(settings, cobudget=CobudgetSettings(second_pass=True, second_pass_days=3))
    async with started_bot(two_passes, clock) as bot:
        chat = Chat(bot)
        sent = delivered(bot)
        await opened(chat, bot, ("alice", "bruno"))
        clock.set(FUNDING)
        await bot.scheduler.run_due()
        await chat("/cobudget donner 1 30", user="alice", room=ROOM)
        await chat("/cobudget donner 3 20", user="bruno", room=ROOM)
        clock.set(datetime(2026, 12, 11, 10, 30, tzinfo=PARIS))  # the close fires late, in the morning
        await bot.scheduler.run_due()
        # Three days: 11, 12 and 13 December, the last one included, as every other phase.
        assert "Second tour jusqu'au dimanche 13 décembre 2026 inclus" in plain(sent[-1].text), plain(sent[-1].text)
        assert "Vote jusqu'au dimanche 13 décembre 2026 inclus" in await chat("/cobudget", room=ROOM)
        clock.set(datetime(2026, 12, 14, 0, 0, tzinfo=PARIS))
        await bot.scheduler.run_due()
        assert "résultat**" in sent[-1].text and "Second tour" not in plain(sent[-1].text)
        await assert_totals_exact(bot)


@pytest.mark.postgres
async def test_two_admins_opening_at_once_open_one_round(settings: Settings, clock: FixedClock) -> None:
    two_admins = dataclasses.replace(settings, admins=frozenset({"camille", "dora"}))
    async with started_bot(two_admins, clock) as bot:
        both = [
            message(OPEN.replace("Résultat 2026", "Premier"), user="camille", room_name=ROOM),
            message(OPEN.replace("Résultat 2026", "Second"), user="dora", room_name="general"),
        ]
        replies = await asyncio.gather(*(bot.handle(m) for m in both))
        texts = [plain(o.text) for out in replies for o in out]
        assert sum("n'est pas encore clos : un seul à la fois" in t for t in texts) == 1, texts
        assert await count(bot, "cobudget_round") == 1
        assert await count(bot, "scheduled_task") == 3  # the vote's opening, its reminder, its close
