"""Shared fixtures: the real bot on a real database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings, load_settings
from chatbot.db import migrate
from chatbot.db.engine import make_engine
from chatbot.db.models import Base
from chatbot.text import visible
from chatbot.transport.base import Author, IncomingMessage, Outgoing, Room, RoomKind
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.web import make_web_app
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, write_config

PARIS = ZoneInfo("Europe/Paris")
# A Thursday: 26 November 2026, 10:00 in Paris.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
PG_SKIP_REASON = "TEST_DATABASE_URL is not set: PostgreSQL tests skipped (CI sets it)"


def pytest_report_header(config: pytest.Config) -> str:
    """One line: what the fake Rocket.Chat checks requests against (the OpenAPI files), or how to enable that."""
    from tests.fakerc.openapi import status_line

    return status_line()


def _migrated(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrated(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    """TEST_DATABASE_URL, migrated once for the session (None when it is not set)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    if make_url(url).drivername == "postgresql":
        url = make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    _migrated(url)
    return url


def _truncate_postgres(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_url: str | None
) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if postgres_url is None:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip(PG_SKIP_REASON)
    _truncate_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = load_settings(None, database_url)
    return dataclasses.replace(base, budget=dataclasses.replace(base.budget, export_dir=str(tmp_path / "exports")))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@contextlib.asynccontextmanager
async def started_bot(settings: Settings, clock: FixedClock) -> AsyncIterator[Bot]:
    """The bot on these settings, started (schema checked, configuration seeded), closed afterwards."""
    instance = Bot.create(settings, clock=clock)
    await instance.start(auto_migrate=False)
    try:
        yield instance
    finally:
        await instance.close()


def refusing_overruns(settings: Settings) -> Settings:
    """The settings with `overrun_policy = "refuse"`: a declaration over the envelope is refused."""
    return dataclasses.replace(settings, budget=dataclasses.replace(settings.budget, overrun_policy="refuse"))


@pytest.fixture
async def bot(settings: Settings, clock: FixedClock) -> AsyncIterator[Bot]:
    async with started_bot(settings, clock) as instance:
        yield instance


def plain(text: str) -> str:
    """What a reader sees, with the narrow and non-breaking spaces of French typography as plain spaces."""
    return visible(text).replace("\u202f", " ").replace("\xa0", " ")


def room(name: str) -> Room:
    if name == "@bot":
        return Room(id="dm-room", name=None, kind=RoomKind.DIRECT)
    return Room(id=f"room-{name}", name=name, kind=RoomKind.CHANNEL)


def message(
    text: str, *, user: str = "camille", room_name: str = "@bot", message_id: str | None = None
) -> IncomingMessage:
    return IncomingMessage(
        id=message_id or uuid.uuid4().hex,
        room=room(room_name),
        author=Author(id=f"id-{user}", username=user, display_name=user.title()),
        text=text,
        ts=NOW,
    )


class Chat:
    """Drives the bot like members typing: `await chat("/contrib 3h tech", user="alice")` → the reply text."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.posts: list[Outgoing] = []

    async def send(
        self, text: str, *, user: str = "camille", room: str = "@bot", message_id: str | None = None
    ) -> list[Outgoing]:
        out = await self.bot.handle(message(text, user=user, room_name=room, message_id=message_id))
        self.posts += [o for o in out if not o.is_reply]
        return out

    async def __call__(self, text: str, *, user: str = "camille", room: str = "@bot") -> str:
        out = await self.send(text, user=user, room=room)
        return "\n".join(plain(o.text) for o in out if o.is_reply)


@pytest.fixture
def outbox(bot: Bot) -> Outbox:
    """The bot recording what it says in the outbox, as `chatbot run` sets it up."""
    box = Outbox(bot.sessions, bot.clock)
    bot.use_outbox(box.persist_many)
    return box


@pytest.fixture
def chat(bot: Bot) -> Chat:
    return Chat(bot)


@pytest.fixture
def at() -> Callable[..., datetime]:
    def make(*args: int) -> datetime:
        return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]

    return make


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The developer's own DATABASE_URL must not leak into tests."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield


CALENDAR_TOKEN = "s3cret-token"


@pytest.fixture
async def feed_bot(settings: Settings, clock: FixedClock) -> AsyncIterator[Bot]:
    """The bot with a calendar token, for its web app."""
    with_token = dataclasses.replace(
        settings, meetings=dataclasses.replace(settings.meetings, calendar_token=CALENDAR_TOKEN)
    )
    async with started_bot(with_token, clock) as instance:
        yield instance


@pytest.fixture
async def server(feed_bot: Bot) -> AsyncIterator[TestServer]:
    """The bot's web app (calendar feeds, health), served on loopback."""
    async with TestServer(make_web_app(feed_bot), host="127.0.0.1") as running:
        yield running


@pytest.fixture
async def bot_process(scene: FakeRocketChat, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """The bot as a real process on the example configuration, against the test module's `scene` fixture (the fake
    Rocket.Chat as that module sets it up), stopped at the end."""
    process = BotProcess(scene, write_config(tmp_path, scene.url, database_url), tmp_path)
    try:
        yield process
    finally:
        await process.stop()
