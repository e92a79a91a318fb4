"""End to end against the fake Rocket.Chat, the bot as a real process: a co-budget's opening is a top-level post of
its room, even when the admin typed it in a thread; a member's project is acknowledged in the member's thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import plain
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for, write_config

ROOM = "cercle-tech"


@pytest.fixture
async def bot_process(fake_rc: FakeRocketChat, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:  # noqa: F811
    fake_rc.add_user("camille")  # the example configuration's admin
    fake_rc.store.room(ROOM).members.append(fake_rc.store.user("camille").id)
    process = BotProcess(fake_rc, write_config(tmp_path, fake_rc.url, database_url), tmp_path)
    try:
        yield process
    finally:
        await process.stop()


def said(fake: FakeRocketChat, words: str) -> list[dict[str, object]]:
    return [m for m in fake.messages_in(ROOM, by="bot") if words in plain(str(m["msg"]))]


async def test_opening_is_top_level_and_a_project_is_answered_in_its_thread(
    bot_process: BotProcess,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    await bot_process.start()
    parent = await fake_rc.post_as("camille", ROOM, "On lance le co-budget ?")
    await fake_rc.post_as(
        "camille",
        ROOM,
        "/cobudget ouvrir \"Résultat 2026\" 12000 propositions jusqu'au 15/03 vote jusqu'au 31/03",
        tmid=parent["_id"],
    )
    await wait_for(
        lambda: bool(said(fake_rc, "hors du fil") and said(fake_rc, "Co-budget n°1")), what="the opening and its ack"
    )
    [opening] = said(fake_rc, "Co-budget n°1")
    assert "tmid" not in opening and "12 000 €" in plain(str(opening["msg"]))
    [ack] = said(fake_rc, "hors du fil")
    assert ack["tmid"] == parent["_id"]

    typed = await fake_rc.post_as("alice", ROOM, '/cobudget projet "Atelier vélo" 1500 min 800 Réparer les vélos')
    await wait_for(lambda: bool(said(fake_rc, "Projet n°1 enregistré")), what="the project's acknowledgement")
    [reply] = said(fake_rc, "Projet n°1 enregistré")
    assert reply["_id"] == f"{typed['_id']}-0" and reply.get("tmid") == typed["_id"]
