"""The outbox: replies recorded with their effects (both databases), delivered once, never posted twice."""

from __future__ import annotations

from sqlalchemy import func, select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.db.models import Contribution, OutboxStatus
from chatbot.scheduler import Firing
from chatbot.services import Services
from chatbot.transport.base import Outgoing
from chatbot.transport.rocketchat.outbox import Outbox, OutboxSender, message_id
from tests.conftest import message
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import deliver_all, resolve_room, rest_client, rows


async def count(bot: Bot, model: type) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def test_message_ids_are_deterministic_and_fit() -> None:
    assert message_id("abc", 0, None) == "abc-0"
    assert message_id("abc", 1, "consent-12") == "consent-12"
    long = message_id("x" * 80, 3, None)
    assert long == message_id("x" * 80, 3, None) and len(long) <= 64 and long != message_id("x" * 80, 4, None)


async def test_reply_is_recorded_with_its_effects_and_a_replay_adds_nothing(bot: Bot, outbox: Outbox) -> None:
    incoming = message("/contrib 2h tech Wiki", user="alice", room_name="cercle-tech", message_id="M1")
    replies = await bot.handle(incoming)
    assert len(replies) == 1
    [row] = await rows(bot)
    assert (row.message_id, row.room_id, row.status, row.text) == (
        "M1-0",
        "room-cercle-tech",
        "pending",
        replies[0].text,
    )
    assert await count(bot, Contribution) == 1
    assert await bot.handle(incoming) == []  # the same message again: nothing
    assert len(await rows(bot)) == 1 and await count(bot, Contribution) == 1


async def test_user_error_reply_is_recorded_and_nothing_else(bot: Bot, outbox: Outbox) -> None:
    await bot.handle(message("/contrib 3 patates tech", message_id="M2"))
    [row] = await rows(bot)
    assert row.message_id == "M2-0" and row.text.startswith("Il manque")
    assert await count(bot, Contribution) == 0


async def test_unknown_command_reply_is_recorded_once(bot: Bot, outbox: Outbox) -> None:
    incoming = message("/contribb 2h tech", message_id="M3")
    await bot.handle(incoming)
    await bot.handle(incoming)
    assert [r.message_id for r in await rows(bot)] == ["M3-0"]


async def test_scheduled_task_output_goes_through_the_outbox(bot: Bot, outbox: Outbox, clock: FixedClock) -> None:
    async def announce(firing: Firing) -> list[Outgoing]:
        return [Outgoing(text="Rappel", room_name="cercle-tech", is_reply=False)]

    bot.scheduler.register("test_announce", announce)
    async with bot.sessions.begin() as session:
        task = await Services.bind(session, bot.settings, clock).tasks.schedule("test_announce", 1, clock.now())
    assert await bot.scheduler.run_due() == 1
    [row] = await rows(bot)
    assert (row.message_id, row.room_name, row.room_id, row.text) == (
        f"task-{task.id}-0",
        "cercle-tech",
        None,
        "Rappel",
    )


async def test_sender_posts_once_with_the_chosen_id_and_in_the_thread(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    command = await fake_rc.post_as("alice", "cercle-tech", "/budget")
    room_id = fake_rc.store.room("cercle-tech").id
    await outbox.enqueue(command["_id"], [Outgoing(text="réponse", room_id=room_id, thread_id=command["_id"])])
    await outbox.enqueue("post", [Outgoing(text="annonce", room_name="cercle-tech-prive", is_reply=False)])
    await outbox.enqueue("lost", [Outgoing(text="perdu", room_name="salon-inconnu", is_reply=False)])
    rest = rest_client(fake_rc)
    sender = OutboxSender(outbox, rest, lambda name: resolve_room(fake_rc, name))
    try:
        await deliver_all(sender)
    finally:
        await rest.close()
    [reply] = fake_rc.messages_in("cercle-tech", by="bot")
    assert (reply["_id"], reply["tmid"], reply["msg"]) == (f"{command['_id']}-0", command["_id"], "réponse")
    assert [m["msg"] for m in fake_rc.messages_in("cercle-tech-prive", by="bot")] == ["annonce"]
    statuses = {r.message_id: r.status for r in await rows(bot)}
    assert statuses == {f"{command['_id']}-0": "sent", "post-0": "sent", "lost-0": OutboxStatus.FAILED}


async def test_resend_after_a_crash_asks_the_server_first(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    room = fake_rc.store.room("cercle-tech")
    await outbox.enqueue(
        "K", [Outgoing(text="déjà parti", room_id=room.id), Outgoing(text="pas parti", room_id=room.id)]
    )
    # The previous process posted the first one, then died before marking it sent.
    await fake_rc.deliver(fake_rc.store.user("bot"), room, "déjà parti", message_id="K-0")
    rest = rest_client(fake_rc)
    try:
        await deliver_all(OutboxSender(outbox, rest, lambda name: resolve_room(fake_rc, name)))
    finally:
        await rest.close()
    assert [m["_id"] for m in fake_rc.messages_in("cercle-tech", by="bot")] == ["K-0", "K-1"]
    assert [r.body["message"]["_id"] for r in fake_rc.requests_to("chat.sendMessage")] == ["K-1"]
    assert {r.status for r in await rows(bot)} == {"sent"}


async def test_rows_beyond_what_memory_keeps_are_read_from_the_table_and_sent_once(
    bot: Bot,
    outbox: Outbox,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """While the sender lags (a catch-up's backlog), at most MAX_FRESH committed rows wait in memory; the others
    are read from the table, in order, and nothing is sent twice or lost."""
    from chatbot.transport.rocketchat import outbox as outbox_module

    room_id = fake_rc.store.room("cercle-tech").id
    batches = 4
    per_batch = outbox_module.MAX_FRESH // 2 + 1
    for b in range(batches):
        async with bot.sessions() as session, session.begin():
            said = [(f"m{b}-{i}", [Outgoing(text=f"r{b}-{i}", room_id=room_id)]) for i in range(per_batch)]
            await outbox.persist_many(session, said)
        assert len(outbox.fresh) <= outbox_module.MAX_FRESH
    assert outbox.overflowed
    rest = rest_client(fake_rc)
    sender = OutboxSender(outbox, rest, lambda name: resolve_room(fake_rc, name))
    try:
        await deliver_all(sender)
        while outbox.fresh:  # copies in memory of rows the table gave already are skipped
            await sender.deliver_pending(from_memory=True)
    finally:
        await rest.close()
    posted = [m["msg"] for m in fake_rc.messages_in("cercle-tech", by="bot")]
    expected = [f"r{b}-{i}" for b in range(batches) for i in range(per_batch)]
    assert posted == expected  # in order: the table is read oldest first, memory only holds the newest
    assert {r.status for r in await rows(bot)} == {"sent"}
