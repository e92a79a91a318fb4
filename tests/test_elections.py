"""/election on both databases: opening (role, term, end of nominations), secret nominations in direct messages,
the reveal, the change round, the proposal as a consent round (its adoption is the register's decision), proposing
again after an objection, the nominations' deadline across a restart, rights and private rooms."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import Decision, ElectionNomination
from chatbot.grammar.base import ParseContext
from chatbot.grammar.deadlines import resolve_deadline
from chatbot.grammar.election_arguments import ElectionTarget, ElectionTargetConverter, ElectionVerb, parse_opening
from chatbot.grammar.tokens import tokenize
from chatbot.transport.base import Author, IncomingMessage, Outgoing, ReactionChange, Room, RoomKind
from tests.conftest import NOW, Chat, room
from tests.conftest import plain as visible_plain
from tests.helpers import count

GOV = "gouvernance"
OPEN = '/election ouvrir "Co-gérance" mandat 2 ans'


def plain(text: str) -> str:
    return visible_plain(text).replace("**", "")


def delivered_by(bot: Bot) -> list[Outgoing]:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    return delivered


async def open_election(chat: Chat, command: str = OPEN, *, user: str = "alice") -> Outgoing:
    out = await chat.send(command, user=user, room=GOV)
    assert len(out) == 1, [o.text for o in out]
    return out[0]


async def nominate_three(chat: Chat) -> None:
    await chat("/election 1 nommer @camille elle connaît les comptes", user="alice")
    await chat("/election 1 nommer @bruno il a du temps cette année", user="bruno")
    await chat("/election 1 nommer @camille rigoureuse", user="dominique")


async def test_open_posts_the_announcement_top_level(chat: Chat, bot: Bot) -> None:
    post = await open_election(chat)
    text = plain(post.text)
    assert post.thread_id is None and post.id == "election-1" and post.room_name == GOV
    assert text.startswith("🗳️ Élection sans candidat n°1 : Co-gérance (mandat de 2 ans), animée par alice.")
    assert "en message direct au bot : `/election 1 nommer @camille parce que…`" in text
    assert "on peut se nommer soi-même" in text and "Pas d'échéance pour les nominations" in text
    post = await open_election(chat, "/election ouvrir « Trésorerie » mandat 18 mois nominations jusqu'au 4/12 18h")
    assert "n°2 : Trésorerie (mandat de 18 mois)" in plain(post.text)
    assert "Nominations jusqu'au vendredi 4 décembre 2026 à 18 h." in plain(post.text)
    assert "n°3 : Animation du cercle (mandat de 1 an)" in plain(
        (await open_election(chat, "/election ouvrir Animation du cercle mandat 1 an")).text
    )
    assert "n°4 : Facilitation pour le cercle (mandat de 6 mois)" in plain(
        (await open_election(chat, "/election ouvrir Facilitation pour le cercle pour 6 mois")).text
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/election ouvrir", "Il manque le rôle et la durée du mandat"),
        ('/election ouvrir "Co-gérance"', "Il manque la durée du mandat"),
        ('/election ouvrir "Co-gérance" 2 ans', "Il manque la durée du mandat"),
        ('/election ouvrir "Co-gérance" mandat 0 ans', "Durée de mandat non comprise : « 0 ans »"),
        ('/election ouvrir "Co-gérance" mandat 11 ans', "Durée de mandat non comprise"),
        ('/election ouvrir "Co-gérance" mandat deux ans', "Il manque la durée du mandat"),
        ('/election ouvrir "Co-gérance" mandat 2 ans bof', "bof"),
        ('/election ouvrir "Co-gérance" mandat 2 ans nominations bientôt', "Échéance des nominations non comprise"),
        ('/election ouvrir "Co-gérance" mandat 2 ans nominations hier', "Échéance des nominations non comprise"),
        ("/election ouvrir Co-gérance jusqu'au 12/03 mandat 2 ans", "ressemble à une date ou une durée"),
    ],
)
async def test_open_refuses_what_it_cannot_read(chat: Chat, bot: Bot, command: str, expected: str) -> None:
    reply = await chat(command, user="alice", room=GOV)
    assert expected in reply, reply
    assert await count(bot, "election") == 0


async def test_open_only_in_governance_or_circle_rooms(chat: Chat, bot: Bot) -> None:
    assert "s'ouvre dans un canal de gouvernance ou de cercle" in await chat(OPEN, user="alice")
    assert "s'ouvre dans un canal de gouvernance" in await chat(OPEN, user="alice", room="random")
    assert await count(bot, "election") == 0


async def test_nominations_are_secret_until_revealed(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")  # a member the bot knows
    await open_election(chat)
    # In a room: refused, and the nomination is not echoed there.
    out = await chat.send("/election 1 nommer @camille elle connaît les comptes", user="bruno", room=GOV)
    assert len(out) == 1 and "en message direct au bot" in plain(out[0].text)
    assert "connaît" not in plain(out[0].text)
    assert await count(bot, "election_nomination") == 0
    reply = await chat("/election 1 nommer @camille elle connaît les comptes", user="bruno")
    assert "vous nommez camille, pour cette raison : « elle connaît les comptes »" in reply
    reply = await chat("/election 1 nommer @bruno je me propose", user="bruno")  # self-nomination is allowed
    assert "vous nommez bruno" in reply and "(Elle remplace votre nomination de camille.)" in reply
    assert await count(bot, "election_nomination") == 1
    # Without the number, the only election collecting nominations.
    assert "vous nommez camille" in await chat("/election nommer @camille précise", user="alice")
    # The state says how many, never who.
    state = await chat("/election 1", user="dominique", room=GOV)
    assert "2 nomination(s) reçue(s), secrètes" in state and "camille" not in state and "précise" not in state
    assert "Votre nomination : camille (« précise »)" in await chat("/election 1", user="alice")


async def test_nominee_must_be_an_exact_known_account(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")
    await open_election(chat)
    assert "Je ne connais pas le compte « @camille" in await chat("/election 1 nommer @camille_ oui", user="bruno")
    assert "Je ne connais pas le compte" in await chat("/election 1 nommer @ｃａｍｉｌｌｅ oui", user="bruno")
    assert "Il manque la personne nommée" in await chat("/election 1 nommer camille oui", user="bruno")
    assert "se donne avec sa raison" in await chat("/election 1 nommer @camille", user="bruno")
    assert "vous nommez camille" in await chat("/election 1 nommer @Camille elle sait faire", user="bruno")
    assert await count(bot, "election_nomination") == 1


async def test_nominee_and_nominator_from_the_room_members(chat: Chat, bot: Bot) -> None:
    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in ("alice", "bruno", "camille")] if r.name == GOV else None

    bot.members_of = members_of
    await open_election(chat)
    # camille never wrote to the bot, but is a member of the room.
    assert "vous nommez camille" in await chat("/election 1 nommer @camille oui", user="bruno")
    assert "parmi les membres de #gouvernance" in await chat("/election 1 nommer @zoe oui", user="bruno")
    assert "Seuls les membres du salon #gouvernance" in await chat("/election 1 nommer @camille oui", user="intrus")


async def test_reveal_change_propose_and_elect(chat: Chat, bot: Bot) -> None:
    for user in ("camille", "dominique"):
        await chat("/election", user=user)
    await open_election(chat)
    await nominate_three(chat)
    # Only the facilitator (or an admin) reveals.
    assert "Seuls l'animateur ou l'animatrice de l'élection n°1 (alice)" in await chat(
        "/election 1 reveler", user="bruno", room=GOV
    )
    assert "Révélez d'abord" in await chat("/election 1 proposer @camille", user="alice", room=GOV)
    out = await chat.send("/election 1 reveler", user="alice", room=GOV)
    assert len(out) == 1 and out[0].room_name == GOV and out[0].thread_id is None
    text = plain(out[0].text)
    assert "📣 Élection n°1 — Co-gérance : les 3 nomination(s), révélées ensemble :" in text
    assert "• alice nomme camille : « elle connaît les comptes »" in text
    assert "• bruno nomme bruno : « il a du temps cette année »" in text
    assert "Décompte : camille : 2 · bruno : 1" in text
    assert "Tour de changement" in text
    assert "déjà révélées" in await chat("/election 1 reveler", user="alice", room=GOV)
    assert "déjà révélées" in await chat("/election 1 nommer @camille oui", user="bruno")
    # The change round: public, so in the room too.
    reply = await chat("/election 1 changer @camille ses arguments m'ont convaincu", user="bruno", room=GOV)
    assert "bruno nomme désormais camille : « ses arguments m'ont convaincu ». (Avant : bruno.)" in reply
    assert "nomme désormais camille" in await chat("/election 1 changer @camille oui", user="camille")
    # The proposal opens a consent round in the room, linked to the election.
    out = await chat.send("/election 1 proposer @camille", user="alice", room=GOV)
    assert len(out) == 1 and out[0].id == "consent-1" and out[0].thread_id is None
    text = plain(out[0].text)
    assert "alice propose camille" in text and "(changée ; à la révélation : bruno)" in text
    assert "• camille nomme camille : « oui » (donnée au tour de changement)" in text
    assert "Cycle de consentement n°1" in text and "Élire @camille au rôle de Co-gérance pour 2 ans" in text
    assert "fini : une proposition a été faite" in await chat("/election 1 changer @bruno non", user="bruno")
    assert "en cours de consentement (cycle n°1)" in await chat("/election 1 proposer @bruno", user="alice", room=GOV)
    state = await chat("/election 1", user="bruno", room=GOV)
    assert "Proposition : camille — cycle de consentement n°1 (ouvert)." in state
    # Consent as usual: a reaction, a command, closing.
    await bot.handle_reaction(ReactionChange("consent-1", room(GOV), Author("id-bruno", "bruno"), ":thumbsup:", True))
    await chat("/consent 1 ok", user="dominique", room=GOV)
    out = await chat.send("/consent 1 clore", user="alice", room=GOV)
    assert "Cycle n°1 adopté" in plain(out[0].text)
    state = await chat("/election 1", user="bruno", room=GOV)
    assert "(adopté)" in state and "✅ Élu·e : camille (décision D-1 du registre)." in state
    async with bot.sessions() as session:
        decision = await session.scalar(select(Decision))
    assert decision is not None and decision.text == "Élire @camille au rôle de Co-gérance pour 2 ans"
    assert "est faite" in await chat("/election 1 proposer @bruno", user="alice", room=GOV)


async def test_propose_again_after_an_objection(chat: Chat, bot: Bot) -> None:
    for user in ("camille", "bruno"):
        await chat("/election", user=user)
    await open_election(chat)
    await chat("/election 1 nommer @camille oui", user="bruno")
    await chat("/election 1 reveler", user="alice", room=GOV)
    await chat("/election 1 proposer @camille 72h", user="alice", room=GOV)
    await chat("/consent 1 objection elle part en congé", user="camille", room=GOV)
    await chat("/consent 1 clore", user="alice", room=GOV)
    state = await chat("/election 1", user="bruno", room=GOV)
    assert "(non adopté)" in state and "peut proposer à nouveau" in state
    out = await chat.send("/election 1 proposer @bruno", user="alice", room=GOV)
    assert out[0].id == "consent-2" and "Élire @bruno" in plain(out[0].text)
    assert "Proposition : bruno — cycle de consentement n°2 (ouvert)." in await chat("/election 1", room=GOV)


async def test_amended_round_is_followed(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")
    await open_election(chat)
    await chat("/election 1 nommer @camille oui", user="bruno")
    await chat("/election 1 reveler", user="alice", room=GOV)
    await chat("/election 1 proposer @camille", user="alice", room=GOV)
    await chat("/consent 1 objection pas pour 2 ans", user="bruno", room=GOV)
    await chat("/consent 1 amender Élire @camille au rôle de Co-gérance pour 1 an", user="alice", room=GOV)
    await chat("/consent 2 ok", user="bruno", room=GOV)
    await chat("/consent 2 clore", user="alice", room=GOV)
    assert "✅ Élu·e : camille (décision D-1 du registre)." in await chat("/election 1", room=GOV)


async def test_nominations_deadline_survives_a_restart(settings: Settings, clock: FixedClock) -> None:
    first = Bot.create(settings, clock=clock)
    await first.start(auto_migrate=False)
    chat = Chat(first)
    await chat("/election", user="camille")
    await open_election(chat, OPEN + " nominations 48h")
    await chat("/election 1 nommer @camille oui", user="bruno")
    await first.close()
    clock.advance(timedelta(hours=50))
    second = Bot.create(settings, clock=clock)
    await second.start(auto_migrate=False)
    try:
        delivered = delivered_by(second)
        assert await second.scheduler.run_due() == 1
        assert len(delivered) == 1 and delivered[0].room_name == GOV and delivered[0].thread_id is None
        text = plain(delivered[0].text)
        assert "les nominations sont closes, 1 reçue(s). @alice, vous pouvez les révéler" in text
        assert "en retard" in text
        chat = Chat(second)
        assert "sont closes (échéance passée)" in await chat("/election 1 nommer @camille non", user="dominique")
        out = await chat.send("/election 1 reveler", user="alice", room=GOV)
        assert "révélées ensemble" in plain(out[0].text)
        assert await count(second, "election_nomination") == 1
    finally:
        await second.close()


async def test_reveal_before_the_deadline_cancels_its_task(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    await chat("/election", user="camille")
    await open_election(chat, OPEN + " nominations 48h")
    await chat("/election 1 nommer @camille oui", user="bruno")
    await chat("/election 1 reveler", user="alice", room=GOV)
    delivered = delivered_by(bot)
    clock.advance(timedelta(hours=50))
    await bot.scheduler.run_due()
    assert delivered == []


async def test_safe_formatting_of_member_text(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")
    await open_election(chat, '/election ouvrir "@all **Co**-gérance" mandat 2 ans')
    await chat("/election 1 nommer @camille @here *vraiment* `bien`", user="bruno")
    out = await chat.send("/election 1 reveler", user="alice", room=GOV)
    raw = out[0].text
    assert "@here" not in raw and "@all" not in raw
    assert "nommer @camille" not in raw


async def test_listing_numbers_and_unknowns(chat: Chat, bot: Bot) -> None:
    assert "Aucune élection en cours" in await chat("/election")
    await open_election(chat)
    await open_election(chat, '/election ouvrir "Trésorerie" mandat 1 an')
    listing = await chat("/election", room=GOV)
    assert "n°1 — Co-gérance (mandat de 2 ans), #gouvernance : nominations (secrètes)" in listing
    assert "Plusieurs élections en cours (n°1, n°2)" in await chat("/election nommer @alice oui", user="bruno")
    assert "Aucune élection n°9" in await chat("/election 9", room=GOV)
    unknown = await chat("/election 1 nomer @alice oui", room=GOV)
    assert "Je ne connais pas « nomer »" in unknown and "`/election 1 reveler`" in unknown
    assert "Je ne comprends pas « bonjour »" in await chat("/election bonjour", room=GOV)


async def test_cancel(chat: Chat, bot: Bot) -> None:
    await open_election(chat)
    assert "Seuls l'animateur" in await chat("/election 1 annuler", user="bruno", room=GOV)
    await chat("/election", user="camille")
    await chat("/election 1 nommer @camille secret", user="bruno")
    out = await chat.send("/election 1 annuler", user="alice", room=GOV)
    assert "est annulée par alice" in plain(out[0].text)
    state = await chat("/election 1", user="dominique", room=GOV)
    assert "annulée" in state and "1 nomination(s) reçue(s), secrètes" in state and "secret »" not in state
    assert "est annulée" in await chat("/election 1 nommer @alice oui", user="bruno")


async def test_one_nomination_per_member_under_concurrency(chat: Chat, bot: Bot) -> None:
    import asyncio

    await chat("/election", user="camille")
    await open_election(chat)
    await asyncio.gather(*(chat(f"/election 1 nommer @camille raison {i}", user="bruno") for i in range(5)))
    assert await count(bot, "election_nomination") == 1
    async with bot.sessions() as session:
        rows = list(await session.scalars(select(ElectionNomination)))
    assert len(rows) == 1


async def test_an_election_in_a_private_room_stays_there(chat: Chat, bot: Bot) -> None:
    """Opened in a private circle room: seen and nominated for only by its members (as the transport lists them)."""
    private = Room("room-prive", "cercle-tech-prive", RoomKind.GROUP)

    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in ("alice", "bruno", "camille")] if r.id == private.id else None

    bot.members_of = members_of
    out = await bot.handle(
        IncomingMessage("m1", private, Author("id-alice", "alice"), '/election ouvrir "Animation" mandat 1 an', NOW)
    )
    assert out[0].room_id == private.id and "Élection sans candidat n°1" in plain(out[0].text)
    assert "se tient dans un salon privé" in await chat("/election 1", user="intrus")
    assert "se tient dans un salon privé" in await chat("/election 1", user="bruno", room=GOV)
    assert "Animation" not in await chat("/election", user="intrus")
    assert "Seuls les membres du salon" in await chat("/election 1 nommer @camille oui", user="intrus")
    assert "vous nommez camille" in await chat("/election 1 nommer @camille oui", user="bruno")
    assert "nominations (secrètes)" in await chat("/election", user="bruno")


@pytest.mark.parametrize(
    ("source", "role", "months", "until"),
    [
        ('"Co-gérance" mandat 2 ans', "Co-gérance", 24, None),
        ("« Trésorerie » mandat de 18 mois", "Trésorerie", 18, None),
        ("Co-gérance mandat 1 an", "Co-gérance", 12, None),
        ("Co-gérance mandat 2ans", "Co-gérance", 24, None),
        ("Animation pour le cercle durée 3 ans", "Animation pour le cercle", 36, None),
        ('"Co-gérance" mandat 2 ans nominations jusqu\'au 4/12 18h', "Co-gérance", 24, (2026, 12, 4, 18, 0)),
        ('"Co-gérance" mandat 2 ans nominations 48h', "Co-gérance", 24, (2026, 11, 28, 10, 0)),
    ],
)
def test_opening_grammar(source: str, role: str, months: int, until: tuple[int, ...] | None) -> None:
    opening = parse_opening(source, NOW.date())
    assert (opening.role, opening.term_months) == (role, months)
    if until is None:
        assert opening.until is None
    else:
        assert opening.until is not None
        assert resolve_deadline(opening.until, NOW) == datetime(*until, tzinfo=NOW.tzinfo)  # type: ignore[misc]


def test_target_grammar() -> None:
    context = ParseContext(today=NOW.date(), now=NOW)
    converter = ElectionTargetConverter()
    assert converter.match(tokenize("2 nommer @x"), context) == (ElectionTarget(2, ElectionVerb.NOMINATE), 2)
    assert converter.match(tokenize("n° 2 révéler"), context) == (ElectionTarget(2, ElectionVerb.REVEAL), 3)
    assert converter.match(tokenize("proposer @x"), context) == (ElectionTarget(None, ElectionVerb.PROPOSE), 1)
    assert converter.match(tokenize("#3"), context) == (ElectionTarget(3, ElectionVerb.SHOW), 1)
    assert converter.match(tokenize("bonjour"), context) is None
    found = converter.match(tokenize("2 nomer"), context)
    assert found is not None and found[0].verb is None and found[0].suggestions == ("nommer",)


async def test_an_elected_election_is_no_longer_in_progress(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")
    await open_election(chat)
    await chat("/election 1 nommer @camille elle connaît les comptes", user="bruno")
    await chat("/election 1 reveler", user="alice", room=GOV)
    await chat("/election 1 proposer @camille", user="alice", room=GOV)
    await chat("/consent 1 ok", user="bruno", room=GOV)
    await chat.send("/consent 1 clore", user="alice", room=GOV)
    assert "Élu·e : camille" in await chat("/election 1", user="bruno", room=GOV)
    assert "Aucune élection en cours" in await chat("/election", user="bruno", room=GOV)
    assert "Aucune élection en cours" in await chat("/election", user="bruno")
    # A new election in the same room is the only one a command without a number can be about.
    await open_election(chat, '/election ouvrir "Trésorerie" mandat 1 an')
    await chat("/election 2 nommer @camille rigoureuse", user="bruno")
    await chat("/election 2 reveler", user="alice", room=GOV)
    assert "nomme désormais bruno" in await chat("/election changer @bruno finalement", user="bruno", room=GOV)
    listing = await chat("/election", user="bruno", room=GOV)
    assert "n°2 — Trésorerie" in listing and "n°1" not in listing


async def test_a_command_without_a_number_ignores_the_private_elections_it_may_not_see(chat: Chat, bot: Bot) -> None:
    private = Room("room-prive", "cercle-tech-prive", RoomKind.GROUP)

    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{u}", u) for u in ("alice", "bruno")] if r.id == private.id else None

    bot.members_of = members_of
    await bot.handle(
        IncomingMessage("m1", private, Author("id-alice", "alice"), '/election ouvrir "Animation" mandat 1 an', NOW)
    )
    await chat("/election", user="camille")
    await open_election(chat)  # n°2, in #gouvernance
    reply = await chat("/election nommer @camille elle sait", user="intrus")
    assert "n°1" not in reply and "pour l'élection n°2 (Co-gérance), vous nommez camille" in reply
    assert "Plusieurs élections en cours (n°1, n°2)" in await chat("/election nommer @camille oui", user="bruno")


@pytest.mark.parametrize("typed", ["@camille, elle sait", "@camille: elle sait", "@camille : elle sait"])
async def test_a_nominee_followed_by_a_comma_or_a_colon(chat: Chat, bot: Bot, typed: str) -> None:
    await chat("/election", user="camille")
    await open_election(chat)
    reply = await chat(f"/election 1 nommer {typed}", user="bruno")
    assert "vous nommez camille, pour cette raison : « elle sait »" in reply, reply


async def test_a_proposal_without_its_account_shows_how_to_propose(chat: Chat, bot: Bot) -> None:
    await chat("/election", user="camille")
    await open_election(chat)
    await chat("/election 1 nommer @camille elle sait", user="bruno")
    await chat("/election 1 reveler", user="alice", room=GOV)
    reply = await chat("/election 1 proposer camille", user="alice", room=GOV)
    assert "personne proposée" in reply and "`/election 2 proposer @camille`" in reply, reply
    assert "raison" not in reply and await count(bot, "consent_round") == 0
