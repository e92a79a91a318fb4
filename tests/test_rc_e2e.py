"""End to end: the bot as a real process (`python -m chatbot run`) against the fake Rocket.Chat in this process.

Every command must be answered exactly once (one reply, in its thread, with the deterministic id) and counted once
in the database, through a dropped websocket, a SIGKILL and restart, downtime, a 429 storm and a database outage.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from chatbot.db.engine import make_engine
from chatbot.db.models import Contribution, OutboxMessage, ProcessedMessage
from tests.conftest import PG_SKIP_REASON, _truncate_postgres
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, TcpProxy, bot_replies, postgres_via, wait_for, write_config

ROOM = "cercle-communication"
MEMBERS = [f"m{i:03d}" for i in range(40)]
COMMAND = "/contrib 30min communication Relecture"  # 15 € each, the envelope holds 2 500 €
CENTS = 1500


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in MEMBERS:
        fake_rc.add_user(name)
    fake_rc.add_channel(ROOM, ["bot", *MEMBERS])
    fake_rc.add_channel("budget-contributif", ["bot"])
    return fake_rc


@pytest.fixture
async def bot_process(scene: FakeRocketChat, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    config = write_config(tmp_path, scene.url, database_url)
    process = BotProcess(scene, config, tmp_path)
    try:
        yield process
    finally:
        await process.stop()


async def burst(fake: FakeRocketChat, count: int, *, start: int = 0) -> list[str]:
    """`count` commands from the members in turn; returns the command message ids."""
    ids = []
    for i in range(start, start + count):
        posted = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, COMMAND)
        ids.append(posted["_id"])
        if i % 10 == 9:
            await asyncio.sleep(0)  # let the websocket frames go out as a real server would
    return ids


def answered(fake: FakeRocketChat, ids: list[str]) -> int:
    replies = bot_replies(fake, ROOM)
    return sum(1 for i in ids if replies.get(i))


async def assert_exactly_once(fake: FakeRocketChat, ids: list[str], database_url: str) -> None:
    await wait_for(lambda: answered(fake, ids) == len(ids), within=60, what=f"{len(ids)} replies")
    await asyncio.sleep(0.3)  # a duplicate would be posted within this time: give it the chance to show
    replies = bot_replies(fake, ROOM)
    for command_id in ids:
        got = replies.get(command_id, [])
        assert [m["_id"] for m in got] == [f"{command_id}-0"], got
        assert "enregistrée" in got[0]["msg"]
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            count, total = (
                await connection.execute(select(func.count(), func.coalesce(func.sum(Contribution.amount_cents), 0)))
            ).one()
            processed = await connection.scalar(select(func.count()).select_from(ProcessedMessage))
            pending = await connection.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
            )
    finally:
        await engine.dispose()
    assert (count, total) == (len(ids), len(ids) * CENTS)
    assert processed == len(ids)
    assert pending == 0


async def test_burst_from_many_members_is_answered_exactly_once(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    ids = await burst(scene, 120)
    await assert_exactly_once(scene, ids, database_url)
    budget = await scene.post_as("alice", "cercle-tech", "!budget communication")
    await wait_for(lambda: bool(bot_replies(scene, "cercle-tech").get(budget["_id"])), what="the /budget reply")
    reply = bot_replies(scene, "cercle-tech")[budget["_id"]][0]["msg"].replace("\u202f", " ").replace("\xa0", " ")
    assert "1 800 €" in reply  # 120 × 15 € spent

    async def drained() -> bool:  # a reply is visible a moment before its outbox row is marked sent
        return (await bot_process.health())[1]["outbox_backlog"] == 0

    await wait_for(drained, within=10, what="the outbox to drain")
    status, health = await bot_process.health()
    assert status == 200 and health["websocket"] and health["database"] and health["outbox_backlog"] == 0


async def test_websocket_dropped_mid_burst(bot_process: BotProcess, scene: FakeRocketChat, database_url: str) -> None:
    await bot_process.start()
    ids = await burst(scene, 40)
    await scene.drop_websockets()
    ids += await burst(scene, 40, start=40)  # sent while the bot is reconnecting: only catch-up can see them
    await assert_exactly_once(scene, ids, database_url)
    _, health = await bot_process.health()
    assert health["connections"] >= 2


async def test_sigkill_mid_burst_then_restart(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    ids = await burst(scene, 60)
    await wait_for(lambda: answered(scene, ids) >= 10, what="the first replies")
    await bot_process.kill()
    ids += await burst(scene, 30, start=60)  # while the bot is dead
    await bot_process.start()
    await assert_exactly_once(scene, ids, database_url)


async def test_messages_sent_while_down_are_caught_up(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    first = await burst(scene, 3)
    await wait_for(lambda: answered(scene, first) == 3, what="the first replies")
    assert await bot_process.stop() == 0
    thread_parent = await scene.post_as("alice", ROOM, "On en parle ici")
    in_thread = await scene.post_as("bob", ROOM, COMMAND, tmid=thread_parent["_id"])
    later = await burst(scene, 20, start=3)
    await bot_process.start()
    await wait_for(lambda: answered(scene, later) == 20, what="caught-up replies")
    await wait_for(lambda: bool(bot_replies(scene, ROOM).get(thread_parent["_id"])), what="the thread reply")
    # The command typed inside a thread is answered in that thread.
    assert [m["_id"] for m in bot_replies(scene, ROOM)[thread_parent["_id"]]] == [f"{in_thread['_id']}-0"]
    replies = bot_replies(scene, ROOM)
    assert all(len(replies[i]) == 1 for i in first + later)


async def test_rate_limit_storm(bot_process: BotProcess, scene: FakeRocketChat, database_url: str) -> None:
    await bot_process.start()
    scene.faults.throttle_next("chat.sendMessage", 12, reset_in_ms=100)
    scene.faults.fail_next("chat.sendMessage", 3, status=503)
    ids = await burst(scene, 30)
    await assert_exactly_once(scene, ids, database_url)
    assert sum(r.status == 429 for r in scene.requests_to("chat.sendMessage")) == 12


async def test_ignores_own_system_and_edited_messages_and_other_rooms(
    bot_process: BotProcess, scene: FakeRocketChat
) -> None:
    scene.add_channel("cafe", ["bot", "alice"])
    await bot_process.start()
    await scene.post_as("alice", "cafe", "/budget")  # not a configured room
    await scene.system_message(ROOM, "alice", "uj")
    edited = await scene.post_as("alice", ROOM, "bonjour")
    await scene.edit_as("alice", edited["_id"], "/budget")  # an edit is not a new command
    await scene.post_as("bot", ROOM, "/budget")  # its own message
    marker = await scene.post_as("carol", ROOM, "/aide")
    await wait_for(lambda: bool(bot_replies(scene, ROOM).get(marker["_id"])), what="the /aide reply")
    await asyncio.sleep(0.3)
    replies = bot_replies(scene, ROOM)
    assert set(replies) == {"", marker["_id"]}  # "": the message the test posted as the bot, not a reply
    assert len(replies[""]) == 1 and len(replies[marker["_id"]]) == 1
    assert scene.messages_in("cafe", by="bot") == []


async def test_password_login_direct_message_and_check_command(
    scene: FakeRocketChat, database_url: str, tmp_path: Path
) -> None:
    scene.add_dm("alice", "bot")
    config = write_config(tmp_path, scene.url, database_url)
    process = BotProcess(scene, config, tmp_path, password=True)
    try:
        await process.start()
        assert scene.requests_to("login")  # the password was exchanged for a token
        question = await scene.post_as("alice", "alice,bot", "budget")  # a DM needs no prefix
        await wait_for(lambda: len(scene.messages_in("alice,bot", by="bot")) == 1, what="the DM reply")
        [reply] = scene.messages_in("alice,bot", by="bot")
        assert reply["_id"] == f"{question['_id']}-0" and "tmid" not in reply and "Budget" in reply["msg"]
    finally:
        await process.stop()
    env = {**os.environ, "ROCKETCHAT_USER_ID": scene.store.user("bot").id, "ROCKETCHAT_AUTH_TOKEN": scene.bot_token}
    check = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatbot", "check", "--config", str(config), env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(check.communicate(), 30)
    assert check.returncode == 1  # rooms of the example configuration are missing from the fake
    text = out.decode()
    assert "✅ Identifiants valides : connecté en tant que @bot." in text
    assert "❌ Salon #cercle-sante : introuvable" in text


@pytest.mark.postgres
async def test_database_outage_stops_intake_and_resumes(
    scene: FakeRocketChat, tmp_path: Path, postgres_url: str | None
) -> None:
    """PostgreSQL made unreachable (a relay between the bot and the server is cut), then back."""
    if postgres_url is None:
        pytest.skip(PG_SKIP_REASON)
    url = postgres_url
    await asyncio.to_thread(_truncate_postgres, url)
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    process = BotProcess(scene, write_config(tmp_path, scene.url, postgres_via(url, proxy.port)), tmp_path)
    try:
        await process.start()
        ids = await burst(scene, 20)
        await wait_for(lambda: answered(scene, ids) == 20, what="replies before the outage")
        await proxy.cut()
        ids += await burst(scene, 20, start=20)  # the bot cannot record these
        await wait_for(lambda: _unhealthy(process), what="/healthz to report the database down")
        await asyncio.sleep(0.5)
        await proxy.restore()
        await assert_exactly_once(scene, ids, url)
    finally:
        await process.stop()
        await proxy.close()


async def _unhealthy(process: BotProcess) -> bool:
    status, body = await process.health()
    return status == 503 and body["database"] is False
