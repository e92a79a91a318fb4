"""Files on Rocket.Chat (`/contrib export`): stored in the outbox with their message, uploaded with `rooms.media`,
posted with `rooms.mediaConfirm`, never lost and never posted twice across a crash (both databases)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.transport.base import Attachment, Outgoing
from chatbot.transport.console import ConsoleTransport
from chatbot.transport.rocketchat.outbox import Outbox, OutboxSender
from chatbot.transport.rocketchat.rest import RestClient, TransientError
from tests.conftest import message
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import (
    BotProcess,
    bot_replies,
    deliver_all,
    resolve_room,
    rest_client,
    rows,
    wait_for,
    write_config,
)

CSV = "\ufeffN°;date\r\n1;02/11/2026\r\n".encode()


def new_sender(outbox: Outbox, rest: RestClient, fake: FakeRocketChat) -> OutboxSender:
    """A sender as a freshly started process has it (rows already in the table count as inherited)."""
    return OutboxSender(outbox, rest, lambda name: resolve_room(fake, name))


def file_messages(fake: FakeRocketChat, room: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages_in(room, by="bot") if m.get("file")]


def content_of(fake: FakeRocketChat, posted: dict[str, Any]) -> bytes:
    return bytes(fake.store.uploads[posted["file"]["_id"]]["content"])


async def test_export_is_stored_with_its_file_and_a_replay_adds_nothing(bot: Bot, outbox: Outbox) -> None:
    await bot.handle(message("/contrib 2h tech Wiki", user="alice", room_name="cercle-tech", message_id="C1"))
    incoming = message("/contrib export 2026", user="alice", room_name="cercle-tech", message_id="E1")
    [reply] = await bot.handle(incoming)
    assert await bot.handle(incoming) == []
    row = {r.message_id: r for r in await rows(bot)}["E1-0"]
    [attachment] = reply.attachments
    assert (row.text, row.file_name, row.file_type, row.file_content, row.file_id) == (
        reply.text,
        "contributions-2026.csv",
        "text/csv",
        attachment.content,
        None,
    )
    assert row.file_content is not None and row.file_content.startswith("\ufeff".encode())
    assert [r.message_id for r in await rows(bot)] == ["C1-0", "E1-0"]


async def test_several_files_become_one_message_each(bot: Bot, outbox: Outbox) -> None:
    files = (Attachment("a.csv", b"a"), Attachment("b.csv", b"b"))
    await outbox.enqueue("K", [Outgoing(text="deux fichiers", room_id="R", attachments=files), Outgoing(text="fin")])
    got = [(r.message_id, r.text, r.file_name, r.file_content) for r in await rows(bot)]
    assert got == [
        ("K-0", "deux fichiers", "a.csv", b"a"),
        ("K-0.1", "", "b.csv", b"b"),
        ("K-1", "fin", None, None),
    ]


async def test_file_is_uploaded_then_confirmed_in_the_thread(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    command = await fake_rc.post_as("alice", "cercle-tech", "/contrib export")
    room_id = fake_rc.store.room("cercle-tech").id
    export = Outgoing(
        text="Export 2026", room_id=room_id, thread_id=command["_id"], attachments=(Attachment("c.csv", CSV),)
    )
    await outbox.enqueue(command["_id"], [export])
    rest = rest_client(fake_rc)
    try:
        await deliver_all(new_sender(outbox, rest, fake_rc))
    finally:
        await rest.close()
    [posted] = fake_rc.messages_in("cercle-tech", by="bot")
    assert (posted["msg"], posted["tmid"], posted["file"]["name"], posted["file"]["type"]) == (
        "Export 2026",
        command["_id"],
        "c.csv",
        "text/csv",
    )
    assert content_of(fake_rc, posted) == CSV
    assert fake_rc.requests_to("chat.sendMessage") == []
    [row] = await rows(bot)
    assert (row.status, row.file_id) == ("sent", posted["file"]["_id"])


async def test_restart_between_upload_and_confirm_confirms_the_same_upload(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    room_id = fake_rc.store.room("cercle-tech").id
    await outbox.enqueue("X", [Outgoing(text="Export", room_id=room_id, attachments=(Attachment("c.csv", CSV),))])
    fake_rc.faults.fail_next("rooms.mediaConfirm", 1, status=503)  # the process "dies" right after uploading
    rest = rest_client(fake_rc)
    try:
        with pytest.raises(TransientError):
            await new_sender(outbox, rest, fake_rc).deliver_pending()
        assert file_messages(fake_rc, "cercle-tech") == []
        [row] = await rows(bot)
        assert row.status == "pending" and row.file_id in fake_rc.store.uploads
        await deliver_all(new_sender(outbox, rest, fake_rc))  # the restarted process
    finally:
        await rest.close()
    [posted] = file_messages(fake_rc, "cercle-tech")
    assert posted["file"]["_id"] == row.file_id and content_of(fake_rc, posted) == CSV
    assert len(fake_rc.requests_to("rooms.media")) == 1  # not uploaded again
    assert len(fake_rc.requests_to("rooms.mediaConfirm")) == 2  # the refused one, then the one that posted
    assert [r.status for r in await rows(bot)] == ["sent"]


@pytest.mark.parametrize("restart", [False, True])
async def test_confirmation_whose_answer_was_lost_is_not_posted_again(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
    restart: bool,
) -> None:
    command = await fake_rc.post_as("alice", "cercle-tech-prive", "/contrib export")
    room_id = fake_rc.store.room("cercle-tech-prive").id
    export = Outgoing(text="Export", room_id=room_id, thread_id=command["_id"], attachments=(Attachment("c.csv", CSV),))
    await outbox.enqueue("L", [export])
    fake_rc.faults.lose_answer_next("rooms.mediaConfirm")  # posted, but the bot gets a 500
    rest = rest_client(fake_rc)
    try:
        sender = new_sender(outbox, rest, fake_rc)
        with pytest.raises(TransientError):
            await sender.deliver_pending()
        assert len(file_messages(fake_rc, "cercle-tech-prive")) == 1
        await deliver_all(new_sender(outbox, rest, fake_rc) if restart else sender)
    finally:
        await rest.close()
    assert len(file_messages(fake_rc, "cercle-tech-prive")) == 1  # found in the history (a thread reply)
    assert len(fake_rc.requests_to("rooms.mediaConfirm")) == 1
    assert [r.status for r in await rows(bot)] == ["sent"]


async def test_expired_upload_is_uploaded_again(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    room_id = fake_rc.store.room("cercle-tech").id
    await outbox.enqueue("Y", [Outgoing(text="Export", room_id=room_id, attachments=(Attachment("c.csv", CSV),))])
    fake_rc.faults.fail_next("rooms.mediaConfirm", 1, status=503)
    rest = rest_client(fake_rc)
    try:
        with pytest.raises(TransientError):
            await new_sender(outbox, rest, fake_rc).deliver_pending()
        [first] = fake_rc.store.uploads.values()
        first["expired"] = True  # the bot stayed down more than 24 hours
        await deliver_all(new_sender(outbox, rest, fake_rc))
    finally:
        await rest.close()
    [posted] = file_messages(fake_rc, "cercle-tech")
    assert posted["file"]["_id"] != first["_id"] and content_of(fake_rc, posted) == CSV
    assert len(fake_rc.requests_to("rooms.media")) == 2
    [row] = await rows(bot)
    assert (row.status, row.file_id) == ("sent", posted["file"]["_id"])


async def test_refused_upload_fails_the_row_and_posts_nothing(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    fake_rc.add_group("secret", ["alice"])  # the bot is not a member
    room_id = fake_rc.store.room("secret").id
    await outbox.enqueue("Z", [Outgoing(text="Export", room_id=room_id, attachments=(Attachment("c.csv", CSV),))])
    rest = rest_client(fake_rc)
    try:
        await deliver_all(new_sender(outbox, rest, fake_rc))
    finally:
        await rest.close()
    [row] = await rows(bot)
    assert row.status == "failed" and "403" in row.last_error and row.file_id is None
    assert fake_rc.messages_in("secret") == [] and fake_rc.requests_to("rooms.mediaConfirm") == []


# -- end to end: the bot process --------------------------------------------------------------------------------------
@pytest.fixture
async def bot_process(fake_rc: FakeRocketChat, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:  # noqa: F811
    process = BotProcess(fake_rc, write_config(tmp_path, fake_rc.url, database_url), tmp_path)
    try:
        yield process
    finally:
        await process.stop()


async def console_export(bot: Bot, tmp_path: Path, year: int) -> bytes:
    """What `chatbot console` writes for `/contrib export <year>` on the same data."""
    out = tmp_path / "console-exports"
    console = ConsoleTransport(
        bot.settings,
        bot.t,
        user="alice",
        room="#cercle-tech",
        stdin=io.StringIO(f"/contrib export {year}\n"),
        stdout=io.StringIO(),
        export_dir=out,
    )
    await console.run(bot.handle)
    return (out / f"contributions-{year}.csv").read_bytes()


async def test_export_in_a_channel_posts_the_csv_once_across_a_crash_before_confirmation(
    bot_process: BotProcess,
    fake_rc: FakeRocketChat,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    year = date.today().year  # the process runs on the real clock
    await bot_process.start()
    declared = [
        await fake_rc.post_as("alice", "cercle-tech", "/contrib 2h tech Wiki"),
        await fake_rc.post_as("bob", "cercle-tech", "/contrib 30min tech Relecture"),
    ]
    await wait_for(lambda: all(bot_replies(fake_rc, "cercle-tech").get(d["_id"]) for d in declared), what="replies")
    fake_rc.faults.fail_next("rooms.mediaConfirm", 10_000, status=503)
    command = await fake_rc.post_as("carol", "cercle-tech", f"/contrib export {year}")
    await wait_for(lambda: len(fake_rc.requests_to("rooms.mediaConfirm")) >= 1, what="a confirmation attempt")
    await bot_process.kill()  # uploaded, confirmation not through: the crash
    fake_rc.faults.clear()
    assert file_messages(fake_rc, "cercle-tech") == []
    await bot_process.start()
    await wait_for(lambda: bool(file_messages(fake_rc, "cercle-tech")), what="the export message")
    await asyncio.sleep(0.3)  # a duplicate would show within this time
    [posted] = file_messages(fake_rc, "cercle-tech")
    assert posted["tmid"] == command["_id"] and str(year) in posted["msg"]
    assert posted["file"]["name"] == f"contributions-{year}.csv" and posted["file"]["type"] == "text/csv"
    assert len(fake_rc.requests_to("rooms.media")) == 1  # the upload survived the crash
    assert not [m for m in bot_replies(fake_rc, "cercle-tech").get(command["_id"], []) if not m.get("file")]
    await bot_process.stop()

    uploaded = content_of(fake_rc, posted)
    lines = uploaded.decode("utf-8").split("\r\n")
    assert uploaded.startswith("\ufeff".encode())
    assert lines[0].startswith("\ufeffn°;date;membre;enveloppe;durée (h);taux (€/h);montant (€);description;statut;")
    assert lines[0].endswith(";durée (min)")
    assert [line.split(";")[2] for line in lines[1:] if line] == ["alice", "bob"]
    bot = Bot.create(settings, clock=FixedClock(datetime.now(UTC)))
    await bot.start(auto_migrate=False)
    try:
        assert uploaded == await console_export(bot, tmp_path, year)
    finally:
        await bot.close()


async def _running_sender(outbox: Outbox, rest: RestClient, fake: FakeRocketChat) -> asyncio.Task[None]:
    sender = OutboxSender(outbox, rest, lambda name: resolve_room(fake, name), poll=2.0)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.1)  # its first round has read the (empty) table
    return task


async def test_an_export_is_posted_before_the_replies_committed_after_it(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """A file row stays out of the sender's memory: the rows committed with or after it must not overtake it."""
    room = fake_rc.store.room("cercle-tech")
    rest = rest_client(fake_rc)
    task = await _running_sender(outbox, rest, fake_rc)
    try:
        export = Outgoing(text="Export", room_id=room.id, attachments=(Attachment("c.csv", CSV),))
        async with bot.sessions() as session, session.begin():
            await outbox.persist_many(session, [("X", [export]), ("T", [Outgoing(text="après", room_id=room.id)])])
        await outbox.enqueue("U", [Outgoing(text="encore après", room_id=room.id)])
        await wait_for(lambda: len(fake_rc.messages_in("cercle-tech", by="bot")) == 3, within=10, what="3 posts")
    finally:
        task.cancel()
        await rest.close()
    posted = fake_rc.messages_in("cercle-tech", by="bot")
    assert [bool(m.get("file")) for m in posted] == [True, False, False]
    assert [m["msg"] for m in posted[1:]] == ["après", "encore après"]


async def test_a_database_error_while_recording_an_upload_is_tried_again(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import OperationalError

    remember = outbox.remember_upload
    calls: list[str | None] = []

    async def flaky(row_id: int, file_id: str | None) -> None:
        calls.append(file_id)
        if len(calls) == 1:
            raise OperationalError("UPDATE outbox_message", {}, Exception("database is locked"))
        await remember(row_id, file_id)

    monkeypatch.setattr(outbox, "remember_upload", flaky)
    room = fake_rc.store.room("cercle-tech")
    await outbox.enqueue("X", [Outgoing(text="Export", room_id=room.id, attachments=(Attachment("c.csv", CSV),))])
    rest = rest_client(fake_rc)
    task = await _running_sender(outbox, rest, fake_rc)
    try:
        await wait_for(lambda: len(file_messages(fake_rc, "cercle-tech")) == 1, within=10, what="the export")
        await wait_for(lambda: _all_sent(bot), within=10, what="the row marked sent")
    finally:
        task.cancel()
        await rest.close()
    assert len(calls) == 2  # the failed recording, then the retry's
    assert len(file_messages(fake_rc, "cercle-tech")) == 1


async def _all_sent(bot: Bot) -> bool:
    return all(r.status == "sent" for r in await rows(bot))
