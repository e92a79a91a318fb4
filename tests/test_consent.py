"""/consent on both databases: rounds with every position, changes, objections without reason, styles, quorum,
deadlines crossing a restart, amend-and-rerun, reactions, concurrency."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.consent_settings import ConsentRules
from chatbot.db.models import ConsentPosition, ConsentRound, Member, ScheduledTask, TaskStatus
from chatbot.transport.base import Author, Outgoing, ReactionChange, Room
from tests.conftest import NOW, Chat, message, room
from tests.conftest import plain as visible_plain
from tests.helpers import count

GOV = "gouvernance"


class Plain(Chat):
    """Replies as read, without the bold markers."""

    async def __call__(self, text: str, *, user: str = "camille", room: str = "@bot") -> str:
        return (await super().__call__(text, user=user, room=room)).replace("**", "")


@pytest.fixture
def chat(bot: Bot) -> Chat:
    return Plain(bot)


def plain(text: str) -> str:
    return visible_plain(text).replace("**", "")


async def open_round(chat: Chat, text: str = "Adopter la charte de la visio", *, user: str = "alice") -> Outgoing:
    out = await chat.send(f"/consent {text}", user=user, room=GOV)
    assert len(out) == 1, out
    return out[0]


def scheduled(bot: Bot) -> list[Outgoing]:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    return delivered


async def test_open_round_posts_proposal_deadline_and_how_to_answer(chat: Chat, bot: Bot) -> None:
    post = await open_round(chat, "Adopter la charte de la visio d'ici vendredi 18h")
    text = plain(post.text)
    assert post.id == "consent-1" and post.room_name == GOV
    assert "Cycle de consentement n°1" in text and "ouvert par alice (gouvernance)" in text
    assert "« Adopter la charte de la visio »" in text
    assert "Réponses jusqu'au vendredi 27 novembre 2026 à 18 h (lu dans « d'ici vendredi 18h »)." in text
    assert "`/consent 1 ok`" in text and "`/consent 1 objection` suivi de votre raison" in text
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(ScheduledTask).order_by(ScheduledTask.due_at))).all()
    # Reminder 24 h before the deadline, then the deadline itself (UTC: Paris is UTC+1 in November).
    assert [(t.kind, t.due_at.isoformat()) for t in tasks] == [
        ("consent_reminder", "2026-11-26T17:00:00+00:00"),
        ("consent_deadline", "2026-11-27T17:00:00+00:00"),
    ]


async def test_default_deadline_and_circle_channel(chat: Chat) -> None:
    out = await chat.send("/consent Refaire le wiki", user="alice", room="cercle-tech")
    text = plain(out[0].text)
    assert "(cercle Technique)" in text
    assert "Réponses jusqu'au dimanche 29 novembre 2026 à 10 h." in text  # 72 h by default


async def test_refused_outside_governance_and_circle_channels(chat: Chat, bot: Bot) -> None:
    reply = await chat("/consent Adopter la charte", user="alice", room="general")
    assert "Un cycle de consentement s'ouvre dans un canal de gouvernance ou de cercle" in reply
    reply = await chat("/consent Adopter la charte", user="alice")
    assert "canal de gouvernance" in reply
    assert await count(bot, "consent_round") == 0


async def test_full_round_with_every_position_then_adopted(chat: Chat, bot: Bot) -> None:
    await open_round(chat, "Adopter la charte 48h revue 6 mois")
    assert "votre consentement au cycle n°1 est enregistré" in await chat("/consent 1 ok", user="bruno", room=GOV)
    reply = await chat("/consent 1 reserve Le coût n'est pas chiffré", user="chloe", room=GOV)
    assert "réserve sur le cycle n°1 est enregistrée" in reply
    assert "abstention sur le cycle n°1" in await chat("/consent 1 abstention", user="david", room=GOV)
    reply = await chat("/consent 1 objection Exclut ceux sans visio", user="emma", room=GOV)
    assert "objection au cycle n°1 est enregistrée" in reply
    # Emma changes her mind: one position per member, the latest counts.
    reply = await chat("/consent 1 ok", user="emma", room=GOV)
    assert "(Vous aviez répondu : objection.)" in reply
    state = await chat("/consent 1", user="alice", room=GOV)
    assert "Consentements : 2 · Réserves : 1 · Objections : 0 · Abstentions : 1" in state
    assert "• chloe : Le coût n'est pas chiffré" in state
    assert "Pas encore répondu : alice" in state  # the console fallback: members known in this room
    assert await count(bot, "consent_position") == 4

    reply = await chat("/consent 1 clore", user="alice", room=GOV)
    assert "Cycle n°1 adopté" in reply and "Décision D-1 inscrite au registre" in reply
    assert "• chloe : Le coût n'est pas chiffré" in reply
    assert "Revue prévue le 26/05/2027" not in reply and "Revue prévue le mercredi 26 mai 2027." in reply
    # Closing early withdrew the pending deadline and reminder, and scheduled the review.
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(ScheduledTask).order_by(ScheduledTask.id))).all()
    assert [(t.kind, t.status) for t in tasks] == [
        ("consent_deadline", TaskStatus.CANCELLED),
        ("consent_reminder", TaskStatus.CANCELLED),
        ("decision_review", TaskStatus.PENDING),
    ]
    assert "est clos" in await chat("/consent 1 ok", user="fanny", room=GOV)


async def test_objection_without_reason_is_not_counted_and_is_asked_for(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    reply = await chat("/consent 1 objection", user="bruno", room=GOV)
    assert "notée mais pas comptée" in reply and "`/consent 1 objection le coût n'est pas chiffré`" in reply
    state = await chat("/consent 1", user="alice", room=GOV)
    assert "Objections : 0" in state and "Objections sans raison (non comptées) : bruno" in state
    reply = await chat("/consent 1 clore", user="alice", room=GOV)
    assert "Cycle n°1 adopté" in reply  # the objection without a reason did not block

    await open_round(chat, "Deuxième proposition")
    await chat("/consent 2 objection", user="bruno", room=GOV)
    await chat("/consent 2 objection Trop cher", user="bruno", room=GOV)
    reply = await chat("/consent 2 clore", user="alice", room=GOV)
    assert "Cycle n°2 non adopté" in reply and "• bruno : Trop cher" in reply
    assert "alice peut amender la proposition : `/consent 2 amender` suivi du nouveau texte" in reply
    assert await count(bot, "decision") == 1


async def test_rights_close_withdraw_amend_author_or_admin(chat: Chat, bot: Bot) -> None:
    await open_round(chat, user="alice")
    reply = await chat("/consent 1 clore", user="bruno", room=GOV)
    assert "Seuls l'auteur du cycle n°1 (alice) et les administrateurs" in reply
    assert "Seuls l'auteur" in await chat("/consent 1 retirer", user="bruno", room=GOV)
    reply = await chat("/consent 1 retirer", user="camille", room=GOV)  # camille is an admin
    assert "Cycle n°1 retiré par camille" in reply
    assert await count(bot, "scheduled_task", "status = 'pending'") == 0
    assert "est clos" in await chat("/consent 1 ok", user="bruno", room=GOV)
    assert "Aucun cycle de consentement n°9" in await chat("/consent 9 ok", user="bruno", room=GOV)


async def test_amend_and_rerun_chain_into_the_register(chat: Chat, bot: Bot) -> None:
    await open_round(chat, "Visio obligatoire")
    assert "n'en a pas" in await chat("/consent 1 amender Visio conseillée", user="alice", room=GOV)
    await chat("/consent 1 objection Exclut ceux sans connexion", user="bruno", room=GOV)
    await chat("/consent 1 objection", user="chloe", room=GOV)
    out = await chat.send("/consent 1 amender Visio conseillée 3 jours", user="alice", room=GOV)
    text = plain(out[0].text)
    assert out[0].id == "consent-2"
    assert "Cycle n°1 amendé par alice : la proposition repart dans le cycle n°2" in text
    assert "Proposition amendée du cycle n°1." in text
    assert "@bruno, @chloe : vos objections" in text
    assert "Réponses jusqu'au dimanche 29 novembre 2026 à 10 h (lu dans « 3 jours »)." in text
    assert "est clos" in await chat("/consent 1 ok", user="bruno", room=GOV)
    await chat("/consent 2 ok", user="bruno", room=GOV)
    await chat("/consent 2 objection Toujours pas", user="chloe", room=GOV)
    await chat("/consent 2 clore", user="alice", room=GOV)
    # A round closed without adoption may still be amended, once.
    await chat("/consent 2 amender Visio facultative", user="alice", room=GOV)
    assert "déjà été amendé" in await chat("/consent 2 amender Autre chose", user="alice", room=GOV)
    await chat("/consent 3 ok", user="chloe", room=GOV)
    assert "Décision D-1" in await chat("/consent 3 clore", user="alice", room=GOV)
    state = await chat("/consent 3", user="alice", room=GOV)
    assert "Cycles : n°1 → n°2 → n°3" in state
    shown = await chat("/decision D-1", user="bruno")
    assert "Décision D-1" in shown and "« Visio facultative »" in shown and "n°1 → n°2 → n°3" in shown


@pytest.fixture
def sofa_settings(settings: Settings) -> Settings:
    consent = dataclasses.replace(
        settings.consent,
        circles={"sante": ConsentRules(style="sofa", quorum=3, reminder_hours=None)},
    )
    return dataclasses.replace(settings, consent=consent)


@pytest.fixture
async def sofa_chat(sofa_settings: Settings, clock: FixedClock) -> AsyncIterator[Chat]:
    bot = Bot.create(sofa_settings, clock=clock)
    await bot.start(auto_migrate=False)
    try:
        yield Plain(bot)
    finally:
        await bot.close()


async def test_sofa_style_and_quorum(sofa_chat: Chat) -> None:
    room_name = "cercle-sante"
    out = await sofa_chat.send("/consent Une heure de pause 48h", user="alice", room=room_name)
    text = plain(out[0].text)
    assert "Quorum : 3 réponses au moins." in text and "reserve" not in text
    reply = await sofa_chat("/consent 1 reserve Bof", user="bruno", room=room_name)
    assert "style SoFA" in reply and "pas de réserve ni d'abstention" in reply
    assert "style SoFA" in await sofa_chat("/consent 1 abstention", user="bruno", room=room_name)
    await sofa_chat("/consent 1 ok", user="bruno", room=room_name)
    await sofa_chat("/consent 1 ok", user="chloe", room=room_name)
    reply = await sofa_chat("/consent 1 clore", user="alice", room=room_name)
    assert "Cycle n°1 non adopté" in reply and "Quorum non atteint : 2 réponse(s) pour 3 requises." in reply

    await sofa_chat.send("/consent Deux heures de pause", user="alice", room=room_name)
    for user in ("bruno", "chloe", "david"):
        await sofa_chat("/consent 2 ok", user=user, room=room_name)
    assert "Cycle n°2 adopté" in await sofa_chat("/consent 2 clore", user="alice", room=room_name)
    async with sofa_chat.bot.sessions() as session:
        tasks = (await session.scalars(select(ScheduledTask.kind))).all()
    assert "consent_reminder" not in tasks  # reminders are off for this circle


async def test_deadline_closes_the_round_and_reminder_mentions_who_has_not_answered(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    delivered = scheduled(bot)
    await open_round(chat, "Adopter la charte 48h")
    await chat("/consent 1 ok", user="bruno", room=GOV)
    # A former round in this room makes chloe a known participant of it.
    await open_round(chat, "Autre chose", user="chloe")
    clock.advance(timedelta(hours=24))
    assert await bot.scheduler.run_due() == 1
    reminder = plain(delivered[-1].text)
    assert delivered[-1].room_name == GOV and not delivered[-1].is_reply
    assert "Cycle n°1 : clôture samedi 28 novembre 2026 à 10 h" in reminder
    assert "Pas encore répondu : @alice, @chloe" in reminder
    clock.advance(timedelta(hours=24))
    await bot.scheduler.run_due()
    texts = [plain(o.text) for o in delivered]
    assert len(texts) == 3
    assert any("Cycle n°2 : clôture dimanche 29 novembre 2026 à 10 h" in t for t in texts)  # round 2's reminder
    outcome = next(t for t in texts if "Cycle n°1 adopté" in t)
    assert "en retard" not in outcome


async def test_deadline_crossing_a_restart_closes_late_and_says_so(settings: Settings, clock: FixedClock) -> None:
    first = Bot.create(settings, clock=clock)
    await first.start(auto_migrate=False)
    chat = Chat(first)
    await open_round(chat, "Adopter la charte 48h")
    await chat("/consent 1 objection Trop tôt", user="bruno", room=GOV)
    await first.close()

    clock.advance(timedelta(hours=60))  # the bot was down across the reminder and the deadline
    second = Bot.create(settings, clock=clock)
    await second.start(auto_migrate=False)
    try:
        delivered = scheduled(second)
        await second.scheduler.run_due()
        texts = [plain(o.text) for o in delivered]
        assert len(texts) == 1  # the stale reminder is skipped, the outcome is sent
        assert "Cycle n°1 non adopté" in texts[0] and "• bruno : Trop tôt" in texts[0]
        assert (
            "Clôturé en retard : le bot était indisponible à l'échéance du samedi 28 novembre 2026 à 10 h" in (texts[0])
        )
        async with second.sessions() as session:
            round_ = await session.get(ConsentRound, 1)
            assert round_ is not None and round_.status == "rejected" and round_.closed_late
            statuses = sorted((await session.scalars(select(ScheduledTask.status))).all())
        assert statuses == [TaskStatus.DONE, TaskStatus.SKIPPED]
    finally:
        await second.close()


async def test_review_date_reminder_posted_in_the_room(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = scheduled(bot)
    await open_round(chat, "Charte 48h revue 1 mois")
    await chat("/consent 1 ok", user="bruno", room=GOV)
    await chat("/consent 1 clore", user="alice", room=GOV)
    clock.advance(timedelta(days=30, hours=23))  # 27 December 2026, 09:00
    assert await bot.scheduler.run_due() == 1
    text = plain(delivered[-1].text)
    assert "Revue de la décision D-1" in text and "« Charte »" in text and delivered[-1].room_name == GOV


# --- reactions -------------------------------------------------------------------------------------------------


def reaction(emoji: str, user: str, *, added: bool = True, post: str = "consent-1") -> ReactionChange:
    return ReactionChange(post, room(GOV), Author(f"id-{user}", user), emoji, added)


async def test_positions_by_reaction_including_removal(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    assert await bot.handle_reaction(reaction(":thumbsup:", "bruno")) == []
    assert await bot.handle_reaction(reaction(":thinking:", "chloe")) == []
    asked = await bot.handle_reaction(reaction(":raised_hand:", "david"))
    assert len(asked) == 1 and asked[0].thread_id == "consent-1" and asked[0].room_name == GOV
    assert "@david, vous avez objecté au cycle n°1 : quelle est votre raison ?" in plain(asked[0].text)
    # Replayed reaction: same state. Unrelated message or emoji: ignored.
    await bot.handle_reaction(reaction(":thumbsup:", "bruno"))
    assert await bot.handle_reaction(reaction(":thumbsup:", "bruno", post="other-message")) == []
    assert await bot.handle_reaction(reaction(":tada:", "bruno")) == []
    state = await chat("/consent 1", user="alice", room=GOV)
    assert "Consentements : 1 · Réserves : 1 · Objections : 0" in state
    assert "Objections sans raison (non comptées) : david" in state
    # The reason, given by command, makes the objection count; re-reacting keeps it.
    await chat("/consent 1 objection Pas assez discuté", user="david", room=GOV)
    assert await bot.handle_reaction(reaction(":raised_hand:", "david")) == []
    assert "• david : Pas assez discuté" in await chat("/consent 1", user="alice", room=GOV)
    # Removing a reaction removes the position; removing a reaction no longer current changes nothing.
    await bot.handle_reaction(reaction(":thumbsup:", "bruno", added=False))
    await bot.handle_reaction(reaction(":thumbsup:", "chloe", added=False))
    state = await chat("/consent 1", user="alice", room=GOV)
    assert "Consentements : 0 · Réserves : 1 · Objections : 1" in state
    assert await count(bot, "consent_position") == 2


async def recorded(bot: Bot) -> dict[str, tuple[str, str, bool]]:
    """username → (kind, reason, by reaction) of every consent position."""
    async with bot.sessions() as session:
        rows = await session.execute(
            select(Member.username, ConsentPosition.kind, ConsentPosition.reason, ConsentPosition.by_reaction).join(
                Member, Member.id == ConsentPosition.member_id
            )
        )
        return {username: (kind, reason, by_reaction) for username, kind, reason, by_reaction in rows.all()}


async def test_removing_a_reaction_takes_back_only_a_position_given_by_reaction(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    await bot.handle_reaction(reaction(":thumbsup:", "bruno"))
    # Reacted, then answered by command: the command answer is what counts, removing the reaction keeps it.
    await bot.handle_reaction(reaction(":thumbsup:", "chloe"))
    await chat("/consent 1 ok", user="chloe", room=GOV)
    # Objected by command with a reason, reacted the same afterwards (or the reaction came back after a restart).
    await chat("/consent 1 objection Pas assez discuté", user="david", room=GOV)
    await bot.handle_reaction(reaction(":raised_hand:", "david"))
    # Answered by command, then changed their mind by reaction: that position is a reaction's.
    await chat("/consent 1 ok", user="erin", room=GOV)
    await bot.handle_reaction(reaction(":thinking:", "erin"))
    assert await recorded(bot) == {
        "bruno": ("consent", "", True),
        "chloe": ("consent", "", False),
        "david": ("objection", "Pas assez discuté", False),
        "erin": ("concern", "", True),
    }
    for emoji, user in ((":thumbsup:", "bruno"), (":thumbsup:", "chloe"), (":raised_hand:", "david")):
        await bot.handle_reaction(reaction(emoji, user, added=False))
    await bot.handle_reaction(reaction(":thumbsup:", "erin", added=False))  # not erin's kind: nothing
    assert await recorded(bot) == {
        "chloe": ("consent", "", False),
        "david": ("objection", "Pas assez discuté", False),
        "erin": ("concern", "", True),
    }
    await bot.handle_reaction(reaction(":thinking:", "erin", added=False))
    assert set(await recorded(bot)) == {"chloe", "david"}


async def test_reactions_gone_from_the_post_unset_the_positions_they_gave(chat: Chat, bot: Bot) -> None:
    """After a restart the transport reads each open round's post once and hands over who shows which emoji:
    positions given by reaction that the post no longer shows go, answers by command stay."""
    await open_round(chat)
    for emoji, user in (
        (":thumbsup:", "bruno"),
        (":raised_hand:", "chloe"),
        (":thinking:", "erin"),
        (":thumbsup:", "fanny"),
    ):
        await bot.handle_reaction(reaction(emoji, user))
    await chat("/consent 1 ok", user="david", room=GOV)
    before = await recorded(bot)
    # Not a round's post, or emojis that give no position: nothing changes.
    await bot.handle_reactions_read("other-message", {})
    await bot.handle_reactions_read(
        "consent-1",
        {
            ":+1:": ["id-bruno", "id-fanny"],
            ":thinking_face:": ["id-erin"],
            ":raised_hand:": ["id-chloe"],
            ":tada:": ["id-david"],
        },
    )
    assert await recorded(bot) == before
    # chloe removed her objection while the bot was down; fanny now shows an objection only (not her consent);
    # david, who answered by command, shows nothing and keeps his answer.
    shown = {":thumbsup:": ["id-bruno"], ":thinking_face:": ["id-erin"], ":raised_hand:": ["id-fanny"]}
    await bot.handle_reactions_read("consent-1", shown)
    assert await recorded(bot) == {
        "bruno": ("consent", "", True),
        "david": ("consent", "", False),
        "erin": ("concern", "", True),
    }
    await bot.handle_reactions_read("consent-1", shown)  # read again: same state
    assert await count(bot, "consent_position") == 3
    # A closed round keeps its positions whatever its post shows.
    await chat("/consent 1 clore", user="alice", room=GOV)
    await bot.handle_reactions_read("consent-1", {})
    assert await count(bot, "consent_position") == 3


async def test_reaction_after_closing_is_answered_in_thread(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    await chat("/consent 1 ok", user="chloe", room=GOV)
    await chat("/consent 1 clore", user="alice", room=GOV)
    out = await bot.handle_reaction(reaction(":thumbsup:", "bruno"))
    assert len(out) == 1 and out[0].thread_id == "consent-1" and "est clos" in plain(out[0].text)


async def test_room_members_from_the_transport(chat: Chat, bot: Bot) -> None:
    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in ("alice", "bruno", "chloe", "zoe")] if r.name == GOV else None

    bot.members_of = members_of
    await open_round(chat)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    state = await chat("/consent 1", user="alice", room=GOV)
    assert "Pas encore répondu : alice, chloe, zoe" in state and "Je ne connais pas la liste" not in state
    # Someone outside the room may not answer.
    assert "Seuls les membres du salon #gouvernance" in await chat("/consent 1 ok", user="intrus", room=GOV)
    out = await bot.handle_reaction(reaction(":thumbsup:", "intrus"))
    assert "Seuls les membres" in plain(out[0].text)
    assert await count(bot, "consent_position") == 1


# --- concurrency -----------------------------------------------------------------------------------------------


async def test_many_members_answering_at_once_count_once_each(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    members = [f"membre{i}" for i in range(30)]
    await asyncio.gather(*(bot.handle(message("/consent 1 ok", user=u, room_name=GOV)) for u in members))
    # The same members again, at once, by command and by reaction: still one position each.
    await asyncio.gather(
        *(bot.handle(message("/consent 1 reserve Bof", user=u, room_name=GOV)) for u in members[:10]),
        *(bot.handle_reaction(reaction(":thumbsup:", u)) for u in members[:10]),
        *(bot.handle(message("/consent 1 ok", user=u, room_name=GOV)) for u in members[10:]),
    )
    assert await count(bot, "consent_position") == 30
    state = await chat("/consent 1", user="alice", room=GOV)
    consents = int(state.split("Consentements : ")[1].split(" ")[0])
    concerns = int(state.split("Réserves : ")[1].split(" ")[0])
    assert consents + concerns == 30


async def test_replayed_command_changes_nothing(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    first = await bot.handle(message("/consent 1 ok", user="bruno", room_name=GOV, message_id="m-1"))
    again = await bot.handle(message("/consent 1 ok", user="bruno", room_name=GOV, message_id="m-1"))
    assert first and again == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/consent", "Il manque la proposition"),
        ("/consent 48h", "Il manque la proposition"),
        ("/consent Charte jusqu'au 31/02", "Échéance illisible : « 31/02 »"),
        ("/consent Charte 12/13", "Échéance illisible"),
        ("/consent Charte 12/03/2020", "déjà passée"),
        ("/consent Charte 200 jours", "trop lointaine"),
        ("/consent Charte revue dans six mois", "Date de revue illisible"),
        ("/consent 1 okk", "Aucun cycle de consentement n°1."),
        ("/consent 1 clore maintenant", "Je ne comprends pas la fin de la commande"),
    ],
)
async def test_bad_input_gets_a_french_answer_and_writes_nothing(
    chat: Chat, bot: Bot, command: str, expected: str
) -> None:
    reply = await chat(command, user="alice", room=GOV)
    assert expected in reply, reply
    assert await count(bot, "consent_round") == 0
    assert await count(bot, "scheduled_task") == 0


async def test_quoted_proposal_keeps_its_trailing_words(chat: Chat) -> None:
    out = await chat.send("/consent « Passer à 35h » 3 jours", user="alice", room=GOV)
    text = plain(out[0].text)
    assert "« Passer à 35h »" in text and "dimanche 29 novembre 2026 à 10 h" in text


async def test_now_is_thursday(clock: FixedClock) -> None:
    assert clock.now() == NOW


async def test_review_reminder_missed_while_down_is_sent_late(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = scheduled(bot)
    await open_round(chat, "Charte revue 1 mois")
    await chat("/consent 1 ok", user="bruno", room=GOV)
    await chat("/consent 1 clore", user="alice", room=GOV)
    clock.advance(timedelta(days=40))
    await bot.scheduler.run_due()
    text = plain(delivered[-1].text)
    assert "Revue de la décision D-1" in text and "Rappel envoyé en retard" in text


async def test_closing_while_members_answer_counts_exactly_the_accepted_answers(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    await chat("/consent 1 ok", user="zoe", room=GOV)  # someone answered: the author may close early
    users = [f"membre{i}" for i in range(20)]
    answers = [bot.handle(message("/consent 1 objection Non", user=u, room_name=GOV)) for u in users]
    results = await asyncio.gather(
        *answers[:10], bot.handle(message("/consent 1 clore", user="alice", room_name=GOV)), *answers[10:]
    )
    replies = [plain(r[0].text) for r in results]
    outcome = replies[10]
    accepted = sum("objection au cycle n°1 est enregistrée" in r for r in replies)
    refused = sum("est clos" in r for r in replies)
    assert accepted + refused == 20
    assert await count(bot, "consent_position") == accepted + 1  # and zoe's
    # Every accepted objection is in the outcome, none after it.
    assert outcome.count("• membre") == accepted
    assert ("non adopté" in outcome) == (accepted > 0)


async def test_sofa_refuses_a_concern_by_reaction_in_the_thread(sofa_chat: Chat) -> None:
    await sofa_chat.send("/consent Une heure de pause", user="alice", room="cercle-sante")
    change = ReactionChange("consent-1", room("cercle-sante"), Author("id-bruno", "bruno"), ":thinking:", True)
    out = await sofa_chat.bot.handle_reaction(change)
    assert out[0].thread_id == "consent-1" and "style SoFA" in plain(out[0].text)
    assert await count(sofa_chat.bot, "consent_position") == 0


# --- QA regressions --------------------------------------------------------------------------------------------


async def test_quotes_keep_a_lone_quoted_proposal_whole(chat: Chat, bot: Bot) -> None:
    text = plain((await open_round(chat, "« Passer à 35h »")).text)
    assert "« Passer à 35h »" in text
    assert "Réponses jusqu'au dimanche 29 novembre 2026 à 10 h." in text  # the default 72 h, not 35 h
    # Amending keeps quotes too.
    await chat("/consent 1 objection Trop court", user="bruno", room=GOV)
    amended = await chat('/consent 1 amender "Passer à 32h"', user="alice", room=GOV)
    assert "« Passer à 32h »" in amended and "dimanche 29 novembre 2026 à 10 h" in amended


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/consent abc ok", "« abc ok » ressemble à une réponse à un cycle, pas à une proposition"),
        ("/consent ok", "Aucun cycle n'est ouvert ici ; pour répondre à un cycle, donnez son numéro : `/consent 1 ok`"),
        ("/consent douze objection", "`/consent 1 objection`"),
        ("/consent Charte clore 48h", "« Charte clore » ressemble à une réponse"),
        ("/consent 99999999999999999999 ok", "Aucun cycle de consentement n°99999999999999999999."),
        ("/consent #12 ok", "Aucun cycle de consentement n°12."),
        ("/consent n° 12 ok", "Aucun cycle de consentement n°12."),
        ("/consent 12 heures par semaine", "Aucun cycle de consentement n°12. Exemple"),
        ("/consent Charte d'ici hier", "L'échéance « d'ici hier » est déjà passée"),
        ("/consent Charte 2min", "L'échéance « 2min » est trop proche : laissez au moins 1 heure"),
        ("/consent Charte 99999 jours", "L'échéance « 99999 jours » est trop lointaine (au plus 183 jours)"),
        ("/consent Charte 99999999999999999999 jours", "trop lointaine"),
        ("/consent Charte 10000h", "trop lointaine"),
        ("/consent Charte avant la fin du mois", "Échéance illisible : « avant la fin du mois » ; je n'ouvre pas"),
        ("/consent Charte jusqu'au 45", "Échéance illisible : « jusqu'au 45 »"),
        ("/consent Charte d'ici 25h30", "Échéance illisible"),
        (
            "/consent Charte d'ici 18h",
            "Échéance à préciser : « d'ici 18h » peut dire « avant 18 h » ou « dans 18 heures »",
        ),
        ("/consent Charte revue le 31/12/9999", "La date de revue « le 31/12/9999 » est trop lointaine"),
        ("/consent Charte revue 11 ans", "trop lointaine (au plus 10 ans)"),
        ("/consent Charte revue 99999999999999 mois", "trop lointaine (au plus 10 ans)"),
    ],
)
async def test_typos_and_unreadable_deadlines_open_nothing(chat: Chat, bot: Bot, command: str, expected: str) -> None:
    reply = await chat(command, user="alice", room=GOV)
    assert expected in reply, reply
    assert await count(bot, "consent_round") == 0
    assert await count(bot, "scheduled_task") == 0


async def test_answer_like_text_points_to_the_open_round(chat: Chat, bot: Bot) -> None:
    await open_round(chat)
    reply = await chat("/consent abc ok", user="bruno", room=GOV)
    assert "Cycle(s) ouvert(s) ici : n°1 ; pour répondre, donnez le numéro : `/consent 1 ok`" in reply
    assert await count(bot, "consent_round") == 1 and await count(bot, "consent_position") == 0
    # A known round with a word that is no action: the suggestion, not « Aucun cycle ».
    assert "Je ne connais pas « okk » après le n°1. Vouliez-vous dire : ok ?" in await chat(
        "/consent 1 okk", user="bruno", room=GOV
    )
    # Three words ending with a keyword are a proposal (the rule stops at two words).
    assert "Cycle de consentement n°2" in plain((await open_round(chat, "Tout est ok")).text)


@pytest.mark.parametrize(
    ("proposal", "text", "deadline"),
    [
        ("Charte d'ici 23h00", "Charte", "jeudi 26 novembre 2026 à 23 h"),
        ("Charte avant 9h30", "Charte", "vendredi 27 novembre 2026 à 9 h 30"),  # 9:30 today is past: tomorrow
        ("Charte 90 min", "Charte", "jeudi 26 novembre 2026 à 11 h 30"),
        ("Repeindre le local avant l'hiver", "Repeindre le local avant l'hiver", "dimanche 29 novembre 2026 à 10 h"),
        ("Fermer à 18h30", "Fermer à 18h30", "dimanche 29 novembre 2026 à 10 h"),
        ("« Payer avant la fin du mois »", "Payer avant la fin du mois", "dimanche 29 novembre 2026 à 10 h"),
    ],
)
async def test_deadlines_read_or_left_as_words(chat: Chat, proposal: str, text: str, deadline: str) -> None:
    post = plain((await open_round(chat, proposal)).text)
    assert f"« {text} »" in post and f"Réponses jusqu'au {deadline}" in post, post


async def test_early_close_needs_an_answer_from_someone_else(chat: Chat, bot: Bot) -> None:
    await open_round(chat, "Test 48h")
    await chat("/consent 1 ok", user="alice", room=GOV)  # the author's own answer does not count here
    for user in ("alice", "camille"):  # the author, and an admin
        refused = await chat("/consent 1 clore", user=user, room=GOV)
        assert "Personne d'autre que l'auteur n'a encore répondu au cycle n°1" in refused, refused
        assert "`/consent 1 retirer`" in refused
    assert await count(bot, "decision") == 0
    async with bot.sessions() as session:
        round_ = await session.scalar(select(ConsentRound))
        tasks = (await session.scalars(select(ScheduledTask))).all()
    assert round_ is not None and round_.status == "open" and round_.closed_at is None
    assert {t.status for t in tasks} == {TaskStatus.PENDING}
    await chat("/consent 1 reserve Coût", user="bruno", room=GOV)
    closed = await chat("/consent 1 clore", user="alice", room=GOV)
    assert "Cycle n°1 adopté" in closed and "Personne n'a répondu" not in closed


async def test_round_nobody_answered_is_adopted_at_its_deadline_with_a_warning(
    chat: Chat, bot: Bot, clock: FixedClock
) -> None:
    delivered = scheduled(bot)
    await open_round(chat, "Test 48h")
    await chat("/consent 1 ok", user="alice", room=GOV)
    clock.advance(timedelta(hours=48))
    await bot.scheduler.run_due()
    outcome = plain(delivered[-1].text)
    assert "Cycle n°1 adopté" in outcome and "Décision D-1" in outcome
    assert "Personne n'a répondu à ce cycle (à part son auteur)" in outcome
    assert await count(bot, "decision") == 1


async def test_positions_in_the_first_person(chat: Chat, bot: Bot) -> None:
    """Members write `je consens`, `je m'abstiens`, `je suis d'accord`, `j'objecte …` as often as the bare word."""
    await open_round(chat, "Adopter la charte 48h")
    assert "consentement au cycle n°1 est enregistré" in await chat("/consent 1 je consens", user="bruno", room=GOV)
    assert "abstention sur le cycle n°1" in await chat("/consent 1 je m'abstiens", user="chloe", room=GOV)
    assert "abstention sur le cycle n°1" in await chat("/consent 1 je m’abstiens", user="david", room=GOV)
    reply = await chat("/consent 1 je suis d'accord", user="fanny", room=GOV)
    assert "consentement au cycle n°1 est enregistré" in reply
    reply = await chat("/consent 1 j'objecte : exclut ceux sans visio", user="emma", room=GOV)
    assert "objection au cycle n°1 est enregistrée" in reply
    assert "exclut ceux sans visio" in await chat("/consent 1", room=GOV)
    assert await count(bot, "consent_position") == 5


# --- never guess: what was read, said in full ------------------------------------------------------------------


async def test_amendment_keeps_its_own_deadline_and_review_date(chat: Chat, bot: Bot) -> None:
    await open_round(chat, "Adopter la charte revue 6 mois")
    await chat("/consent 1 objection Trop vague", user="bruno", room=GOV)
    reply = await chat("/consent 1 amender Adopter la charte v2 48h revue 1 an", user="alice", room=GOV)
    assert "« Adopter la charte v2 »" in reply
    assert "Réponses jusqu'au samedi 28 novembre 2026 à 10 h (lu dans « 48h »)." in reply
    assert "la décision sera revue 12 mois après (lu dans « revue 1 an »)." in reply
    assert "`/consent 1 amender « Adopter la charte v2 48h revue 1 an »`" in reply
    async with bot.sessions() as session:
        amended = await session.get(ConsentRound, 2)
    assert amended is not None and (amended.review_months, amended.review_on) == (12, None)
    await chat("/consent 2 ok", user="bruno", room=GOV)
    reply = await chat("/consent 2 clore", user="alice", room=GOV)
    assert "Décision D-1" in reply and "Revue prévue le vendredi 26 novembre 2027." in reply


async def test_amendment_without_review_keeps_the_former_one(chat: Chat, bot: Bot) -> None:
    await open_round(chat, "Adopter la charte revue 6 mois")
    await chat("/consent 1 objection Trop vague", user="bruno", room=GOV)
    reply = await chat("/consent 1 amender Adopter la charte v2", user="alice", room=GOV)
    assert "la décision sera revue 6 mois après." in reply and "lu dans" not in reply


@pytest.mark.parametrize(
    "command",
    [
        "/consent 1 objection : un seuil trop bas",
        "/consent 1 objection: un seuil trop bas",
        "/consent 1 objection :un seuil trop bas",
        "/consent 1 j'objecte : un seuil trop bas",
    ],
)
async def test_a_reason_is_stored_and_shown_without_its_leading_colon(chat: Chat, bot: Bot, command: str) -> None:
    await open_round(chat)
    reply = await chat(command, user="bruno", room=GOV)
    assert "votre objection au cycle n°1 est enregistrée" in reply
    assert "Texte enregistré : « un seuil trop bas »" in reply
    assert "• bruno : un seuil trop bas" in await chat("/consent 1", user="alice", room=GOV)
    async with bot.sessions() as session:
        assert (await session.scalars(select(ConsentPosition.reason))).all() == ["un seuil trop bas"]


async def test_opening_reply_names_the_words_read_as_deadline_and_how_to_keep_them(chat: Chat) -> None:
    text = plain((await open_round(chat, "Tester un temps de parole mensuel en 2 semaines")).text)
    assert "« Tester un temps de parole mensuel »" in text
    assert "Réponses jusqu'au jeudi 10 décembre 2026 à 10 h (lu dans « en 2 semaines »)." in text
    assert "mettez-la entre guillemets : `/consent « Tester un temps de parole mensuel en 2 semaines »`" in text
    # Quoted, the words stay in the text and the default deadline (72 h) applies, with nothing to explain.
    text = plain((await open_round(chat, "« Tester un temps de parole mensuel en 2 semaines »")).text)
    assert "« Tester un temps de parole mensuel en 2 semaines »" in text
    assert "Réponses jusqu'au dimanche 29 novembre 2026 à 10 h." in text
    assert "lu dans" not in text and "guillemets" not in text


async def test_opening_reply_names_the_words_read_as_review_date(chat: Chat) -> None:
    text = plain((await open_round(chat, "Adopter la charte d'ici vendredi 18h revue le 01/12/2027")).text)
    assert "« Adopter la charte »" in text
    assert "Réponses jusqu'au vendredi 27 novembre 2026 à 18 h (lu dans « d'ici vendredi 18h »)." in text
    assert "revue le mercredi 1er décembre 2027 (lu dans « revue le 01/12/2027 »)." in text
    assert "`/consent « Adopter la charte d'ici vendredi 18h revue le 01/12/2027 »`" in text


async def test_default_deadline_is_said_without_words_read(chat: Chat) -> None:
    text = plain((await open_round(chat, "Adopter la charte")).text)
    assert "Réponses jusqu'au dimanche 29 novembre 2026 à 10 h." in text and "lu dans" not in text
