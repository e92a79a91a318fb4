"""Bot.handle_many: a backlog handled in one transaction, each command exactly once, refusals undone alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from chatbot.app import Bot
from chatbot.errors import DomainError
from chatbot.transport.rocketchat.outbox import Outbox
from tests.conftest import message, plain
from tests.helpers import assert_totals_consistent, count, envelope_row, snapshot
from tests.rc_support import rows


async def test_a_batch_answers_each_message_in_order_and_counts_each_once(bot: Bot, outbox: Outbox) -> None:
    batch = [
        message("/contrib 1h tech", user="alice"),
        message("bonjour à tous", user="bruno", room_name="cercle-tech"),  # not a command: no reply
        message("/contrib 25h tech", user="bruno"),  # refused (over the 24 h limit): undone alone
        message("/contirb 1h tech", user="carla"),  # unknown command: a suggestion
        message("/contrib 30min tech", user="carla"),
    ]
    replies = await bot.handle_many(batch)
    texts = [" ".join(plain(o.text) for o in r) for r in replies]
    assert "Contribution n°1 enregistrée" in texts[0] and "30 €" in texts[0]
    assert texts[1] == ""
    assert "24 h" in texts[2] and "enregistrée" not in texts[2]
    assert "/contrib" in texts[3]
    assert "Contribution n°2 enregistrée" in texts[4]
    assert (await envelope_row(bot, "tech")).spent_cents == 3000 + 1500
    assert await count(bot, "contribution") == 2
    assert await count(bot, "processed_message") == 3  # the three commands, refused one included
    # One outbox row per reply, keyed by the message it answers.
    assert [r.message_id for r in await rows(bot)] == [f"{batch[i].id}-0" for i in (0, 2, 3, 4)]
    await assert_totals_consistent(bot)


async def test_a_replayed_batch_changes_nothing(bot: Bot, outbox: Outbox) -> None:
    batch = [message(f"/contrib {n}h tech", user=f"membre{n}") for n in range(1, 6)]
    await bot.handle_many(batch)
    before = await snapshot(bot)
    outbox_before = [(r.message_id, r.text) for r in await rows(bot)]
    replies = await bot.handle_many([*batch[2:], message("/contrib 1h tech", user="nouveau"), *batch[:2]])
    assert [bool(r) for r in replies] == [False, False, False, True, False, False]
    after = await snapshot(bot)
    assert after["contribution"][:5] == before["contribution"]
    assert len(after["contribution"]) == 6
    assert [(r.message_id, r.text) for r in await rows(bot)][:5] == outbox_before


async def test_the_same_message_twice_in_one_batch_runs_once(bot: Bot) -> None:
    twice = message("/contrib 2h tech", user="alice")
    replies = await bot.handle_many([twice, twice])
    assert replies[0] and not replies[1]
    assert (await envelope_row(bot, "tech")).spent_cents == 6000


async def test_later_commands_of_a_batch_see_what_earlier_ones_did(bot: Bot) -> None:
    replies = await bot.handle_many(
        [
            message('/budget creer evenements "Événements" 1500', user="camille"),
            message("/contrib 2h evenements", user="alice"),
            message("/budget cloturer 2025", user="camille"),
            message("/contrib 1h tech le 15 décembre 2025", user="alice"),
            message("/contrib 1h evenements", user="bruno"),
        ]
    )
    texts = [" ".join(plain(o.text) for o in r) for r in replies]
    assert "créée pour 2026" in texts[0]
    assert "enregistrée" in texts[1] and "Événements" in texts[1]
    assert "enregistrée" not in texts[3] and "2025" in texts[3]  # the year closed two messages before
    assert "Contribution n°2 enregistrée" in texts[4]
    assert (await envelope_row(bot, "evenements")).spent_cents == 9000


async def test_a_member_seen_twice_in_a_batch_is_one_member(bot: Bot) -> None:
    await bot.handle_many(
        [
            message("/contrib 1h tech", user="alice"),
            message("/contrib 1h communication", user="alice"),
            message("/contrib 1h tech", user="bruno"),
        ]
    )
    assert await count(bot, "member") == 2
    listing = plain((await bot.handle(message("/contrib liste", user="alice")))[0].text)
    assert "n°1" in listing and "n°2" in listing and "n°3" not in listing


async def test_a_failing_transaction_records_none_of_the_batch(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error outside the commands' savepoints (here: recording the replies) undoes the whole batch, marks
    included, so that the transport can hand the same messages again."""
    batch = [message("/contrib 1h tech", user="alice"), message("/contrib 2h tech", user="bruno")]

    async def broken(_session: Any, _said: Any) -> None:
        raise OperationalError("INSERT INTO outbox_message", {}, Exception("disk I/O error"))

    monkeypatch.setattr(bot, "persist", broken)
    with pytest.raises(OperationalError):
        await bot.handle_many(batch)
    assert await count(bot, "processed_message") == 0
    assert await count(bot, "contribution") == 0
    monkeypatch.setattr(bot, "persist", None)
    replies = await bot.handle_many(batch)
    assert all("enregistrée" in r[0].text for r in replies)
    assert (await envelope_row(bot, "tech")).spent_cents == 9000


@pytest.mark.parametrize("alone", [True, False])
@pytest.mark.parametrize("failure", [RuntimeError("rendering failed"), DomainError("amount_zero")])
async def test_a_command_failing_after_writing_leaves_nothing(
    bot: Bot, outbox: Outbox, monkeypatch: pytest.MonkeyPatch, alone: bool, failure: Exception
) -> None:
    """Commands run without savepoints. One that fails (a bug, or a refusal raised after it wrote) undoes the
    whole transaction, which is done again with its failure as its reply and the others in savepoints: the
    declaration written before the failure is gone, the others stand, the message is marked handled, and the
    member is told."""
    import commands.contrib as contrib

    confirmation = contrib._confirmation

    def broken(ctx: Any, *args: Any) -> str:
        if ctx.member.username == "alice":
            raise failure
        return confirmation(ctx, *args)

    monkeypatch.setattr(contrib, "_confirmation", broken)
    failing = message("/contrib 2h tech", user="alice")
    others = [] if alone else [message("/contrib 1h tech", user="bruno"), message("/aide", user="carla")]
    replies = await bot.handle_many([*others[:1], failing, *others[1:]])
    replies = [replies[1], replies[0], *replies[2:]] if others else replies
    text = plain(replies[0][0].text)
    assert ("erreur interne" in text and "rien n'a été enregistré" in text) or "vaudrait 0 €" in text
    assert all(r for r in replies[1:])
    assert await count(bot, "contribution") == (0 if alone else 1)  # bruno's stands
    assert (await envelope_row(bot, "tech")).spent_cents == (0 if alone else 3000)
    assert await count(bot, "processed_message") == 1 + len(others)
    assert {r.message_id for r in await rows(bot)} == {f"{m.id}-0" for m in [failing, *others]}
    assert await bot.handle(failing) == []  # handled: a replay does nothing


async def test_a_lone_refusal_is_recorded_as_handled_and_changes_nothing(bot: Bot, outbox: Outbox) -> None:
    refused = message("/contrib 2h nulle-part", user="alice")
    before = await snapshot(bot)
    [reply] = await bot.handle_many([refused])
    assert "Pour quel cercle" in plain(reply[0].text)
    assert await snapshot(bot) == before
    assert await count(bot, "processed_message") == 1
    assert await bot.handle(refused) == []


async def test_an_envelope_locked_once_per_batch_keeps_exact_totals(bot: Bot) -> None:
    """Within a batch the envelope is read (and locked) once; cancellations, admin changes and declarations on it
    in the same transaction must still leave totals equal to a recomputation."""
    replies = await bot.handle_many(
        [
            message("/contrib 2h tech", user="alice"),
            message("/contrib annuler 1", user="alice"),
            message("/contrib 1h tech", user="bruno"),
            message("/budget ajuster tech -500 « réaffectation »", user="camille"),
            message("/contrib prevoir 10h tech Refonte", user="carla"),
            message("/contrib 3h tech", user="carla"),  # realises part of carla's intention
            message("/contrib 30min communication", user="bruno"),
        ]
    )
    assert all(r for r in replies)
    tech = await envelope_row(bot, "tech")
    assert (tech.amount_cents, tech.spent_cents, tech.committed_cents) == (250000, 3000 + 9000, 30000 - 9000)
    assert "reste 2 170 € sur 2 500 €" in plain(replies[-2][0].text)
    await assert_totals_consistent(bot)


async def test_a_redone_batch_forgets_what_its_undone_pass_learnt(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year reopened in the undone pass is closed again in the redo until its own /budget rouvrir runs: a
    declaration for that year made before the reopening is still refused."""
    import commands.contrib as contrib

    for text in ("/budget definir tech 1000 2025", "/budget cloturer 2025"):
        assert (await bot.handle(message(text, user="camille")))[0]
    confirmation = contrib._confirmation

    def broken(ctx: Any, *args: Any) -> str:
        if ctx.member.username == "dave":
            raise RuntimeError("rendering failed")  # after writing: the batch is done again
        return confirmation(ctx, *args)

    monkeypatch.setattr(contrib, "_confirmation", broken)
    replies = await bot.handle_many(
        [
            message("/contrib 1h tech le 15 décembre 2025", user="alice"),
            message("/budget rouvrir 2025 erreur de clôture", user="camille"),
            message("/contrib 1h tech le 15 décembre 2025", user="bruno"),
            message("/contrib 1h tech", user="dave"),
        ]
    )
    texts = [plain(r[0].text) for r in replies]
    assert "clôturée" in texts[0] and "enregistrée" not in texts[0]
    assert "enregistrée" in texts[2]  # (on PostgreSQL the undone pass used up sequence numbers)
    assert "erreur interne" in texts[3]
    assert await count(bot, "contribution") == 1


async def test_declarations_in_a_row_write_each_envelope_once_and_others_see_their_totals(bot: Bot) -> None:
    """Declarations in a row keep the envelopes' running totals in memory and write them once, before any other
    command and before the commit: a /budget between them reads totals that count the declarations before it, a
    cancellation after them starts from those totals, and the rows end equal to a recomputation."""
    from sqlalchemy import event

    updates: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ENVELOPE"):
            updates.append(statement)

    event.listen(bot.engine.sync_engine, "before_cursor_execute", seen)
    try:
        replies = await bot.handle_many(
            [
                message("/contrib 2h tech", user="alice"),
                message("/contrib 1h tech", user="bruno"),
                message("/contrib 1h communication", user="carla"),
                message("/contrib prevoir 2h tech", user="dave"),
                message("/budget tech", user="carla"),
                message("/contrib 30min tech", user="dave"),  # realises part of dave's intention
                message("/contrib annuler 2", user="bruno"),
                message("/contrib 1h tech", user="emma"),
            ]
        )
    finally:
        event.remove(bot.engine.sync_engine, "before_cursor_execute", seen)
    assert all(r for r in replies)
    shown = plain(replies[4][0].text)  # 3 h spent and 2 h committed before it
    assert "2 850 € / 3 000 €" in shown and "dépensé 90 €" in shown
    tech = await envelope_row(bot, "tech")
    assert (tech.spent_cents, tech.committed_cents) == (6000 + 1500 + 3000, 6000 - 1500)
    # Two envelopes written once before /budget, tech once more before the cancellation (which writes it), once at
    # the end: not once per declaration.
    assert len(updates) <= 5
    await assert_totals_consistent(bot)
