"""Invoicing and payment by the treasurers (`/contrib facturer`, `/contrib payer`) and statements for the accounting
tool (`/contrib releve`), through the real bot on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re

from sqlalchemy import select, text

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings, account_key
from chatbot.db.models import AuditEvent, Contribution
from tests.conftest import Chat, message, plain, started_bot
from tests.helpers import assert_totals_consistent, snapshot

TREASURER = "dominique"  # `bot.treasurers` of the example configuration; camille is an admin, not a treasurer


async def contributions(bot: Bot) -> dict[int, Contribution]:
    async with bot.sessions() as session:
        return {c.id: c for c in (await session.scalars(select(Contribution))).all()}


async def audits(bot: Bot, action: str) -> list[AuditEvent]:
    async with bot.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await session.scalars(query)).all())


async def question(bot: Bot, number: int) -> None:
    """The declaration as another engineer's `/contrib` question command leaves it: under question."""
    async with bot.sessions() as session, session.begin():
        await session.execute(text("UPDATE contribution SET review = 'questioned' WHERE id = :id"), {"id": number})


async def alice_declares(chat: Chat) -> None:
    await chat("/contrib 2h tech 03/11 Relecture", user="alice")  # n°1, 60 €
    await chat("/contrib 3h tech 10/11 Wiki", user="alice")  # n°2, 90 €
    await chat("/contrib 1h communication 15/10 Affiche", user="alice")  # n°3, 30 €, October
    await chat("/contrib 1h tech 05/11", user="bruno")  # n°4, 30 €, another member


async def test_a_treasurer_bills_numbers_with_the_voucher_reference(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    out = await chat.send("/contrib facturer 1 2 ref LOUTY-2026-041", user=TREASURER)
    reply = "\n".join(plain(o.text) for o in out if o.is_reply)
    assert "Facturées (réf. LOUTY-2026-041) : n°1, n°2 — 2 déclarations, 150 €." in reply
    assert "Non facturées" not in reply
    rows = await contributions(bot)
    assert [(rows[i].status, rows[i].invoice_ref) for i in (1, 2, 3, 4)] == [
        ("billed", "LOUTY-2026-041"),
        ("billed", "LOUTY-2026-041"),
        ("declared", None),
        ("declared", None),
    ]
    assert rows[1].billed_at is not None and rows[1].billed_at.utcoffset() is not None
    assert rows[1].billed_by_id is not None and rows[1].paid_at is None
    events = await audits(bot, "bill")
    assert [(e.contribution_id, e.detail, e.old_cents, e.new_cents) for e in events] == [
        (1, "LOUTY-2026-041", 6000, 6000),
        (2, "LOUTY-2026-041", 9000, 9000),
    ]
    # The owner learns it; billing changes no amount and no envelope total.
    [direct] = [o for o in out if o.room_name == "@alice"]
    assert "vos contributions n°1, n°2 (150 €) sont facturées (réf. LOUTY-2026-041)" in plain(direct.text)
    await assert_totals_consistent(bot)
    assert "Contributions (de alice · 2026) : 3, total déclaré 180 €" in await chat("/contrib liste", user="alice")
    journal = await chat("/budget journal")
    assert "tech : contribution de 60 € facturée" in journal


async def test_only_treasurers_bill_or_pay(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    before = await snapshot(bot)
    for user in ("camille", "alice"):  # an admin is no treasurer
        for command in ("/contrib facturer 1", "/contrib payer 1"):
            assert "réservée aux trésoriers" in await chat(command, user=user)
    assert await snapshot(bot) == before
    assert "/contrib facturer" not in await chat("/aide contrib", user="alice")
    assert "/contrib facturer 12 13 14 ref LOUTY-2026-041" in await chat("/aide contrib", user=TREASURER)


async def test_a_batch_bills_what_it_can_and_says_why_not_the_rest(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await chat("/contrib 1h tech Doublon", user="alice")  # n°5
    await chat("/contrib annuler 5", user="alice")
    await chat("/contrib prevoir 10h tech Refonte", user="alice")  # n°6, an intention
    await chat("/contrib facturer 4 ref A-1", user=TREASURER)  # n°4 billed already
    await question(bot, 2)
    reply = await chat("/contrib facturer 1, 2, 4 et 5 6 99 ref B-2", user=TREASURER)
    assert "Facturées (réf. B-2) : n°1 — 1 déclaration, 60 €." in reply
    assert "Non facturées :" in reply
    assert "• n°2 : questionnée" in reply
    assert "• n°4 : déjà facturée (réf. A-1). Une fois payée : `/contrib payer 4`." in reply
    assert "• n°5 : annulée." in reply
    assert "• n°6 : c'est une intention" in reply
    assert "• n°99 : aucune contribution de ce numéro." in reply
    rows = await contributions(bot)
    assert (rows[2].status, rows[4].invoice_ref, rows[5].status, rows[6].status) == (
        "declared",
        "A-1",
        "cancelled",
        "planned",
    )
    assert [e.contribution_id for e in await audits(bot, "bill")] == [4, 1]
    await assert_totals_consistent(bot)


async def test_nothing_billable_changes_nothing(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await question(bot, 1)
    before = await snapshot(bot)
    reply = await chat("/contrib facturer 1 77", user=TREASURER)
    assert reply.startswith("Rien n'a été facturé :")
    assert "• n°1 : questionnée" in reply and "• n°77 : aucune contribution" in reply
    assert await snapshot(bot) == before


async def test_a_member_and_a_month_bill_their_declared_lines(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await chat("/contrib facturer 2 ref A-1", user=TREASURER)
    await chat("/contrib annuler 1", user="alice")
    await chat("/contrib 30min tech 20/11", user="alice")  # n°5
    reply = await chat("/contrib facturer @alice novembre ref LOUTY-2026-042", user=TREASURER)
    # n°1 cancelled and n°2 already billed are not selected; n°3 is October's, n°4 bruno's.
    assert "Facturées (réf. LOUTY-2026-042) (de alice · novembre 2026) : n°5 — 1 déclaration, 15 €." in reply
    assert "Non facturées" not in reply
    again = await chat("/contrib facturer @alice 11/2026", user=TREASURER)
    assert "Aucune déclaration à facturer (de alice · novembre 2026)" in again
    year = await chat("/contrib facturer @alice communication 2026", user=TREASURER)
    assert "(de alice · enveloppe communication · 2026) : n°3 — 1 déclaration, 30 €." in year
    rows = await contributions(bot)
    assert [rows[i].status for i in (1, 2, 3, 4, 5)] == ["cancelled", "billed", "billed", "declared", "billed"]


async def test_a_questioned_line_of_a_month_is_named_not_billed(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await question(bot, 2)
    reply = await chat("/contrib facturer @alice novembre", user=TREASURER)
    assert "Facturées (de alice · novembre 2026) : n°1 — 1 déclaration, 60 €." in reply
    assert "• n°2 : questionnée" in reply


async def test_payment_follows_billing(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await chat("/contrib facturer 1 2 ref LOUTY-2026-041", user=TREASURER)
    reply = await chat("/contrib payer 1 3 ref VIR-118", user=TREASURER)
    assert "Payées (réf. VIR-118) : n°1 — 1 déclaration, 60 €." in reply
    assert "• n°3 : pas encore facturée : facturez-la d'abord, `/contrib facturer 3`." in reply
    again = await chat("/contrib payer @alice novembre", user=TREASURER)
    assert "Payées (de alice · novembre 2026) : n°2 — 1 déclaration, 90 €." in again
    assert "• n°1 : déjà payée (réf. LOUTY-2026-041)." in await chat("/contrib payer 1", user=TREASURER)
    rows = await contributions(bot)
    assert (rows[1].status, rows[1].invoice_ref, rows[2].status) == ("paid", "LOUTY-2026-041", "paid")
    assert rows[1].paid_at is not None and rows[1].paid_by_id is not None
    assert [(e.contribution_id, e.detail) for e in await audits(bot, "pay")] == [(1, "VIR-118"), (2, "")]
    assert "• n°1 : déjà payée" in await chat("/contrib facturer 1", user=TREASURER)
    await assert_totals_consistent(bot)


async def test_a_closed_year_is_still_billed_and_paid(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    assert "clôturée" in await chat("/budget cloturer 2026", user="camille")
    assert "Facturées (réf. X-1) : n°1" in await chat("/contrib facturer 1 ref X-1", user=TREASURER)
    assert "Payées : n°1" in await chat("/contrib payer 1", user=TREASURER)


async def test_unclear_requests_are_explained_and_change_nothing(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    before = await snapshot(bot)
    cases = {
        "/contrib facturer": "Quelles déclarations ?",
        "/contrib facturer 2026": "Pour la déclaration n°2026, écrivez `n°2026`",
        "/contrib facturer @alice": "Pour quelle période ? Par exemple `/contrib facturer @alice novembre`",
        "/contrib payer 1 @alice novembre": "Donnez soit des numéros",
        "/contrib facturer 1 ref": "la référence s'écrit après `ref`",
        "/contrib facturer 1 ref =SUM(A1)": "la référence s'écrit après `ref`",
        "/contrib facturer 1 ref " + "A" * 65: "au plus 64 caractères",
        "/contrib facturer @inconnu novembre": "Je ne connais pas encore de membre « inconnu »",
        "/contrib facturer 1 bientôt": "Je ne connais ni cercle ni enveloppe « bientôt »",
    }
    for command, expected in cases.items():
        reply = await chat(command, user=TREASURER)
        assert expected in reply, (command, reply)
    example = "Exemple : `/contrib facturer 12 13 14 ref LOUTY-2026-041`"
    assert example in await chat("/contrib facturer", user=TREASURER)
    assert await snapshot(bot) == before


async def test_ref_spellings(chat: Chat, bot: Bot) -> None:
    for _ in range(4):
        await chat("/contrib 1h tech", user="alice")
    await chat("/contrib facturer n°1 réf. FA/2026/41", user=TREASURER)
    await chat("/contrib facturer #2 ref:LOUTY-7", user=TREASURER)
    await chat("/contrib facturer référence « FA 2026 043 » 3", user=TREASURER)
    await chat("/contrib facturer n°4", user=TREASURER)
    rows = await contributions(bot)
    assert [rows[i].invoice_ref for i in (1, 2, 3, 4)] == ["FA/2026/41", "LOUTY-7", "FA 2026 043", None]


async def test_two_treasurers_billing_the_same_lines_at_once_bill_each_line_once(
    settings: Settings, clock: FixedClock
) -> None:
    two = dataclasses.replace(settings, treasurers=frozenset({account_key(TREASURER), account_key("eve")}))
    async with started_bot(two, clock) as bot:
        chat = Chat(bot)
        for day in range(1, 11):
            await chat(f"/contrib 1h tech {day:02d}/11", user="alice")
        numbers = " ".join(str(n) for n in range(1, 11))
        postgres = settings.database_url.startswith("postgresql")
        async with bot.sessions() as blocker, blocker.begin():
            if postgres:  # both commands read their lines, then wait on the row locks: a true race
                await blocker.execute(text("SELECT id FROM contribution FOR UPDATE"))
            commands = [
                asyncio.create_task(bot.handle(message(f"/contrib facturer {numbers} ref DOM-1", user=TREASURER))),
                asyncio.create_task(bot.handle(message("/contrib facturer @alice novembre ref EVE-1", user="eve"))),
            ]
            if postgres:
                await asyncio.sleep(0.5)
        replies = await asyncio.gather(*commands)
        texts = [plain(next(o.text for o in out if o.is_reply)) for out in replies]
        if postgres:  # the second to get the locks finds the lines billed by the first, and says so
            assert any("un autre trésorier vient de la traiter" in reply for reply in texts), texts
        billed: list[int] = []
        for reply in texts:
            found = re.search(r"Facturées [^:]*: ([n°\d, ]+) —", reply)
            billed += [int(n) for n in re.findall(r"\d+", found.group(1))] if found else []
        assert sorted(billed) == list(range(1, 11)), texts
        events = await audits(bot, "bill")
        assert sorted(e.contribution_id for e in events) == list(range(1, 11))
        rows = await contributions(bot)
        by_ref = {ref: sorted(i for i, c in rows.items() if c.invoice_ref == ref) for ref in ("DOM-1", "EVE-1")}
        assert sorted(by_ref["DOM-1"] + by_ref["EVE-1"]) == list(range(1, 11))
        assert all(e.detail == rows[e.contribution_id].invoice_ref for e in events)  # type: ignore[index]
        await assert_totals_consistent(bot)


# --- statements -------------------------------------------------------------------------------------------------


async def test_a_statement_lists_lines_statuses_and_totals(chat: Chat, bot: Bot) -> None:
    await alice_declares(chat)
    await chat("/contrib 1h tech Doublon", user="alice")  # n°5
    await chat("/contrib annuler 5", user="alice")
    await chat("/contrib facturer 1 ref LOUTY-2026-041", user=TREASURER)
    await chat("/contrib facturer 3 ref LOUTY-2026-042", user=TREASURER)
    await chat("/contrib payer 3", user=TREASURER)
    await question(bot, 2)
    reply = await chat("/contrib releve @alice 2026", user="bruno")  # any member may ask
    assert "**Relevé** (de alice · 2026) : 4 déclarations, total 180 €" in reply
    assert "• n°3 · 15/10/2026 · communication · 1 h × 30 €/h = 30 € · payée · (réf. LOUTY-2026-042)" in reply
    assert "• n°1 · 03/11/2026 · tech · 2 h × 30 €/h = 60 € · facturée · (réf. LOUTY-2026-041)" in reply
    assert "• n°2 · 10/11/2026 · tech · 3 h × 30 €/h = 90 € · questionnée" in reply
    assert "• n°5 · 26/11/2026 · tech · 1 h × 30 €/h = 30 € · annulée" in reply
    assert "Par statut :\n• questionnée : 1 déclaration, 90 €\n• facturée : 1 déclaration, 60 €" in reply
    assert "• payée : 1 déclaration, 30 €\n• annulée : 1 déclaration, 30 €\n**Total** (hors annulées) : 180 €" in reply
    tech = await chat("/contrib releve tech novembre", user="alice")
    assert "**Relevé** (enveloppe tech · novembre 2026) : 4 déclarations, total 180 €" in tech
    assert "• n°4 · 05/11/2026 · bruno · 1 h × 30 €/h = 30 € · déclarée" in tech
    assert "Aucune déclaration (de alice · 2025)." in await chat("/contrib releve 2025", user="alice")


async def test_a_long_statement_comes_as_a_file(chat: Chat, bot: Bot) -> None:
    for day in range(1, 27):
        await chat(f"/contrib 30min tech {day:02d}/11 Tâche {day}", user="alice")
    out = await chat.send("/contrib releve @alice novembre", user="alice")
    reply = plain(out[0].text)
    assert "**Relevé** (de alice · novembre 2026) : 26 déclarations, total 390 €" in reply
    assert "fichier joint releve-alice-2026-11.csv" in reply and "• n°1 ·" not in reply
    assert "• déclarée : 26 déclarations, 390 €" in reply
    [attachment] = out[0].attachments
    assert attachment.filename == "releve-alice-2026-11.csv"
    table = list(csv.reader(io.StringIO(attachment.content.decode("utf-8-sig")), delimiter=";"))
    assert len(table) == 27 and table[1][0] == "1" and table[26][7] == "Tâche 26"
