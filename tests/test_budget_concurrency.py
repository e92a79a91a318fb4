"""Two treasurers invoicing and a member correcting the same lines at the same moment: every line is invoiced once,
every correction is applied before its line is invoiced or refused after, and every total equals a recomputation."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import select

from chatbot.clock import FixedClock
from chatbot.config import Settings, account_key
from chatbot.db.models import AuditEvent, Contribution, ContributionStatus
from tests.conftest import Chat, message, plain, started_bot
from tests.helpers import assert_totals_consistent

LINES = 12


async def test_invoicing_and_correcting_at_once_keep_every_total_exact(settings: Settings, clock: FixedClock) -> None:
    two = dataclasses.replace(settings, treasurers=frozenset({account_key("dominique"), account_key("eve")}))
    async with started_bot(two, clock) as bot:
        chat = Chat(bot)
        for n in range(1, LINES + 1):
            await chat(f"/contrib {n}h tech {n:02d}/11 Ligne {n}", user="alice")
        half = " ".join(str(n) for n in range(1, LINES // 2 + 1))
        rest = " ".join(str(n) for n in range(LINES // 2 + 1, LINES + 1))
        everything = " ".join(str(n) for n in range(1, LINES + 1))
        commands = [
            message(f"/contrib facturer {half} ref DOM-1", user="dominique"),
            message(f"/contrib facturer {everything} ref EVE-1", user="eve"),
            message(f"/contrib facturer {rest} ref DOM-2", user="dominique"),
            *(
                message(f"/contrib modifier {n} 30min communication raison erreur de cercle", user="alice")
                for n in range(1, LINES + 1, 2)
            ),
            *(message(f"/contrib annuler {n} doublon", user="alice") for n in range(2, LINES + 1, 4)),
        ]
        replies = await asyncio.gather(*(bot.handle(m) for m in commands))
        texts = [plain(next(o.text for o in out if o.is_reply)) for out in replies]
        assert not any("erreur interne" in t for t in texts), texts

        async with bot.sessions() as session:
            rows = {c.id: c for c in await session.scalars(select(Contribution))}
            events = list(await session.scalars(select(AuditEvent).where(AuditEvent.contribution_id.is_not(None))))
        billed = [e.contribution_id for e in events if e.action == "bill"]
        assert sorted(billed) == sorted(set(billed)), "a line invoiced twice"
        assert {i for i, c in rows.items() if c.status == ContributionStatus.BILLED} == set(billed)
        for number, line in rows.items():
            corrected = [e for e in events if e.contribution_id == number and e.action == "correct"]
            if line.status == ContributionStatus.CANCELLED:
                assert number not in billed
            if corrected:  # applied while the line was still only declared, never after its invoice
                assert line.minutes == 30
                if number in billed:
                    [bill] = [e for e in events if e.contribution_id == number and e.action == "bill"]
                    assert corrected[0].id < bill.id
            elif number % 2 == 1:  # its correction came after the invoice: refused, the line as declared
                assert line.minutes == number * 60 and number in billed
        await assert_totals_consistent(bot)
