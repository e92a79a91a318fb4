"""Private rooms stay private: a consent round opened in a private group, and the decision it becomes, are shown
only in that room, or in a direct message to one of its members, as the transport lists them (the fake
Rocket.Chat here, the console below, which cannot list members). Rooms are told apart by id, never by name."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.export_decisions import decisions_csv, decisions_markdown
from chatbot.services import Services
from chatbot.transport.base import Author, IncomingMessage, Outgoing, Room, RoomKind
from chatbot.web import make_web_app
from tests.conftest import NOW, plain
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.test_console import chatbot, console, lines
from tests.test_rc_transport import transport_for

SECRET = "Embaucher Zoé au salaire de 3000"
REASON = "Budget salarial non voté"
PRIVATE = "cercle-tech-prive"
DM = "@bot"


class Rooms:
    """Members typing in the fake Rocket.Chat's rooms: the bot learns who is in a room from the transport."""

    def __init__(self, bot: Bot, fake: FakeRocketChat) -> None:
        self.bot = bot
        self.fake = fake

    def room(self, name: str) -> Room:
        if name == DM:
            return Room("dm-room", None, RoomKind.DIRECT)
        found = self.fake.store.room(name)
        return Room(found.id, name, RoomKind.GROUP if found.type == "p" else RoomKind.CHANNEL)

    async def send(self, command: str, *, user: str, room: str) -> list[Outgoing]:
        author = self.fake.store.user(user)
        incoming = IncomingMessage(uuid.uuid4().hex, self.room(room), Author(author.id, user), command, NOW)
        return await self.bot.handle(incoming)

    async def __call__(self, command: str, *, user: str, room: str) -> str:
        return "\n".join(plain(o.text) for o in await self.send(command, user=user, room=room) if o.is_reply)

    async def adopt(self, proposal: str, room: str) -> None:
        opened = await self.send(f"/consent {proposal}", user="alice", room=room)
        number = (opened[0].id or "?").removeprefix("consent-")
        await self(f"/consent {number} ok", user="bob", room=room)
        assert "adopté" in await self(f"/consent {number} clore", user="alice", room=room)


@pytest.fixture
async def rooms(bot: Bot, fake_rc: FakeRocketChat) -> AsyncIterator[Rooms]:  # noqa: F811
    fake_rc.add_user("dora", password="dora-password")  # in no room of the tech circle
    fake_rc.add_channel("gouvernance", ["bot", "alice", "bob", "carol", "dora"])
    transport = transport_for(bot, fake_rc)
    bot.members_of = transport.room_members
    try:
        yield Rooms(bot, fake_rc)
    finally:
        await transport.rest.close()


async def positions(bot: Bot) -> int:
    async with bot.engine.connect() as connection:
        return int((await connection.execute(text("SELECT COUNT(*) FROM consent_position"))).scalar_one())


def leaks(reply: str) -> bool:
    return "Zoé" in reply or "salarial" in reply or "alice" in reply


async def test_a_private_round_is_read_in_its_room_or_by_its_members_in_dm(rooms: Rooms) -> None:
    assert "ouvert" in await rooms(f"/consent {SECRET} 48h", user="alice", room=PRIVATE)
    assert "objection" in await rooms(f"/consent 1 objection {REASON}", user="bob", room=PRIVATE)

    in_room = await rooms("/consent 1", user="carol", room=PRIVATE)
    assert SECRET in in_room and REASON in in_room
    by_member = await rooms("/consent 1", user="bob", room=DM)
    assert SECRET in by_member and REASON in by_member

    for user, room in (("dora", DM), ("alice", "cercle-tech"), ("bob", "gouvernance"), ("dora", "gouvernance")):
        refused = await rooms("/consent 1", user=user, room=room)
        assert "ouvert dans un salon privé" in refused and not leaks(refused), (user, room, refused)


async def test_answering_a_private_round_from_outside_is_refused_without_its_text(rooms: Rooms, bot: Bot) -> None:
    await rooms(f"/consent {SECRET} 48h", user="alice", room=PRIVATE)
    for command, user, room in (
        ("/consent 1 ok", "dora", DM),
        ("/consent 1 objection non", "dora", "gouvernance"),
        ("/consent 1 ok", "carol", "cercle-tech"),  # a member, but in a public room
        ("/consent 1 reserve hmm", "dora", PRIVATE),  # not a member: the transport says so, even in the room
        ("/consent 1 clore", "dora", DM),
        ("/consent 1 retirer", "dora", "gouvernance"),
        ("/consent 1 amender Autre chose", "dora", DM),
        ("/consent 1 nimporte", "dora", DM),
    ):
        refused = await rooms(command, user=user, room=room)
        assert "salon privé" in refused or "Seuls les membres" in refused, (command, user, room, refused)
        assert not leaks(refused), refused
    assert await positions(bot) == 0
    assert "consentement au cycle n°1 est enregistré" in await rooms(
        "/consent 1 ok", user="carol", room=DM
    )  # a member, in DM
    assert await positions(bot) == 1


async def test_a_private_room_is_its_id_not_a_name_that_folds_to_it(rooms: Rooms, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_group("cercle_tech_prive", ["bot", "dora"])  # another group: the same circle, to name folding
    await rooms(f"/consent {SECRET} 48h", user="alice", room=PRIVATE)
    await rooms.adopt("Acheter un serveur", PRIVATE)
    refused = await rooms("/consent 1", user="dora", room="cercle_tech_prive")
    assert "salon privé" in refused and not leaks(refused)
    assert "salon privé" in await rooms("/decision D-1", user="dora", room="cercle_tech_prive")
    assert "Aucune décision" in await rooms("/decisions", user="dora", room="cercle_tech_prive")


async def test_the_register_shows_private_decisions_only_where_they_may_be_seen(rooms: Rooms) -> None:
    await rooms.adopt(SECRET, PRIVATE)  # D-1, private
    await rooms.adopt("Nouveau wiki public", "cercle-tech")  # D-2

    for user, room in (("alice", "cercle-tech"), ("bob", "gouvernance"), ("dora", DM)):
        listing = await rooms("/decisions", user=user, room=room)
        assert "Registre des décisions (toutes) : 1" in listing and "D-2" in listing, (user, room, listing)
        assert "D-1" not in listing and "Zoé" not in listing and "privée" not in listing
        assert "Registre des décisions (cercle Technique) : 1" in await rooms("/decisions tech", user=user, room=room)
        assert "Aucune décision" in await rooms("/decisions Zoé", user=user, room=room)
        refused = await rooms("/decision D-1", user=user, room=room)
        assert "prise dans un salon privé" in refused and "Zoé" not in refused

    for user, room in (("carol", PRIVATE), ("bob", DM)):
        listing = await rooms("/decisions", user=user, room=room)
        assert "Registre des décisions (toutes) : 2" in listing, (user, room, listing)
        assert f"D-1** · 26/11/2026 · cercle Technique · 🔒 privée (#{PRIVATE}) · « {SECRET} »" in listing
        assert "privée" not in next(line for line in listing.splitlines() if "D-2**" in line)
        assert "Registre des décisions (« Zoé ») : 1" in await rooms("/decisions Zoé", user=user, room=room)
        shown = await rooms("/decision D-1", user=user, room=room)
        assert f"(cercle Technique · 🔒 privée (#{PRIVATE}))" in shown and SECRET in shown
    assert "D-2" in await rooms("/decision D-2", user="dora", room=DM)


async def test_the_exports_leave_private_decisions_out_unless_asked(rooms: Rooms, bot: Bot) -> None:
    await rooms.adopt(SECRET, PRIVATE)
    await rooms.adopt("Nouveau wiki public", "cercle-tech")
    async with bot.sessions() as session:
        services = Services.bind(session, bot.settings, bot.clock)
        public, everything = (
            await services.decisions.register(),
            await services.decisions.register(include_private=True),
        )
    assert [e.decision.id for e in public] == [2] and [e.decision.id for e in everything] == [1, 2]
    csv_text = decisions_csv(everything, bot.settings, bot.t, bot.fmt).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    assert rows[0][-1] == "visibilité" and [r[-1] for r in rows[1:]] == [f"privée (#{PRIVATE})", "publique"]
    markdown = decisions_markdown(everything, bot.settings, bot.t, bot.fmt, NOW.date()).decode()
    assert r"🔒 Décision privée du salon #cercle\-tech\-prive" in markdown.split("## D-2")[0]
    assert "Zoé" not in decisions_markdown(public, bot.settings, bot.t, bot.fmt, NOW.date()).decode()


def test_console_private_channel_and_cli_export(tmp_path: Path) -> None:
    """The console knows which channels are private (a circle's `private_channel`) but not who is in them: a
    private round is then shown only in its own room."""
    result = console(
        tmp_path,
        lines(
            f"/consent {SECRET} 48h",
            ":as bruno",
            "/consent 1 ok",
            ":as alice",
            "/consent 1 clore",
            "/decisions",
            ":room @bot",
            "/consent 1",
            "/decisions",
            ":room cercle-tech",
            "/decision D-1",
            "/decisions",
        ),
        "--room",
        PRIVATE,
        "--as",
        "alice",
    )
    out = plain(result.stdout).replace("**", "")
    in_room, elsewhere = out.split("(vous êtes maintenant dans @bot)", 1)
    assert "Cycle n°1 adopté" in in_room and "Registre des décisions (toutes) : 1" in in_room
    assert f"🔒 privée (#{PRIVATE})" in in_room
    assert "Zoé" not in elsewhere, elsewhere
    assert "ouvert dans un salon privé" in elsewhere and "prise dans un salon privé" in elsewhere
    assert elsewhere.count("Aucune décision (toutes)") == 2

    default = chatbot(tmp_path, "export", "decisions", "--format", "csv", "--output", "registre.csv")
    assert default.returncode == 0, default.stderr
    assert "Zoé" not in (tmp_path / "registre.csv").read_text("utf-8-sig")
    assert "1 décision(s) prise(s) dans un salon privé laissée(s) de côté ; ajoutez --include-private" in default.stderr
    markdown = chatbot(tmp_path, "export", "decisions")
    assert markdown.returncode == 0 and "Zoé" not in markdown.stdout
    included = chatbot(tmp_path, "export", "decisions", "--include-private")
    assert included.returncode == 0 and SECRET in included.stdout
    assert r"🔒 Décision privée du salon #cercle\-tech\-prive" in included.stdout


# --- meetings ----------------------------------------------------------------------------------------------------

FEED_TOKEN = "s3cret-token"


@pytest.fixture
async def quiet_rooms(settings: Settings, clock: FixedClock, fake_rc: FakeRocketChat) -> AsyncIterator[Rooms]:  # noqa: F811
    """The tech circle has no public channel: a meeting announced in its private group is said only there."""
    circles = tuple(dataclasses.replace(c, public_channel=None) if c.slug == "tech" else c for c in settings.circles)
    meetings = dataclasses.replace(settings.meetings, calendar_token=FEED_TOKEN)
    bot = Bot.create(dataclasses.replace(settings, circles=circles, meetings=meetings), clock=clock)
    await bot.start(auto_migrate=False)
    fake_rc.add_user("dora", password="dora-password")
    fake_rc.add_channel("gouvernance", ["bot", "alice", "bob", "carol", "dora"])
    transport = transport_for(bot, fake_rc)
    bot.members_of = transport.room_members
    try:
        yield Rooms(bot, fake_rc)
    finally:
        await transport.rest.close()
        await bot.close()


async def feed(bot: Bot, path: str) -> str:
    async with (
        TestServer(make_web_app(bot), host="127.0.0.1") as server,
        aiohttp.ClientSession() as session,
        session.get(str(server.make_url(path))) as response,
    ):
        assert response.status == 200
        return (await response.read()).decode()


async def test_a_meeting_said_only_in_a_private_room_stays_there(quiet_rooms: Rooms) -> None:
    rooms = quiet_rooms
    said = await rooms(
        "/reunion demain 14h https://visio.example.org/embauche-zoe Entretien Zoé", user="alice", room=PRIVATE
    )
    assert "Zoé" in said  # the announcement is the answer, in the private room
    await rooms("/reunion communication demain 10h Fête", user="alice", room="gouvernance")  # n°2, public
    series = await rooms("/reunion chaque mardi 18h Suivi Zoé", user="alice", room=PRIVATE)  # n°3, and n°4 its 1/12
    assert "n°3" in series and "n°4" in series, series

    for user, room in (("bob", "gouvernance"), ("dora", DM), ("alice", "cercle-tech")):
        listing = await rooms("/reunion liste tous", user=user, room=room)
        assert "n°2" in listing and "privée" not in listing and "Zoé" not in listing, (user, room, listing)
        assert not {"n°1", "n°3", "n°4"} & set(listing.split()), listing
        assert "Aucune réunion prévue (Technique)" in await rooms("/reunion liste tech", user=user, room=room)
        for command in ("/reunion annuler 1", "/reunion deplacer 1 lundi 15h"):
            refused = await rooms(command, user=user, room=room)
            assert "annoncée dans un salon privé" in refused and "Zoé" not in refused, (command, refused)
    for user, room in (("carol", PRIVATE), ("bob", DM)):
        listing = await rooms("/reunion liste tous", user=user, room=room)
        assert f"• n°1 · Technique · 🔒 privée (#{PRIVATE}) · vendredi 27 novembre 2026 à 14 h" in listing, listing
        assert {"n°2", "n°3", "n°4"} <= set(listing.split()) and listing.count("🔒") == 3, listing
    assert "n°1" in await rooms("/reunion liste", user="carol", room=PRIVATE)

    for path in (f"/calendar/{FEED_TOKEN}/all.ics", f"/calendar/{FEED_TOKEN}/tech.ics"):
        body = await feed(rooms.bot, path)
        assert "Zoé" not in body and "embauche" not in body, path
    assert "Fête" in await feed(rooms.bot, f"/calendar/{FEED_TOKEN}/all.ics")
    assert "annulée" in (await rooms("/reunion annuler 1", user="bob", room=DM)).lower()


async def test_a_meeting_announced_from_a_private_room_to_a_public_channel_is_public(rooms: Rooms) -> None:
    """A circle with a public channel: the announcement is posted there, so the meeting is public."""
    out = await rooms.send("/reunion demain 14h Atelier", user="alice", room=PRIVATE)
    assert [(o.room_name, o.is_reply) for o in out] == [("cercle-tech", False), (PRIVATE, True)]
    listing = await rooms("/reunion liste tous", user="dora", room="gouvernance")
    assert "n°1 · Technique" in listing and "privée" not in listing
