"""/vote on both databases: public and secret ballots, changing a vote, the electorate (room or associés), quorum
and majority rules, the result and the decision register, deadlines crossing a restart, reactions, refusals that
write nothing, and the proof, read from the database, that a secret ballot links no member to a choice."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import Ballot, BallotVote, Decision, Member, ScheduledTask, TaskStatus
from chatbot.grammar.vote_arguments import Choice
from chatbot.services.votes import Counts, outcome
from chatbot.transport.base import Author, IncomingMessage, Outgoing, ReactionChange, Room, RoomKind
from tests.conftest import NOW, Chat, plain, room
from tests.helpers import count

GOV = "gouvernance"
ROOM_MEMBERS = ("alice", "bob", "carol", "camille", "erin")


class Plain(Chat):
    """Replies as read, without the bold markers."""

    async def __call__(self, text: str, *, user: str = "camille", room: str = "@bot") -> str:
        return (await super().__call__(text, user=user, room=room)).replace("**", "")


@pytest.fixture
def chat(bot: Bot) -> Chat:
    return Plain(bot)


def members_of_gov(bot: Bot, names: tuple[str, ...] = ROOM_MEMBERS) -> None:
    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{n}", n) for n in names] if r.name == GOV else None

    bot.members_of = members_of
    bot.scheduler.members_of = members_of


def delivered_by(bot: Bot) -> list[Outgoing]:
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.outlet = outlet
    return delivered


async def open_ballot(chat: Chat, text: str, *, user: str = "erin") -> Outgoing:
    out = await chat.send(f"/vote {text}", user=user, room=GOV)
    posts = [o for o in out if o.id and o.id.startswith("vote-")]
    assert len(posts) == 1, [plain(o.text) for o in out]
    return posts[0]


def read(post: Outgoing) -> str:
    return plain(post.text).replace("**", "")


# --- opening -------------------------------------------------------------------------------------------------------


async def test_open_posts_the_question_top_level_with_rules_and_how_to_vote(chat: Chat, bot: Bot) -> None:
    post = await open_ballot(
        chat, "« Approuver les comptes 2026 » pour|contre|abstention jusqu'au 30/11 18h quorum 50%"
    )
    body = read(post)
    assert post.id == "vote-1" and post.room_name == GOV and post.thread_id is None
    assert "Vote n°1, ouvert par erin" in body and "« Approuver les comptes 2026 »" in body
    assert "Électorat : les membres de #gouvernance." in body
    assert "majorité des suffrages exprimés" in body and "quorum : 50 % de l'électorat doit voter" in body
    assert "Votes jusqu'au lundi 30 novembre 2026 à 18 h (lu dans « jusqu'au 30/11 18h »)." in body
    assert ":white_check_mark: (pour), :x: (contre) ou :white_circle: (abstention)" in body
    async with bot.sessions() as session:
        task = await session.scalar(select(ScheduledTask))
        ballot = await session.get(Ballot, 1)
    assert task is not None and task.kind == "vote_deadline" and task.ref_id == 1
    assert ballot is not None and ballot.quorum_percent == 50 and not ballot.secret and ballot.majority == "exprimes"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("« Approuver les comptes 2026 »", "Il manque l'échéance du vote"),
        ("jusqu'au 30/11", "Il manque la question"),
        ("« Lieu de l'AG » « salle A » | « salle B » jusqu'au 30/11", "toujours par pour, contre ou abstention"),
        ("« Approuver » jusqu'au 30/11 quorum 150%", "Quorum illisible"),
        ("« Approuver » jusqu'au 30/11 majorité relative", "Majorité inconnue"),
        ("pour", "ressemble à un vote"),
        ("« Approuver » jusqu'au 31/02", "Échéance illisible"),
        ("« Approuver » jusqu'au 30/11 revue 6 mois", "ni date de revue"),
        ("« Approuver » 30min", "trop proche"),
        ("« Approuver » 48h à bulletin secret", "Je ne comprends pas « 48h à bulletin »"),
        ("« Approuver » 48h avec un quorum de 50%", "Je ne comprends pas « 48h avec un »"),
    ],
)
async def test_bad_openings_say_what_is_expected_and_write_nothing(
    chat: Chat, bot: Bot, typed: str, expected: str
) -> None:
    reply = await chat(f"/vote {typed}", user="erin", room=GOV)
    assert expected in reply, reply
    assert "/vote" in reply  # with an example
    assert await count(bot, "ballot") == 0 and await count(bot, "scheduled_task") == 0


async def test_words_read_as_the_deadline_are_named(chat: Chat) -> None:
    body = read(await open_ballot(chat, "Passer à 35h"))
    assert "« Passer à »" in body and "(lu dans « 35h »)" in body


async def test_a_ballot_opens_in_a_room_not_in_a_direct_message(chat: Chat, bot: Bot) -> None:
    reply = await chat("/vote « Approuver les comptes » 48h", user="erin", room="@bot")
    assert "s'ouvre dans un salon" in reply and await count(bot, "ballot") == 0


# --- public ballots ----------------------------------------------------------------------------------------------


async def test_public_votes_change_until_closing_and_the_result_enters_the_register(chat: Chat, bot: Bot) -> None:
    members_of_gov(bot)
    await open_ballot(chat, "« Approuver les comptes 2026 » 48h")
    assert "votre vote « pour » au vote n°1 est enregistré" in await chat("/vote 1 pour", user="alice", room=GOV)
    await chat("/vote 1 contre", user="bob", room=GOV)
    changed = await chat("/vote 1 je vote pour", user="bob", room=GOV)
    assert "« pour »" in changed and "(Vous aviez voté « contre ».)" in changed
    await chat("/vote 1 abstention", user="carol", room=GOV)
    shown = await chat("/vote 1", user="camille", room=GOV)
    assert "Pour : 2 · Contre : 0 · Abstention : 1 (3 votant(s))." in shown
    listed = await chat("/vote", user="camille", room="@bot")
    assert "Votes ouverts :" in listed and "n°1 — « Approuver les comptes 2026 » — #gouvernance" in listed

    assert "Seuls l'auteur du vote n°1 (erin)" in await chat("/vote 1 clore", user="alice", room=GOV)
    out = await chat.send("/vote 1 clore", user="erin", room=GOV)
    assert len(out) == 1 and out[0].room_name == GOV and out[0].thread_id is None
    result = read(out[0])
    assert "Résultat du vote n°1" in result and "Pour : 2 · Contre : 0 · Abstention : 1." in result
    assert "Participation : 3 sur 5 (60 %)." in result
    assert "Majorité des suffrages exprimés : 2 « pour » requis sur 2 exprimés" in result
    assert "Adopté. Inscrit au registre des décisions : D-1." in result
    assert "est clos" in await chat("/vote 1 contre", user="camille", room=GOV)

    async with bot.sessions() as session:
        decision = await session.get(Decision, 1)
    assert decision is not None and decision.ballot_id == 1 and decision.round_id is None
    assert decision.text == "Approuver les comptes 2026" and decision.not_answered == 2
    shown = plain(await chat("/decision D-1", user="camille", room=GOV)).replace("**", "")
    assert "Décision D-1" in shown and "adoptée par le vote n°1" in shown and "Pour : 2 · Contre : 0" in shown
    assert "D-1" in await chat("/decisions comptes", user="camille", room=GOV)


async def test_only_the_rooms_members_vote(chat: Chat, bot: Bot) -> None:
    members_of_gov(bot, ("alice", "erin"))
    await open_ballot(chat, "« Approuver » 48h")
    assert "Seuls les membres du salon #gouvernance" in await chat("/vote 1 pour", user="zoe", room="@bot")
    assert await count(bot, "ballot_vote") == 0


async def test_unknown_number_and_unknown_word(chat: Chat, bot: Bot) -> None:
    assert "Aucun vote n°7" in await chat("/vote 7 pour", user="alice", room=GOV)
    await open_ballot(chat, "« Approuver » 48h")
    reply = await chat("/vote 1 pourr", user="alice", room=GOV)
    assert "Je ne connais pas « pourr »" in reply and "pour" in reply
    reply = await chat("/vote 1 d'accord", user="alice", room=GOV)
    assert "Je ne connais pas « d'accord »" in reply and "Exemple : `/vote 1 pour`" in reply
    assert await count(bot, "ballot_vote") == 0


# --- majority and quorum ---------------------------------------------------------------------------------------


def test_outcome_rules() -> None:
    # Votes cast: abstentions do not count; a tie is not adopted.
    assert outcome(Counts(3, 2, 10), 20, "exprimes", None).adopted
    assert not outcome(Counts(2, 2, 0), 20, "exprimes", None).adopted
    # All the electorate: more than half of 20 is 11.
    found = outcome(Counts(10, 0, 0), 20, "associes", None)
    assert not found.adopted and found.needed == 11
    assert outcome(Counts(11, 5, 0), 20, "associes", None).adopted
    assert not outcome(Counts(11, 0, 0), None, "associes", None).adopted  # the electorate unknown
    # Quorum, rounded up: 50 % of 5 is 3 voters, abstentions included.
    assert outcome(Counts(1, 0, 2), 5, "exprimes", 50).quorum_met
    missed = outcome(Counts(2, 0, 0), 5, "exprimes", 50)
    assert missed.quorum_needed == 3 and not missed.quorum_met and not missed.adopted
    assert not outcome(Counts(5, 0, 0), None, "exprimes", 50).adopted
    assert not outcome(Counts(0, 0, 0), 5, "exprimes", None).adopted


async def test_associes_ballot_with_the_majority_of_all_associes(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = delivered_by(bot)
    # config.example.toml: associes = alice, bob, carol, camille
    refused = await chat("/vote « Modifier les statuts » 48h associés", user="erin", room=GOV)
    assert "s'ouvre par un associé ou un administrateur" in refused and await count(bot, "ballot") == 0
    post = await open_ballot(chat, "« Modifier l'article 12 » 48h associés majorité associés quorum 50%", user="alice")
    assert "Électorat : les associés (4)." in read(post)
    assert "majorité de l'électorat" in read(post)
    assert "Seuls les associés votent" in await chat("/vote 1 pour", user="erin", room=GOV)
    assert "Seuls les associés votent" in await chat("/vote 1 pour", user="Alice_", room=GOV)  # a look-alike
    await chat("/vote 1 pour", user="alice", room=GOV)
    await chat("/vote 1 pour", user="bob", room="@bot")  # an associé outside the room votes in a direct message
    await chat("/vote 1 contre", user="carol", room=GOV)
    clock.advance(timedelta(hours=24))  # the reminder, a day before: the associé who has not voted is mentioned
    assert await bot.scheduler.run_due() == 1
    reminder = read(delivered[-1])
    assert delivered[-1].room_name == GOV and delivered[-1].thread_id is None
    assert reminder.startswith("⏰ Vote n°1 : clôture") and "« Modifier l'article 12 »" in reminder
    assert "Pas encore voté (1) : @camille" in reminder
    clock.advance(timedelta(hours=24))
    assert await bot.scheduler.run_due() == 1
    result = read(delivered[-1])
    assert delivered[-1].room_name == GOV and delivered[-1].thread_id is None
    assert "Participation : 3 sur 4 (75 %)." in result
    assert "Majorité de l'électorat (plus de la moitié de 4) : 3 « pour » requis." in result
    assert "Quorum (50 % de l'électorat, soit 2 votants) : atteint." in result
    assert "Non adopté." in result  # 2 « pour » of 4 associés: a majority of votes cast, not of all associés
    assert await count(bot, "decision") == 0


async def test_quorum_missed_and_electorate_unknown(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    delivered = delivered_by(bot)  # no member list: the console, or a transport that cannot tell
    await open_ballot(chat, "« Approuver » 48h quorum 30%")
    await chat("/vote 1 pour", user="alice", room=GOV)
    clock.advance(timedelta(hours=49))
    await bot.scheduler.run_due()
    result = read(delivered[-1])
    assert "l'électorat n'a pas pu être compté" in result
    assert "Quorum (30 %) : non vérifiable" in result and "Non adopté." in result


# --- secret ballots ----------------------------------------------------------------------------------------------


async def test_secret_ballot_votes_in_direct_messages_once(chat: Chat, bot: Bot) -> None:
    members_of_gov(bot)
    post = await open_ballot(chat, "« Élire le conseil » 48h secret")
    assert "à bulletin secret" in read(post) and "message direct au bot" in read(post)
    in_room = await chat("/vote 1 pour", user="alice", room=GOV)
    assert "votez en message direct au bot" in in_room and "Rien n'est enregistré" in in_room
    assert await count(bot, "ballot_voter") == 0
    ack = await chat("/vote 1 contre", user="alice", room="@bot")
    assert "votre vote au scrutin secret n°1 est enregistré" in ack and "contre" not in ack
    again = await chat("/vote 1 pour", user="alice", room="@bot")
    assert "déjà voté" in again and "ne peut pas être changé" in again
    shown = await chat("/vote 1", user="bob", room=GOV)
    assert "Participation : 1 votant(s) sur 5. Les résultats seront donnés à la clôture." in shown
    assert "Contre" not in shown
    # A reaction is public: it does not count, and the member is told in a direct message.
    out = await bot.handle_reaction(reaction(":white_check_mark:", "bob"))
    assert [o.room_name for o in out] == ["@bob"] and "ne compte pas" in plain(out[0].text)
    assert await count(bot, "ballot_voter") == 1


async def test_secret_ballot_keeps_no_link_between_a_member_and_a_choice(
    chat: Chat, bot: Bot, outbox: object, clock: FixedClock
) -> None:
    """Read every table: who voted is known, what they voted only as anonymous counts."""
    members_of_gov(bot)
    await open_ballot(chat, "« Élire le conseil » 48h secret")
    votes = {"alice": "pour", "bob": "contre", "carol": "pour", "camille": "abstention"}
    for name, choice in votes.items():
        await chat(f"/vote 1 {choice}", user=name, room="@bot")
    closed = await chat.send("/vote 1 clore", user="erin", room=GOV)

    async with bot.sessions() as session:
        connection = await session.connection()
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        columns = {
            t: [c["name"] for c in await connection.run_sync(lambda c, t=t: inspect(c).get_columns(t))] for t in tables
        }
        assert set(columns["ballot_voter"]) == {"ballot_id", "member_id"}  # no id, no time, no choice
        assert set(columns["ballot_tally"]) == {"ballot_id", "choice", "count"}  # no member
        members = {m.username: m for m in (await session.scalars(select(Member))).all()}
        tally = dict((await session.execute(text("SELECT choice, count FROM ballot_tally"))).all())
        assert tally == {"pour": 2, "contre": 1, "abstention": 1}
        assert (await session.execute(text("SELECT count(*) FROM ballot_vote"))).scalar_one() == 0
        voters = {r[0] for r in (await session.execute(text("SELECT member_id FROM ballot_voter"))).all()}
        assert voters == {members[n].id for n in votes}
        choice_word = re.compile(r"\b(pour|contre|abstention)\b")
        for table in tables:
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).mappings().all()
            for row in rows:
                for name in votes:
                    member = members[name]
                    by_id = any(
                        key.endswith(("member_id", "author_id", "answered_by")) and value == member.id
                        for key, value in row.items()
                    )
                    by_name = any(
                        isinstance(value, str) and (name in value or member.user_id in value) for value in row.values()
                    )
                    if table == "member" or not (by_id or by_name):
                        continue
                    values = " ".join(str(v) for k, v in row.items() if k not in ("ballot_id", "member_id"))
                    assert not choice_word.search(values), (table, dict(row))
    result = read(closed[0])
    assert "Pour : 2 · Contre : 1 · Abstention : 1." in result and "Participation : 4 sur 5 (80 %)." in result


async def test_concurrent_secret_votes_count_each_member_once(chat: Chat, bot: Bot) -> None:
    await open_ballot(chat, "« Élire le conseil » 48h secret")
    names = ("alice", "bob", "carol")
    await asyncio.gather(*(chat(f"/vote 1 {c}", user=n, room="@bot") for n in names for c in ("pour", "contre")))
    async with bot.sessions() as session:
        total = (await session.execute(text("SELECT sum(count) FROM ballot_tally"))).scalar_one()
    assert total == 3 and await count(bot, "ballot_voter") == 3


# --- deadlines and restarts ----------------------------------------------------------------------------------------


async def test_deadline_crossing_a_restart_closes_late_and_says_so(settings: Settings, clock: FixedClock) -> None:
    first = Bot.create(settings, clock=clock)
    await first.start(auto_migrate=False)
    chat = Chat(first)
    await open_ballot(chat, "« Approuver les comptes » 48h")
    await chat("/vote 1 pour", user="alice", room=GOV)
    await first.close()

    clock.advance(timedelta(hours=60))
    second = Bot.create(settings, clock=clock)
    await second.start(auto_migrate=False)
    try:
        delivered = delivered_by(second)
        assert await second.scheduler.run_due() == 2  # the reminder (skipped: too late to remind), the deadline
        result = read(delivered[-1])
        assert len(delivered) == 1
        assert "Résultat du vote n°1" in result and "Adopté" in result and "en retard" in result
        async with second.sessions() as session:
            ballot = await session.get(Ballot, 1)
            statuses = (await session.scalars(select(ScheduledTask.status).order_by(ScheduledTask.id))).all()
        assert ballot is not None and ballot.status == "closed" and ballot.closed_late and ballot.adopted
        assert statuses == [TaskStatus.DONE, TaskStatus.SKIPPED]
        assert await second.scheduler.run_due() == 0  # nothing fires twice
    finally:
        await second.close()


# --- reactions -----------------------------------------------------------------------------------------------------


def reaction(emoji: str, user: str, *, added: bool = True, post: str = "vote-1") -> ReactionChange:
    return ReactionChange(post, room(GOV), Author(f"id-{user}", user), emoji, added)


async def choices(bot: Bot) -> dict[str, tuple[str, bool]]:
    async with bot.sessions() as session:
        rows = await session.execute(
            select(Member.username, BallotVote.choice, BallotVote.by_reaction).join(
                Member, Member.id == BallotVote.member_id
            )
        )
        return {name: (choice, bool(by_reaction)) for name, choice, by_reaction in rows.all()}


async def test_public_votes_by_reaction_and_their_removal(chat: Chat, bot: Bot) -> None:
    await open_ballot(chat, "« Approuver » 48h")
    await bot.handle_reaction(reaction(":white_check_mark:", "alice"))
    await bot.handle_reaction(reaction(":x:", "bob"))
    await bot.handle_reaction(reaction(":white_circle:", "carol"))
    await bot.handle_reaction(reaction(":tada:", "carol"))  # not a choice: ignored
    await chat("/vote 1 pour", user="camille", room=GOV)
    assert await choices(bot) == {
        "alice": ("pour", True),
        "bob": ("contre", True),
        "carol": ("abstention", True),
        "camille": ("pour", False),
    }
    await bot.handle_reaction(reaction(":white_check_mark:", "alice", added=False))  # taken back
    await bot.handle_reaction(reaction(":white_check_mark:", "camille", added=False))  # voted by command: stays
    await bot.handle_reaction(reaction(":white_check_mark:", "bob"))  # changes his vote
    assert await choices(bot) == {"bob": ("pour", True), "carol": ("abstention", True), "camille": ("pour", False)}
    # Read whole after a restart: carol's reaction is gone, bob's is still there.
    await bot.handle_reactions_read("vote-1", {":white_check_mark:": {"id-bob"}})
    assert await choices(bot) == {"bob": ("pour", True), "camille": ("pour", False)}
    from commands.vote import watched_posts

    assert await watched_posts(bot.sessions) == ["vote-1"]


def test_choices_are_the_three_of_a_ballot() -> None:
    assert [c.value for c in Choice] == ["pour", "contre", "abstention"]


# --- the register's exports, the configuration, private rooms -----------------------------------------------------


async def test_an_adopted_vote_is_exported_with_its_counts(chat: Chat, bot: Bot) -> None:
    from chatbot.export_decisions import decisions_csv, decisions_markdown
    from chatbot.services import Services

    members_of_gov(bot)
    await open_ballot(chat, "« Approuver les comptes » 48h secret")
    for name, choice in (("alice", "pour"), ("bob", "pour"), ("carol", "contre")):
        await chat(f"/vote 1 {choice}", user=name, room="@bot")
    await chat("/vote 1 clore", user="erin", room=GOV)
    async with bot.sessions() as session:
        entries = await Services.bind(session, bot.settings, bot.clock).decisions.register()
    markdown = decisions_markdown(entries, bot.settings, bot.t, bot.fmt, bot.clock.now().date()).decode()
    assert "D-1 — Approuver les comptes" in markdown
    assert "Adoptée par le vote n°1 : pour 2, contre 1, abstention 0." in markdown
    assert "vote n°1" in decisions_csv(entries, bot.settings, bot.t, bot.fmt).decode("utf-8-sig")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"associes": "alice"}, "votes.associes doit être une liste"),
        ({"associes": ["al ice"]}, "n'est pas un nom d'utilisateur"),
        ({"electorate": "tous"}, 'attendu "room" ou "associes"'),
        ({"electorate": "associes"}, "demande la liste votes.associes"),
        ({"majority": "absolue"}, 'attendu "exprimes" ou "associes"'),
        ({"quorum_percent": 0}, "entre 1 et 100"),
        ({"quorum_percent": True}, "entre 1 et 100"),
    ],
)
def test_votes_configuration_is_checked(table: dict[str, object], expected: str) -> None:
    from chatbot.config import ConfigError, parse_settings

    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_settings({"votes": table})


def test_votes_configuration_keys_accounts_exactly() -> None:
    from chatbot.config import parse_settings

    votes = parse_settings({"votes": {"associes": ["@Alice", "bob"], "majority": "associes"}}).votes
    assert votes.associes == frozenset({"alice", "bob"}) and votes.majority == "associes"


async def test_a_ballot_of_a_private_room_stays_there(chat: Chat, bot: Bot) -> None:
    private = Room("room-secret", "cercle-tech-prive", RoomKind.GROUP)

    async def members_of(r: Room) -> list[Author] | None:
        return [Author("id-alice", "alice")] if r.id == private.id else None

    bot.members_of = members_of
    out = await bot.handle(IncomingMessage("m1", private, Author("id-alice", "alice"), "/vote « Recruter » 48h", NOW))
    assert out and out[0].id == "vote-1"
    refused = await chat("/vote 1", user="bob", room=GOV)
    assert "salon privé" in refused and "Recruter" not in refused
    assert "Aucun vote ouvert" in await chat("/vote", user="bob", room="@bot")
    assert "Recruter" in await chat("/vote", user="alice", room="@bot")  # a member of the room, in a direct message


@pytest.mark.parametrize(
    ("typed", "question", "secret", "electorate"),
    [
        ("Rémunérer les associés 48h", "Rémunérer les associés", False, None),
        ("Un vote secret 48h", "Un vote secret", False, None),
        ("« Rémunérer les associés » associés secret 48h", "Rémunérer les associés", True, "associes"),
        ("« Q » pour|contre|abstention 48h secret associés", "Q", True, "associes"),
        ("Approuver les comptes pour|contre|abstention 48h", "Approuver les comptes", False, None),
        ("Approuver les comptes 48h salon", "Approuver les comptes", False, "room"),
        ("« Q » jusqu'au 15/12 18h, secret, associés", "Q", True, "associes"),
        ("« Q » 48h ; secret", "Q", True, None),
    ],
)
def test_options_are_read_only_where_they_cannot_be_words_of_the_question(
    typed: str, question: str, secret: bool, electorate: str | None
) -> None:
    from chatbot.grammar.vote_arguments import parse_ballot

    spec = parse_ballot(typed, NOW.date())
    assert (spec.question, spec.secret, spec.electorate) == (question, secret, electorate)


async def test_a_closed_ballot_shown_says_whether_it_was_adopted(chat: Chat, bot: Bot) -> None:
    members_of_gov(bot)
    await open_ballot(chat, "« Approuver les comptes 2026 » 48h")
    await open_ballot(chat, "« Changer de banque » 48h")
    await chat("/vote 1 pour", user="alice", room=GOV)
    await chat("/vote 2 contre", user="alice", room=GOV)
    await chat.send("/vote 1 clore", user="erin", room=GOV)
    await chat.send("/vote 2 clore", user="erin", room=GOV)
    adopted = await chat("/vote 1", user="bob", room=GOV)
    assert "(clos)" in adopted and "Adopté. Inscrit au registre des décisions : D-1." in adopted
    rejected = await chat("/vote 2", user="bob")
    assert "(clos)" in rejected and "Non adopté." in rejected and "D-" not in rejected


async def test_a_vote_typed_with_french_spacing_before_its_exclamation_mark(chat: Chat, bot: Bot) -> None:
    members_of_gov(bot)
    await open_ballot(chat, "« Approuver les comptes 2026 » 48h")
    assert "votre vote « pour » au vote n°1 est enregistré" in await chat("/vote 1 pour !", user="alice", room=GOV)
    assert "votre vote « contre »" in await chat("/vote 1 contre !!", user="bob", room=GOV)
    refused = await chat("/vote 1 pour contre", user="carol", room=GOV)
    assert "« contre »" in refused and "enregistré" not in refused
    assert "Pour : 1 · Contre : 1 · Abstention : 0 (2 votant(s))." in await chat("/vote 1", user="carol", room=GOV)


async def test_a_ballot_of_the_associes_opens_only_where_all_of_them_may_vote(chat: Chat, bot: Bot) -> None:
    """The associés vote from a direct message even when not in the room; a private room is read only by its
    members: a ballot of the associés there would count as absent the associés who cannot read it."""
    private = Room("room-ag", "ag-privee", RoomKind.GROUP)
    inside = ["alice", "bob", "carol"]  # config.example.toml: associes = alice, bob, carol, camille

    async def members_of(r: Room) -> list[Author] | None:
        return [Author(f"id-{n}", n) for n in inside] if r.id == private.id else None

    bot.members_of = members_of

    async def open_there() -> list[Outgoing]:
        text = "/vote « Modifier l'article 12 » 48h associés majorité associés"
        return await bot.handle(IncomingMessage(f"m-{len(inside)}", private, Author("id-alice", "alice"), text, NOW))

    refused = plain((await open_there())[0].text)
    assert "camille" in refused and "salon est privé" in refused and "/vote" in refused
    assert await count(bot, "ballot") == 0
    inside.append("camille")
    out = await open_there()
    assert out[0].id == "vote-1"
    assert "enregistré" in await chat("/vote 1 pour", user="camille", room="@bot")


async def test_the_reminder_a_day_before_mentions_who_has_not_voted(chat: Chat, bot: Bot, clock: FixedClock) -> None:
    """The room's members who have not voted are mentioned, whether they voted by command, by reaction or (secret
    ballot) in a direct message; no reminder for a ballot closed early or closing within a day."""
    members_of_gov(bot)
    delivered = delivered_by(bot)
    await open_ballot(chat, "« Approuver les comptes » 72h")
    await open_ballot(chat, "« Changer de banque » 72h secret")
    await open_ballot(chat, "« Fermer le local » 72h")
    await open_ballot(chat, "« Repeindre » 12h")
    await chat("/vote 1 pour", user="alice", room=GOV)
    await bot.handle_reaction(ReactionChange("vote-1", room(GOV), Author("id-bob", "bob"), ":x:", True))
    await chat("/vote 2 contre", user="carol", room="@bot")
    await chat("/vote 3 clore", user="erin", room=GOV)
    clock.advance(timedelta(hours=48))
    await bot.scheduler.run_due()
    reminders = [o for o in delivered if o.text.startswith("⏰")]
    assert [r.text.split("**")[1] for r in reminders] == ["Vote n°1", "Vote n°2"]
    first, second = (read(r) for r in reminders)
    assert "Pas encore voté (3) : @camille, @carol, @erin" in first and "par réaction" in first
    assert "Pas encore voté (4) : @alice, @bob, @camille, @erin" in second and "message direct au bot" in second
    assert "contre" not in second.split("\n")[2]  # the waiting line says nothing of what carol voted
    assert all(r.room_name == GOV and r.thread_id is None for r in reminders)
