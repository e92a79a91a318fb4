"""`/metrics`: the Prometheus text the web app serves, read back with prometheus-client's own parser, moving as the
real bot handles commands and as its Rocket.Chat transport talks to the fake server."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from chatbot.app import Bot
from chatbot.config import Settings
from chatbot.db.engine import make_engine, make_session_factory
from chatbot.metrics import rest_route
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.transport import RocketChatTransport
from chatbot.web import make_web_app
from tests.conftest import Chat, FixedClock, started_bot
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.helpers import count
from tests.rc_support import bot_replies, rest_client, wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def web(bot: Bot) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_web_app(bot))) as client:
        yield client


async def scrape(client: TestClient) -> Samples:
    """Every sample of /metrics, by name and labels; the text must parse whole."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_commands_move_the_counters_and_histograms(bot: Bot, outbox: Outbox, web: TestClient) -> None:
    chat = Chat(bot)
    before = await scrape(web)
    assert value(before, "chatbot_commands_total", family="contrib", outcome="ok") == 0
    assert value(before, "chatbot_outbox_backlog") == 0

    assert "enregistrée" in await chat("/contrib 2h tech Relecture du wiki", user="alice")
    assert "Technique" in await chat("/budget")
    refusal = await chat("/contrib 3h envelope-inconnue Rien", user="alice")
    assert "enregistrée" not in refusal

    after = await scrape(web)
    assert value(after, "chatbot_commands_total", family="contrib", outcome="ok") == 1
    assert value(after, "chatbot_commands_total", family="contrib", outcome="refused") == 1
    assert value(after, "chatbot_commands_total", family="budget", outcome="ok") == 1
    assert value(after, "chatbot_command_handling_seconds_count", family="contrib") == 2
    assert value(after, "chatbot_command_handling_seconds_sum", family="contrib") > 0
    assert value(after, "chatbot_command_handling_seconds_bucket", family="budget", le="+Inf") == 1
    # The backlog is read from the database at scrape time: the replies wait in the outbox (no sender runs here).
    pending = await count(bot, "outbox_message", "status = 'pending'")
    assert pending >= 3
    assert value(after, "chatbot_outbox_backlog") == pending

    # A replay (the same message id again) is no command handled: nothing moves.
    await chat.send("/budget", message_id="replayed")
    await chat.send("/budget", message_id="replayed")
    again = await scrape(web)
    assert value(again, "chatbot_commands_total", family="budget", outcome="ok") == 2


async def test_each_bot_has_its_own_registry(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(settings, clock) as first, started_bot(settings, clock) as second:
        await Chat(first)("/budget")
        async with TestClient(TestServer(make_web_app(second))) as client:
            samples = await scrape(client)
        assert value(samples, "chatbot_commands_total", family="budget", outcome="ok") == 0
        async with TestClient(TestServer(make_web_app(first))) as client:
            samples = await scrape(client)
        assert value(samples, "chatbot_commands_total", family="budget", outcome="ok") == 1


async def test_backlog_is_nan_and_a_database_error_counted_when_the_database_fails(bot: Bot, web: TestClient) -> None:
    url = bot.engine.url
    # Point the bot's sessions at a database that cannot be opened, as when the server goes away.
    broken = make_engine(
        "sqlite+aiosqlite:////nonexistent-directory/bot.db"
        if url.drivername.startswith("sqlite")
        else url.set(port=1).render_as_string(hide_password=False)
    )
    healthy = bot.sessions
    bot.sessions = make_session_factory(broken)
    try:
        samples = await scrape(web)
    finally:
        bot.sessions = healthy
        await broken.dispose()
    assert math.isnan(value(samples, "chatbot_outbox_backlog"))
    assert value(samples, "chatbot_database_errors_total", component="metrics") == 1


def test_rest_routes_leave_ids_and_queries_out() -> None:
    assert rest_route("http://chat.example.org/api/v1/chat.sendMessage") == "chat.sendMessage"
    assert rest_route("http://chat.example.org/api/v1/chat.getMessage?msgId=abc") == "chat.getMessage"
    assert rest_route("https://chat.example.org/sub/api/v1/rooms.media/ROOMID") == "rooms.media"
    assert rest_route("chat_send_message") == "chat_send_message"  # no URL known: the method's name


class Running:
    """The bot's Rocket.Chat side in this process, as `chatbot run` wires it (metrics included)."""

    def __init__(self, bot: Bot, fake: FakeRocketChat) -> None:
        outbox = Outbox(bot.sessions, bot.clock)
        bot.use_outbox(outbox.persist_many)
        settings = dataclasses.replace(
            bot.settings, rocketchat=dataclasses.replace(bot.settings.rocketchat, url=fake.url)
        )

        async def token(_refused: bool) -> str:
            return fake.bot_token

        self.transport = RocketChatTransport(
            settings, rest_client(fake), bot.sessions, bot.clock, outbox, token, metrics=bot.metrics
        )
        bot.outlet = self.transport.deliver
        self.task = asyncio.create_task(self.transport.run(bot.handle_many))

    async def stop(self) -> None:
        await self.transport.stop()
        await self.transport.rest.close()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def running(bot: Bot, fake_rc: FakeRocketChat) -> AsyncIterator[Running]:  # noqa: F811
    run = Running(bot, fake_rc)
    try:
        await wait_for(run.transport.caught_up.is_set, what="caught up")
        yield run
    finally:
        fake_rc.faults.clear()
        await run.stop()


async def test_transport_metrics_through_the_fake_server(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
    web: TestClient,
) -> None:
    samples = await scrape(web)
    assert value(samples, "chatbot_websocket_state", state="ready") == 1
    assert value(samples, "chatbot_websocket_state", state="disconnected") == 0
    assert value(samples, "chatbot_websocket_reconnects_total") == 0
    assert value(samples, "chatbot_rest_requests_total", route="subscriptions.get", status="200") >= 1

    # A reply whose first sending is rate limited: the 429 is counted, waited out, then the reply goes.
    fake_rc.faults.throttle_next("chat.sendMessage", reset_in_ms=50)
    posted = await fake_rc.post_as("alice", "cercle-tech", "/contrib 1h tech Relecture")
    await wait_for(lambda: bool(bot_replies(fake_rc, "cercle-tech").get(posted["_id"])), what="the reply")

    async def counted() -> bool:  # the server shows the reply a moment before the bot has its answer
        return value(await scrape(web), "chatbot_reply_latency_seconds_count") == 1

    await wait_for(counted, what="the reply counted")
    samples = await scrape(web)
    assert value(samples, "chatbot_commands_total", family="contrib", outcome="ok") == 1
    assert value(samples, "chatbot_rest_requests_total", route="chat.sendMessage", status="429") == 1
    assert value(samples, "chatbot_rest_requests_total", route="chat.sendMessage", status="200") == 1
    assert value(samples, "chatbot_rest_rate_limit_waits_total", route="chat.sendMessage") == 1
    assert value(samples, "chatbot_rest_rate_limit_wait_seconds_total") > 0
    # From the message's timestamp on the server to the reply accepted: one observation, the first reply.
    assert value(samples, "chatbot_reply_latency_seconds_count") == 1
    assert 0 < value(samples, "chatbot_reply_latency_seconds_sum") < 30

    # The websocket drops: the bot reconnects, and says so.
    await fake_rc.drop_websockets()
    await wait_for(lambda: running.transport.ddp.connections >= 2, what="the reconnection")
    samples = await scrape(web)
    assert value(samples, "chatbot_websocket_reconnects_total") == 1
    assert value(samples, "chatbot_websocket_state", state="ready") == 1
