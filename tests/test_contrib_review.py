"""Questioning a declaration afterwards (/contrib questionner, /contrib confirmer, /budget questions), the marks of
list lines, and pages of /contrib liste: through the real bot, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, text

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import AuditEvent, Contribution, ContributionQuestion, Member
from chatbot.services import Services
from chatbot.services.questions import QuestionService
from chatbot.transport.base import Outgoing
from tests.conftest import Chat, plain, started_bot
from tests.helpers import assert_totals_consistent, count, envelope_row, snapshot

CHANNEL = "budget-contributif"


def posts_in(out: list[Outgoing]) -> list[Outgoing]:
    return [o for o in out if not o.is_reply]


def replies(out: list[Outgoing]) -> str:
    return "\n".join(plain(o.text) for o in out if o.is_reply)


async def questions_of(bot: Bot, contribution_id: int) -> list[ContributionQuestion]:
    async with bot.sessions() as session:
        query = select(ContributionQuestion).where(ContributionQuestion.contribution_id == contribution_id)
        return list((await session.scalars(query.order_by(ContributionQuestion.id))).all())


async def contribution(bot: Bot, contribution_id: int) -> Contribution:
    async with bot.sessions() as session:
        row = await session.get(Contribution, contribution_id)
        assert row is not None
        return row


async def audit_actions(bot: Bot) -> list[str]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all())


async def set_status(bot: Bot, contribution_id: int, status: str) -> None:
    """What the treasurers' commands do to a declaration (invoiced, paid), set directly for the list marks."""
    async with bot.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE contribution SET status = :s WHERE id = :i"), {"s": status, "i": contribution_id}
        )


async def test_questioning_posts_in_the_channel_mentioning_owner_and_keepers(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech Relecture du wiki", user="bruno")
    before = await envelope_row(bot, "tech")
    out = await chat.send("/contrib questionner 1 Le taux me paraît élevé pour une relecture", user="alice")

    [post] = posts_in(out)
    assert post.room_name == CHANNEL and post.thread_id is None and post.id == "question-1"
    shown = plain(post.text)
    assert shown.startswith("❓ alice questionne la contribution n°1 de @bruno, enveloppe Technique 2026")
    assert "3 h × 30 €/h = 90 € · ❓ questionnée · Relecture du wiki" in shown
    assert "Raison : « Le taux me paraît élevé pour une relecture »" in shown
    assert "@bruno, @dominique :" in shown  # the owner and the tech circle's keeper
    assert "`/contrib confirmer 1` (son auteur, dominique ou un administrateur)" in shown
    assert replies(out).startswith("❓ Contribution n°1 questionnée : la question est publiée dans #budget-contributif")

    [question] = await questions_of(bot, 1)
    assert question.post_id == "question-1" and question.closed_at is None and question.outcome is None
    assert question.reason == "Le taux me paraît élevé pour une relecture"
    assert (await contribution(bot, 1)).review == "questioned"
    assert (await audit_actions(bot))[-1] == "question"
    # A questioned declaration still counts in its envelope.
    after = await envelope_row(bot, "tech")
    assert (after.spent_cents, after.committed_cents) == (before.spent_cents, before.committed_cents) == (9000, 0)
    await assert_totals_consistent(bot)
    assert "n°1 · 26/11/2026 · tech · 3 h × 30 €/h = 90 € · ❓ questionnée · Relecture" in await chat(
        "/contrib liste", user="bruno"
    )
    assert "contribution de 90 € questionnée (n°1) — Le taux me paraît élevé" in await chat("/budget journal")


async def test_an_envelope_of_no_circle_mentions_the_treasurers(chat: Chat) -> None:
    await chat("/contrib 2h inter-cae Rencontre", user="bruno")
    out = await chat.send("/contrib questionner 1 Quelle rencontre ?", user="alice")
    [post] = posts_in(out)
    assert "@bruno, @dominique :" in plain(post.text)


async def test_the_asker_is_not_mentioned(chat: Chat) -> None:
    await chat("/contrib 2h tech Tri", user="bruno")
    out = await chat.send("/contrib questionner 1 Lequel ?", user="dominique")
    [post] = posts_in(out)
    assert "@bruno :" in plain(post.text) and "@dominique" not in plain(post.text)


async def test_refusals_change_nothing(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech Relecture", user="bruno")
    await chat("/contrib prevoir 20h tech Refonte", user="bruno")
    await chat("/contrib 1h tech Erreur", user="bruno")
    await chat("/contrib annuler 3", user="bruno")
    await chat("/contrib questionner 1 Pourquoi 3 h ?", user="alice")
    before = await snapshot(bot)
    asked = await count(bot, "contribution_question")

    missing = await chat("/contrib questionner 1", user="alice")
    assert missing.startswith("Il manque la raison.")
    assert "Exemple : `/contrib questionner 12 Le taux me paraît élevé pour une relecture`" in missing
    assert (await chat("/contrib questionner 99 Qui ?", user="alice")).startswith("Aucune contribution n°99.")
    assert (await chat("/contrib questionner 2 Trop ?", user="alice")).startswith("La n°2 est une intention")
    assert (await chat("/contrib questionner 3 Et ?", user="alice")).startswith("La contribution n°3 est annulée")
    again = await chat("/contrib questionner 1 Encore ?", user="alice")
    assert again.startswith("Vous avez déjà une question ouverte sur la contribution n°1")
    long_reason = await chat("/contrib questionner 1 " + "pourquoi " * 80, user="bruno")
    assert long_reason.startswith("Raison trop longue (au plus 500 caractères)")
    not_asked = await chat("/contrib confirmer 2", user="bruno")
    assert not_asked.startswith("Personne n'a questionné la contribution n°2")
    not_allowed = await chat("/contrib confirmer 1", user="alice")
    assert not_allowed.startswith("La contribution n°1 est celle de bruno : seuls son auteur, dominique ou un admin")

    assert await snapshot(bot) == before
    assert await count(bot, "contribution_question") == asked


async def test_a_second_member_may_ask_too_and_one_confirmation_closes_both(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech Relecture", user="bruno")
    await chat("/contrib questionner 1 Pourquoi 3 h ?", user="alice")
    out = await chat.send("/contrib questionner 1 Et la date ?", user="chloe")
    assert posts_in(out)[0].id == "question-2"

    out = await chat.send("/contrib confirmer 1 Vu en réunion de cercle", user="dominique")  # the tech keeper
    thread_posts = posts_in(out)
    assert [(p.room_name, p.thread_id) for p in thread_posts] == [(CHANNEL, "question-1"), (CHANNEL, "question-2")]
    shown = plain(thread_posts[0].text)
    assert shown.startswith("✔️ dominique confirme la contribution n°1 : la question est close (@alice, @chloe")
    assert "Note : « Vu en réunion de cercle »" in shown
    assert replies(out).startswith("✔️ Contribution n°1 confirmée ; questions closes : 2.")

    questions = await questions_of(bot, 1)
    assert [(q.outcome, q.note) for q in questions] == [("confirmed", "Vu en réunion de cercle")] * 2
    assert all(q.closed_at is not None for q in questions)
    assert (await contribution(bot, 1)).review == "confirmed"
    assert (await audit_actions(bot))[-1] == "question_confirmed"
    assert "90 € · ✔️ confirmée · Relecture" in await chat("/contrib liste", user="bruno")
    assert (await chat("/contrib confirmer 1", user="bruno")).startswith("Personne n'a questionné la contribution n°1")
    # Confirmed, it may be questioned again: a new look afterwards.
    await chat("/contrib questionner 1 Finalement ?", user="alice")
    assert (await contribution(bot, 1)).review == "questioned"


async def test_the_owner_and_an_admin_may_confirm(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 2h communication Affiches", user="bruno")
    await chat("/contrib 1h communication Flyers", user="bruno")
    await chat("/contrib questionner 1 Lesquelles ?", user="alice")
    await chat("/contrib questionner 2 Combien ?", user="alice")
    assert (await chat("/contrib confirmer 1", user="bruno")).startswith("✔️ Contribution n°1 confirmée")
    assert (await chat("/contrib confirmer 2", user="camille")).startswith("✔️ Contribution n°2 confirmée")
    assert [q.closed_by_id is not None for q in [*await questions_of(bot, 1), *await questions_of(bot, 2)]] == [
        True,
        True,
    ]


async def test_without_contribution_channel_the_question_is_posted_where_typed(
    settings: Settings, clock: FixedClock
) -> None:
    quiet = dataclasses.replace(settings, budget=dataclasses.replace(settings.budget, contribution_channel=None))
    async with started_bot(quiet, clock) as bot:
        chat = Chat(bot)
        await chat("/contrib 3h tech Relecture", user="bruno")
        out = await chat.send("/contrib questionner 1 Pourquoi ?", user="alice", room="cercle-tech")
        [post] = posts_in(out)
        assert (post.room_id, post.room_name, post.thread_id, post.id) == (
            "room-cercle-tech",
            "cercle-tech",
            None,
            "question-1",
        )
        assert "la question est publiée dans ce salon" in replies(out)
        # Without an outbox nor a channel, nothing tells where that post is: the confirmation answers the member.
        out = await chat.send("/contrib confirmer 1", user="bruno")
        assert posts_in(out) == [] and "confirmée" in replies(out)


async def test_the_thread_is_found_through_the_outbox(settings: Settings, clock: FixedClock) -> None:
    from chatbot.transport.rocketchat.outbox import Outbox

    quiet = dataclasses.replace(settings, budget=dataclasses.replace(settings.budget, contribution_channel=None))
    async with started_bot(quiet, clock) as bot:
        bot.use_outbox(Outbox(bot.sessions, bot.clock).persist_many)
        chat = Chat(bot)
        await chat("/contrib 3h tech Relecture", user="bruno")
        await chat("/contrib questionner 1 Pourquoi ?", user="alice", room="cercle-tech")
        out = await chat.send("/contrib confirmer 1", user="bruno")
        [post] = posts_in(out)
        assert (post.room_id, post.thread_id) == ("room-cercle-tech", "question-1")


async def test_the_cancel_hook_closes_questions(chat: Chat, bot: Bot) -> None:
    """`close_for_cancellation`, which the cancel path calls in its transaction."""
    await chat("/contrib 3h tech Relecture", user="bruno")
    await chat("/contrib questionner 1 Pourquoi ?", user="alice")
    async with bot.sessions() as session, session.begin():
        services = Services.bind(session, bot.settings, bot.clock)
        bruno = await services.members.by_username("bruno")
        await services.contributions.cancel(bruno, 1, is_admin=False)
        service = QuestionService(session, bot.settings, bot.clock, services.budget)
        [closed] = await service.close_for_cancellation(bruno, 1)
        assert (closed.outcome, closed.post_id) == ("cancelled", "question-1")
        assert await service.close_for_cancellation(bruno, 1) == []
    [question] = await questions_of(bot, 1)
    assert question.outcome == "cancelled" and question.closed_at is not None
    assert (await audit_actions(bot))[-2:] == ["cancel", "question_cancelled"]
    assert "Aucune question ouverte" in await chat("/budget questions")
    async with bot.sessions() as session:
        assert await session.scalar(select(Member.id).where(Member.username == "bruno")) == question.closed_by_id


async def test_cancelling_a_questioned_declaration_closes_its_question(chat: Chat, bot: Bot) -> None:
    await chat("/contrib 3h tech Relecture", user="bruno")
    await chat("/contrib questionner 1 Pourquoi ?", user="alice")
    await chat("/contrib annuler 1 doublon", user="bruno")
    [question] = await questions_of(bot, 1)
    assert question.outcome == "cancelled"
    assert "Aucune question ouverte" in await chat("/budget questions")


async def test_budget_questions_lists_open_ones_by_page(chat: Chat) -> None:
    assert (await chat("/budget questions")).startswith("Aucune question ouverte")
    for n in range(17):
        await chat(f"/contrib {n + 1}min tech Tâche {n}", user="bruno")
        await chat(f"/contrib questionner {n + 1} Pourquoi la tâche {n} ?", user="alice")
    await chat("/contrib 1h communication Affiches", user="bruno")
    await chat("/contrib questionner 18 Lesquelles ?", user="alice")
    await chat("/contrib confirmer 2", user="bruno")

    first = await chat("/budget questions")
    assert first.startswith("**Questions ouvertes** (17), la plus ancienne d'abord")
    assert "• n°1 de bruno · tech · 0,50 € · questionnée le 26/11/2026 par alice : « Pourquoi la tâche 0 ? »" in first
    assert "n°2 " not in first
    assert first.count("\n• ") == 15
    assert first.endswith("… et 2 autres : `/budget questions suite 2`")
    second = await chat("/budget questions suite 2")
    assert "— page 2/2" in second and second.count("\n• ") == 2 and "n°17 de bruno" in second
    assert "n°18 de bruno · communication" in second and "autres" not in second
    assert "Les questions ouvertes tiennent en 2 page(s) ; la dernière : `/budget questions suite 2`" in await chat(
        "/budget questions suite 3"
    )
    only = await chat("/budget questions communication")
    assert only.startswith("**Questions ouvertes, enveloppe communication** (1)")
    assert "Aucune question ouverte sur l'enveloppe formation." in await chat("/budget questions formation")


async def test_list_lines_mark_billed_paid_questioned_confirmed(chat: Chat, bot: Bot) -> None:
    for n in range(4):
        await chat(f"/contrib {n + 1}h tech Tâche {n}", user="bruno")
    await set_status(bot, 1, "billed")
    await set_status(bot, 2, "paid")
    await chat("/contrib questionner 2 Payée trop vite ?", user="alice")
    await chat("/contrib questionner 3 Pourquoi ?", user="alice")
    await chat("/contrib confirmer 3", user="bruno")
    listing = await chat("/contrib liste", user="bruno")
    assert "• n°1 · 26/11/2026 · tech · 1 h × 30 €/h = 30 € · facturée · Tâche 0" in listing
    assert "• n°2 · 26/11/2026 · tech · 2 h × 30 €/h = 60 € · payée · ❓ questionnée · Tâche 1" in listing
    assert "• n°3 · 26/11/2026 · tech · 3 h × 30 €/h = 90 € · ✔️ confirmée · Tâche 2" in listing
    assert "• n°4 · 26/11/2026 · tech · 4 h × 30 €/h = 120 € · Tâche 3" in listing


async def test_liste_says_what_it_leaves_out_and_how_to_see_it(chat: Chat) -> None:
    for n in range(17):
        await chat(f"/contrib {n + 1}min tech Tâche {n}", user="bruno")
    await chat("/contrib 1h communication Affiches", user="alice")

    first = await chat("/contrib liste tech")
    assert first.startswith("Contributions (enveloppe tech · 2026) : 17, total déclaré")
    assert first.count("\n• ") == 15 and "n°17 ·" in first and "n°3 ·" in first and "n°2 ·" not in first
    assert first.endswith("… et 2 autres : `/contrib liste tech 2026 suite 2` (tout, en CSV : `/contrib export`)")
    second = await chat("/contrib liste tech 2026 suite 2")
    assert "— page 2/2" in second and second.count("\n• ") == 2 and "n°2 ·" in second and "n°1 ·" in second
    assert "autres" not in second
    assert await chat("/contrib liste suite 2 tech 2026") == second  # any order
    assert "la dernière : `/contrib liste tech 2026 suite 2`" in await chat("/contrib liste tech suite 9")

    mine = await chat("/contrib liste @bruno novembre", user="alice")
    assert mine.endswith("… et 2 autres : `/contrib liste @bruno 11/2026 suite 2` (tout, en CSV : `/contrib export`)")
    assert (await chat("/contrib liste @bruno 11/2026 suite", user="alice")).count("\n• ") == 2
    own = await chat("/contrib liste moi", user="bruno")
    assert own.endswith("`/contrib liste moi 2026 suite 2` (tout, en CSV : `/contrib export`)")


async def test_page_words_that_could_be_a_year_are_asked_about(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib liste suite 2025")
    assert reply.startswith("« suite 2025 » : la page 2025, ou la suite de l'année 2025 ?")
    assert "`/contrib liste 2025 suite 2`" in reply
    assert (await chat("/contrib liste suite 0")).startswith("« suite 0 » : quelle page ?")
