"""The budget all year: transfers between envelopes, overruns kept visible, the closing report, closing with
confirmation, and carrying envelopes over to the next year. On SQLite and PostgreSQL, through the real bot."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict

import pytest
from sqlalchemy import select, text, update

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import AuditEvent, Contribution, ContributionStatus, Envelope, Member
from chatbot.services.year_end import unpaid_statements
from tests.conftest import Chat, message, plain, started_bot
from tests.helpers import assert_totals_consistent, count, envelope_row, snapshot

# --- transfers --------------------------------------------------------------------------------------------------


async def test_transfer_moves_an_amount_in_one_step_and_is_journalled(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 5h orientation", user="alice")  # 150 € spent
    reply = await chat("/budget transferer orientation communication 300 « renfort newsletter »")
    assert reply.splitlines() == [
        "↔️ 300 € transférés de l'enveloppe Orientation vers l'enveloppe Communication (2026). "
        "Raison : renfort newsletter",
        "• Orientation (`orientation`) : 1 000 € → 700 € ; reste 550 €",
        "• Communication (`communication`) : 2 500 € → 2 800 € ; reste 2 800 €",
    ]
    assert (await envelope_row(bot, "orientation")).amount_cents == 70000
    assert (await envelope_row(bot, "communication")).amount_cents == 280000
    assert await count(bot, "audit_event", "action IN ('transfer_out', 'transfer_in')") == 2
    journal = await chat("/budget journal")
    assert "camille · orientation : 1 000 € → 700 €, transfert vers communication — renfort newsletter" in journal
    assert "camille · communication : 2 500 € → 2 800 €, transfert reçu de orientation — renfort newsletter" in journal
    assert "transfert vers communication" in await chat("/budget journal orientation")
    await assert_totals_consistent(bot)


async def test_transfer_of_another_year_and_its_aliases(chat: Chat, bot: Bot) -> None:
    await chat("/budget definir tech 1000 2027")
    await chat("/budget definir communication 500 2027")
    reply = await chat("/budget virer tech com 250,50 2027 préparer le salon")
    assert "250,50 € transférés de l'enveloppe Technique vers l'enveloppe Communication (2027)" in reply
    assert (await envelope_row(bot, "tech", 2027)).amount_cents == 74950
    assert (await envelope_row(bot, "communication", 2027)).amount_cents == 75050
    assert (await envelope_row(bot, "tech")).amount_cents == 300000  # 2026 untouched


async def test_transfer_below_what_is_spent_and_committed_is_refused_unless_forced(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 20h orientation", user="alice")  # 600 € spent
    await chat("/contrib prevoir 10h orientation", user="bruno")  # 300 € committed: 100 € free
    before = await snapshot(bot)
    reply = await chat("/budget transferer orientation communication 200 renfort")
    assert reply.startswith("Refusé : l'enveloppe Orientation a 1 000 €, dont 900 € déjà dépensés ou prévus")
    assert "Elle peut céder au plus 100 €. Rien n'a été modifié." in reply
    assert "`/budget transferer orientation communication 200 € --force « raison »`" in reply
    assert await snapshot(bot) == before

    assert "reste 0 €" in await chat(
        "/budget transferer orientation communication 100 renfort"
    )  # exactly the free part

    reply = await chat("/budget transferer orientation communication 200 --force « fin d'année »")
    assert "• Orientation (`orientation`) : 900 € → 700 € ; dépassée de 200 €" in reply
    assert (
        "⚠️ Transfert forcé : l'enveloppe Orientation a désormais moins que ce qu'elle a déjà dépensé et prévu." in reply
    )
    reply = await chat("/budget transferer orientation communication 100 « encore » --force")  # the flag at the end
    assert "700 € → 600 €" in reply and "Raison : encore" in reply
    journal = await chat("/budget journal orientation")
    assert (
        "orientation : 900 € → 700 €, transfert forcé vers communication (sous le dépensé et prévu) — fin d'année"
        in (journal)
    )
    assert (await envelope_row(bot, "communication")).amount_cents == 250000 + 40000
    await assert_totals_consistent(bot)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/budget transferer orientation communication 300", "Il manque la raison."),
        ("/budget transferer orientation orientation 300 raison", "L'origine et la destination sont la même"),
        ("/budget transferer orientation communication 0 raison", "Le montant à transférer doit être positif"),
        ("/budget transferer orientation communication 1200 --force raison", "elle ne peut pas en céder 1 200 €"),
        ("/budget transferer orientation communication -300 raison", "Le montant ne peut pas être négatif"),
        ("/budget transferer orientation comunicaton 300 raison", "Cercle ou enveloppe inconnu : « comunicaton »"),
        ("/budget transferer orientation communication 300 2025 raison", "Pas d'enveloppe « orientation » pour 2025"),
        ("/budget transferer orientation", "Il manque le cercle ou l'enveloppe"),
    ],
)
async def test_transfer_mistakes_get_french_answers_and_change_nothing(
    chat: Chat, bot: Bot, command: str, expected: str
) -> None:
    before = await snapshot(bot)
    reply = await chat(command)
    assert expected in reply
    assert await snapshot(bot) == before


def _treasurers_may_transfer(settings: Settings) -> Settings:
    return dataclasses.replace(settings, budget=dataclasses.replace(settings.budget, treasurers_may_transfer=True))


async def test_transfer_rights_admins_and_treasurers_when_configured(
    chat: Chat, bot: Bot, settings: Settings, clock: FixedClock
) -> None:
    command = "/budget transferer orientation communication 100 renfort"
    before = await snapshot(bot)
    for user in ("alice", "dominique"):  # a member; a treasurer while the setting is off (the default)
        reply = await chat(command, user=user)
        assert reply.startswith("Les transferts entre enveloppes sont réservés aux administrateurs du budget"), reply
        assert "`budget.treasurers_may_transfer = true`" in reply
    assert await snapshot(bot) == before
    assert "100 € transférés" in await chat(command, user="camille")
    await bot.close()

    async with started_bot(_treasurers_may_transfer(settings), clock) as allowing:
        chat = Chat(allowing)
        assert "100 € transférés" in await chat(command, user="dominique")
        assert "réservés aux administrateurs" in await chat(command, user="alice")
        assert "100 € transférés" in await chat(command, user="camille")
        assert (await envelope_row(allowing, "orientation")).amount_cents == 70000
        journal = await chat("/budget journal orientation", user="alice")
        assert "dominique · orientation : 900 € → 800 €, transfert vers communication — renfort" in journal


async def test_opposite_transfers_at_once_do_not_deadlock(bot: Bot) -> None:
    """Both envelopes are locked in the same order whatever the direction (on PostgreSQL, FOR UPDATE)."""
    commands = [
        "/budget transferer tech communication 10 aller" if i % 2 else "/budget transferer communication tech 7 retour"
        for i in range(30)
    ]
    await bot.handle(message("/budget"))  # camille is known before the burst
    replies = await asyncio.gather(*(bot.handle(message(c)) for c in commands))
    texts = [plain(r[0].text) for r in replies]
    assert all("transférés" in t for t in texts), texts
    tech, communication = await envelope_row(bot, "tech"), await envelope_row(bot, "communication")
    assert tech.amount_cents == 300000 - 15 * 1000 + 15 * 700
    assert communication.amount_cents == 250000 + 15 * 1000 - 15 * 700
    assert await count(bot, "audit_event", "action LIKE 'transfer%'") == 60
    await _journal_chains(bot)
    await assert_totals_consistent(bot)


async def _journal_chains(bot: Bot) -> None:
    """Each envelope's transfer events follow each other: every one starts where the one before ended."""
    async with bot.sessions() as session:
        rows = (
            await session.execute(
                select(AuditEvent.envelope_id, AuditEvent.old_cents, AuditEvent.new_cents)
                .where(AuditEvent.action.like("transfer%"))
                .order_by(AuditEvent.id)
            )
        ).all()
    last: dict[int | None, int | None] = {}
    for envelope_id, old, new in rows:
        if envelope_id in last:
            assert old == last[envelope_id]
        last[envelope_id] = new


# --- overruns stay visible -------------------------------------------------------------------------------------


async def test_overview_sums_remainders_and_overruns_apart(chat: Chat, bot: Bot) -> None:
    for day in ("02/11", "03/11", "04/11"):
        await chat(f"/contrib 24h orientation {day}", user="alice")  # 2 160 € on 1 000 €
    await chat("/contrib 10h tech", user="bruno")  # 300 € on 3 000 €
    lines = (await chat("/budget")).splitlines()
    assert (
        "• Orientation (`orientation`) : dépassée de 1 160 € / 1 000 € ▓▓▓▓▓▓▓▓▓▓ 216 % · dépensé 2 160 €, prévu 0 €"
        in (lines)
    )
    # 15 000 € in all, 2 460 € used: the 1 160 € overrun is not netted against the other envelopes' 13 700 € left.
    assert lines[-2] == "Total : reste 13 700 € / 15 000 € · dépensé 2 460 €, prévu 0 €"
    assert lines[-1] == "🚨 Dépassements : 1 160 € au total — Orientation de 1 160 €"
    await chat("/budget definir inter-cae 100")
    await chat("/contrib 5h inter-cae", user="bruno")  # 150 € on 100 €
    lines = (await chat("/budget")).splitlines()
    assert lines[-1] == "🚨 Dépassements : 1 210 € au total — Orientation de 1 160 €, Inter-CAE de 50 €"


async def test_a_small_overrun_reads_above_100_percent(chat: Chat) -> None:
    await chat("/budget definir orientation 1430")
    await chat("/contrib 24h orientation 02/11", user="alice")
    reply = await chat("/contrib 24h orientation 03/11", user="alice")  # 1 440 € on 1 430 €: 100.7 %
    assert "Enveloppe Orientation 2026 : dépassée de 10 € (montant 1 430 €, 101 % engagé)." in reply
    assert "dépassée de 10 € / 1 430 € ▓▓▓▓▓▓▓▓▓▓ 101 %" in await chat("/budget orientation")
    await chat("/budget definir orientation 1440")
    assert "• Orientation (`orientation`) : 0 € / 1 440 € ▓▓▓▓▓▓▓▓▓▓ 100 %" in await chat("/budget orientation")


# --- the closing report ----------------------------------------------------------------------------------------


async def _set_status(bot: Bot, ids: list[int], **values: object) -> None:
    """What the treasurers' commands do (`/contrib facturer`, `payer`), written straight to the rows."""
    async with bot.sessions.begin() as session:
        await session.execute(update(Contribution).where(Contribution.id.in_(ids)).values(**values))


async def _recomputed_report(bot: Bot, year: int) -> dict[str, dict[str, int]]:
    """The report's figures computed the plain way, row by row."""
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    async with bot.sessions() as session:
        envelopes = {e.id: e for e in (await session.scalars(select(Envelope).where(Envelope.year == year))).all()}
        for c in (await session.scalars(select(Contribution))).all():
            if c.envelope_id not in envelopes:
                continue
            f = figures[envelopes[c.envelope_id].slug]
            if c.kind == "intention" and c.status == "planned":
                f["open"] += 1
                f["open_cents"] += max(0, c.amount_cents - c.realized_cents)
            elif c.kind == "declaration" and c.status != "cancelled":
                f["all"] += c.amount_cents
                f[c.status] += c.amount_cents  # declared (to bill), billed or paid
                if c.review == "questioned":
                    f["questioned"] += 1
                    f["questioned_cents"] += c.amount_cents
        for envelope in envelopes.values():
            f = figures[envelope.slug]
            f["over"] = max(0, f["all"] + f["open_cents"] - envelope.amount_cents)
    return figures


def _euros(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", " ")
    return f"{text},{rest:02d} €" if rest else f"{text} €"


async def test_closing_report_figures_equal_a_recomputation_from_the_rows(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech 02/11 Wiki", user="alice")  # 1: paid
    await chat("/contrib 2h tech 03/11 Relecture", user="bruno")  # 2: billed, questioned
    await chat("/contrib 1h30 tech 04/11", user="alice")  # 3: declared
    await chat("/contrib 250€ formation Atelier", user="bruno")  # 4: paid, questioned
    await chat("/contrib prevoir 10h communication Plaquette", user="chloe")  # 5: open intention
    await chat("/contrib 2h communication Plaquette", user="chloe")  # 6: realises 60 € of it
    await chat("/contrib 4h vie-coop", user="alice")  # 7: cancelled
    await chat("/contrib annuler 7", user="alice")
    for day in ("02/11", "03/11"):
        await chat(f"/contrib 24h orientation {day}", user="denis")  # 8, 9: an overrun
    await _set_status(bot, [1, 4], status="paid")
    await _set_status(bot, [2, 8], status="billed")
    await _set_status(bot, [2, 4], review="questioned")

    lines = (await chat("/budget bilan 2026")).splitlines()
    figures = await _recomputed_report(bot, 2026)
    assert lines[0] == "**Bilan du budget 2026** — déclaré (à facturer, facturé, payé)"
    tech = figures["tech"]
    assert (tech["all"], tech["paid"], tech["billed"], tech["declared"]) == (
        19500,
        9000,
        6000,
        4500,
    )
    assert (
        f"• Technique (`tech`) : déclaré {_euros(tech['all'])} (à facturer {_euros(tech['declared'])}, "
        f"facturé {_euros(tech['billed'])}, payé {_euros(tech['paid'])}) · questionnées : 1 (60 €)"
    ) in lines
    com = figures["communication"]
    assert (com["open"], com["open_cents"]) == (1, 24000)
    assert (
        "• Communication (`communication`) : déclaré 60 € (à facturer 60 €, facturé 0 €, payé 0 €) "
        "· intentions ouvertes : 1 (240 €)"
    ) in lines
    assert (
        "• Formation (`formation`) : déclaré 250 € (à facturer 0 €, facturé 0 €, payé 250 €) · questionnées : 1 (250 €)"
        in (lines)
    )
    assert "• Vie coopérative (`vie-coop`) : déclaré 0 € (à facturer 0 €, facturé 0 €, payé 0 €)" in lines
    orientation = figures["orientation"]
    assert orientation["over"] == 44000
    assert (
        "• Orientation (`orientation`) : déclaré 1 440 € (à facturer 720 €, facturé 720 €, payé 0 €) "
        "· 🚨 dépassement 440 €"
    ) in lines
    declared = sum(f["all"] for f in figures.values())
    to_bill = sum(f["declared"] for f in figures.values())
    paid = sum(f["paid"] for f in figures.values())
    billed = sum(f["billed"] for f in figures.values())
    assert (
        f"Total : déclaré {_euros(declared)} (à facturer {_euros(to_bill)}, facturé {_euros(billed)}, "
        f"payé {_euros(paid)}) · intentions ouvertes : 1 (240 €) · questionnées : 2 (310 €) · 🚨 dépassement 440 €"
    ) in lines
    assert lines[-5:] == [  # largest amounts first, then by name
        "Membres avec des déclarations pas encore payées (4) :",
        "• denis : 2 ligne(s), 1 440 €",
        "• bruno : 1 ligne(s), 60 €",
        "• chloe : 1 ligne(s), 60 €",
        "• alice : 1 ligne(s), 45 €",
    ]
    await assert_totals_consistent(bot)


async def test_closing_report_names_at_most_fifteen_members_safely(chat: Chat, bot: Bot) -> None:
    for i in range(17):
        await chat(f"/contrib {i + 1}h tech 0{1 + i % 9}/11", user=f"membre{i:02d}")
    await chat("/contrib 1h tech", user="*gras*")
    lines = (await chat("/budget bilan")).splitlines()
    assert "Membres avec des déclarations pas encore payées (18) :" in lines
    assert lines[lines.index("Membres avec des déclarations pas encore payées (18) :") + 1] == (
        "• membre16 : 1 ligne(s), 510 €"
    )
    assert lines[-1] == "… et 3 autres"
    assert sum(line.startswith("• membre") for line in lines) == 15
    async with bot.sessions() as session:
        assert await session.scalar(select(Member.id).where(Member.username == "*gras*")) is not None


async def test_closing_report_with_cents(chat: Chat) -> None:
    """Amounts to the cent, unpaid, through the database's sums (PostgreSQL sums a bigint as a numeric)."""
    await chat("/contrib 45min tech Relecture", user="alice")
    await chat("/contrib 1h20 25€/h tech", user="bruno")
    report = await chat("/budget bilan 2026")
    assert "22,50 €" in report and "33,33 €" in report and "55,83 €" in report, report


async def test_closing_report_of_a_year_without_envelopes(chat: Chat) -> None:
    assert "Aucune enveloppe pour 2024" in await chat("/budget bilan 2024")


# --- closing the year ------------------------------------------------------------------------------------------


async def test_closing_asks_for_confirmation_when_intentions_are_open_or_lines_unbilled(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h tech", user="alice")
    await chat("/contrib prevoir 10h communication", user="bruno")
    before = await snapshot(bot)
    reply = await chat("/budget cloturer 2026")
    assert reply.startswith("**Bilan du budget 2026** — déclaré (à facturer, facturé, payé)")
    assert reply.splitlines()[-1] == (
        "⚠️ L'année 2026 n'est pas encore clôturée : intentions ouvertes : 1 ; déclarations pas encore facturées : 1. "
        "Pour clôturer quand même : `/budget cloturer 2026 confirmer`."
    )
    assert await snapshot(bot) == before
    assert "Contribution n°3 enregistrée" in await chat("/contrib 1h tech", user="alice")  # still open
    reply = await chat("/budget cloturer 2026 confirmer")
    assert reply.startswith("🔒 L'année 2026 est clôturée")
    assert "**Bilan du budget 2026** — déclaré" in reply
    assert "L'année 2026 est clôturée : elle ne prend plus" in await chat("/contrib 1h tech", user="alice")
    assert "**Bilan du budget 2026** (clôturé)" in await chat("/budget bilan")
    assert await count(bot, "audit_event", "action = 'close_year'") == 1


async def test_closing_without_pending_lines_closes_at_once(chat: Chat, bot: Bot) -> None:
    await chat("/budget definir tech 1000 2025")
    await chat("/contrib 2h tech 12/03/2025", user="alice")
    await _set_status(bot, [1], status="billed")
    reply = await chat("/budget cloturer 2025")
    assert reply.startswith("🔒 L'année 2025 est clôturée")
    assert "• alice : 1 ligne(s), 60 €" in reply  # billed, not paid yet
    assert "camille · année 2025 clôturée" in await chat("/budget journal 2025")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/budget cloturer 2024", "Il n'y a aucune enveloppe en 2024 : rien à clôturer."),
        ("/budget cloturer 2027", "On ne peut pas clôturer 2027"),
        ("/budget cloturer 2026 peut-être", "Je ne comprends pas la fin de la commande : « peut-être »"),
    ],
)
async def test_closing_refusals(chat: Chat, bot: Bot, command: str, expected: str) -> None:
    before = await snapshot(bot)
    assert expected in await chat(command)
    assert await snapshot(bot) == before


async def test_closing_is_for_admins(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    assert "réservée aux administrateurs" in await chat("/budget cloturer 2026 confirmer", user="alice")
    assert await snapshot(bot) == before


# --- carrying envelopes over ------------------------------------------------------------------------------------


async def test_next_year_lists_the_envelopes_not_carried_over(chat: Chat) -> None:
    reply = await chat("/budget 2027")
    assert (
        reply.splitlines()[0]
        == "Aucune enveloppe pour 2027. Un administrateur peut en définir : `/budget definir tech 3000 2027`."
    )
    assert (
        "Pas encore reconduites de 2026 à 2027 : Technique (`tech`), Communication (`communication`), "
        "Vie coopérative (`vie-coop`), Santé au travail (`sante`), Orientation (`orientation`), "
        "Formation (`formation`), Inter-CAE (`inter-cae`)."
    ) in reply
    await chat("/budget definir tech 3500 2027")
    reply = await chat("/budget 2027")
    assert "• Technique (`tech`) : 3 500 € / 3 500 €" in reply
    assert "Pas encore reconduites de 2026 à 2027 : Communication (`communication`)," in reply
    assert "Technique (`tech`), Communication" not in reply
    assert "Pas encore reconduites" not in await chat("/budget")  # 2025 had no envelopes


async def test_roll_over_raises_amounts_exactly_to_the_cent(chat: Chat, bot: Bot) -> None:
    await chat("/budget definir tech 1234,56")
    await chat("/budget definir orientation 1000,50")
    await chat("/budget taux tech 28")
    await chat("/budget definir communication 4000 2027")  # already there: left alone
    reply = await chat("/budget reconduire 2027 +3%")
    lines = reply.splitlines()
    assert lines[0] == (
        "Enveloppes 2027 reconduites depuis 2026, montants +3 % (arrondis au centime le plus proche, "
        "le demi-centime vers le haut) :"
    )
    assert "• Technique (`tech`) : 1 234,56 € → 1 271,60 €" in lines  # 1 271,5968
    assert "• Orientation (`orientation`) : 1 000,50 € → 1 030,52 €" in lines  # 1 030,515: half a cent up
    assert "• Santé au travail (`sante`) : 1 500 € → 1 545 €" in lines
    assert lines[-1] == "Déjà présentes en 2027, laissées telles quelles : communication."
    tech = await envelope_row(bot, "tech", 2027)
    old = await envelope_row(bot, "tech", 2026)
    assert (tech.amount_cents, tech.rate_cents, tech.circle_id, tech.mode) == (127160, 2800, old.circle_id, old.mode)
    formation, formation_2026 = await envelope_row(bot, "formation", 2027), await envelope_row(bot, "formation")
    assert (formation.flat_min_cents, formation.flat_max_cents, formation.mode) == (
        formation_2026.flat_min_cents,
        formation_2026.flat_max_cents,
        formation_2026.mode,
    )
    assert (await envelope_row(bot, "communication", 2027)).amount_cents == 400000
    assert await count(bot, "audit_event", "action = 'rollover' AND year = 2027") == 6
    assert "camille · enveloppe tech reconduite de 2026 : 1 234,56 € → 1 271,60 € (+3 %)" in await chat(
        "/budget journal 2027"
    )
    assert "Pas encore reconduites" not in await chat("/budget 2027")

    before = await snapshot(bot)
    assert "rien à reconduire" in await chat("/budget reconduire 2027")
    assert await snapshot(bot) == before

    reply = await chat("/budget reconduire 2028 -5%")
    assert "• Technique (`tech`) : 1 271,60 € → 1 208,02 €" in reply  # 1 208,02
    assert "• Orientation (`orientation`) : 1 030,52 € → 978,99 €" in reply  # 978,994
    assert "• Communication (`communication`) : 4 000 € → 3 800 €" in reply
    assert (await envelope_row(bot, "orientation", 2028)).amount_cents == 97899
    reply = await chat("/budget reconduire 2029")
    assert "Enveloppes 2029 reconduites depuis 2028 :" in reply
    assert "• Technique (`tech`) : 1 208,02 € → 1 208,02 €" in reply


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/budget reconduire 2026", "Aucune enveloppe en 2025 à reconduire en 2026"),
        ("/budget reconduire 2027 -100%", "Le pourcentage doit être au-dessus de -100 %"),
        ("/budget reconduire 2027 +300%", "au plus +100 %"),
        ("/budget reconduire 2027 +3,555%", "Je ne comprends pas la fin de la commande"),
        ("/budget reconduire 2027 trois", "Je ne comprends pas la fin de la commande"),
    ],
)
async def test_roll_over_refusals(chat: Chat, bot: Bot, command: str, expected: str) -> None:
    before = await snapshot(bot)
    assert expected in await chat(command)
    assert await snapshot(bot) == before


async def test_roll_over_is_for_admins(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    assert "réservée aux administrateurs" in await chat("/budget reconduire 2027 +3%", user="alice")
    assert await snapshot(bot) == before


async def test_closing_report_reads_only_the_covering_index(bot: Bot) -> None:
    """The report's aggregates of the lines not paid yet, as SQLite runs them, read the covering index alone (no
    table, no sort); their time is in the README's benchmarks (`/budget bilan` over 100,000 declarations)."""
    if bot.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL runs one GROUPING SETS query instead; its figures are benchmarked")
    of_year = Contribution.envelope_id.in_([1, 2])
    unpaid = [ContributionStatus.DECLARED, ContributionStatus.BILLED]
    async with bot.sessions() as session:
        for statement in unpaid_statements(of_year, unpaid):
            sql = statement.compile(bot.engine, compile_kwargs={"literal_binds": True})
            plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
            details = " ".join(str(row[-1]) for row in plan)
            assert "COVERING INDEX ix_contribution_envelope_id_status_review" in details, details
            if "member_id" not in str(statement.selected_columns[0]):
                assert "TEMP B-TREE" not in details, details
