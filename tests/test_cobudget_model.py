"""Property: any sequence of gifts and withdrawals, typed by members, leaves exactly what a plain model of the rules
computes (capped at targets, refused beyond balances or holdings), and every total equals the events' sum."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.db.models import CobudgetParticipant, CobudgetPhase, CobudgetProject, CobudgetRound, Member
from tests.conftest import NOW, PARIS, Chat
from tests.test_cobudget import ROOM, assert_totals_exact

MEMBERS = ("alice", "bruno", "chloe", "dora")
TARGETS = (1000, 2550, 4000)  # cents
AMOUNT = 10001  # cents: 25 € each, 1 centime left over
FUNDING = datetime(2026, 11, 27, 0, 0, tzinfo=PARIS)

operation = st.tuples(
    st.sampled_from(["donner", "retirer"]),
    st.integers(0, len(MEMBERS) - 1),
    st.integers(0, len(TARGETS) - 1),
    st.integers(1, 3000),
)


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, max_size=25))
async def test_gifts_and_withdrawals_follow_the_rules(
    chat: Chat, bot: Bot, clock: FixedClock, operations: list[tuple[str, int, int, int]]
) -> None:
    clock.set(NOW)
    async with bot.sessions() as session, session.begin():  # the previous example's round is over
        await session.execute(update(CobudgetRound).values(phase=CobudgetPhase.CLOSED))
    opened = await chat(
        f"/cobudget ouvrir R {euros(AMOUNT)} propositions jusqu'au 26/11 vote jusqu'au 30/11", room=ROOM
    )
    assert "Co-budget n°" in opened, opened
    numbers = []
    for target in TARGETS:
        reply = await chat(f"/cobudget projet P {euros(target)}", user="alice", room=ROOM)
        numbers.append(int(reply.split("Projet n°")[1].split(" ")[0]))
    for member in MEMBERS:
        await chat("/cobudget participer", user=member, room=ROOM)
    clock.set(FUNDING)
    await bot.scheduler.run_due()

    share = AMOUNT // len(MEMBERS)
    given_ = [0] * len(MEMBERS)
    funded = [0] * len(TARGETS)
    held = [[0] * len(TARGETS) for _ in MEMBERS]
    for verb, m, p, cents in operations:
        reply = await chat(f"/cobudget {verb} {numbers[p]} {euros(cents)}", user=MEMBERS[m], room=ROOM)
        if verb == "donner":
            need = TARGETS[p] - funded[p]
            if cents > share - given_[m] or need <= 0:
                assert "donnés" not in reply, reply
                continue
            moved = min(cents, need)
            assert f"{euros(moved)} €".replace(",00 €", " €") in reply, reply
        else:
            if cents > held[m][p]:
                assert "repris" not in reply, reply
                continue
            moved = -cents
        given_[m] += moved
        funded[p] += moved
        held[m][p] += moved

    async with bot.sessions() as session:
        for p, number in enumerate(numbers):
            project = await session.get(CobudgetProject, number)
            assert project is not None and project.funded_cents == funded[p]
        for m, name in enumerate(MEMBERS):
            member_id = (await session.execute(Member.__table__.select().where(Member.username == name))).one().id
            row = (
                await session.execute(
                    CobudgetParticipant.__table__.select().where(
                        CobudgetParticipant.member_id == member_id, CobudgetParticipant.round_id == project.round_id
                    )
                )
            ).one()
            assert (row.share_cents, row.given_cents) == (share, given_[m])
    await assert_totals_exact(bot)
