"""`/contrib questionner` and `/contrib confirmer`: the look taken afterwards at a declaration.

Members are trusted first: a declaration counts as soon as it is made. Any member may question it afterwards, in the
open: the question is posted in the contribution channel, mentioning the owner and those who answer for the
envelope, and the discussion happens in that post's thread. The owner, a keeper or an admin confirms it; cancelling
it (`/contrib annuler`) closes the question too, through `close_questions_on_cancel`.
"""

from __future__ import annotations

from chatbot.commandkit import Arg, opt
from chatbot.context import Context
from chatbot.grammar.arguments import EnvelopeConverter, NumberConverter
from chatbot.grammar.base import FreeText
from chatbot.services.questions import PostPlace, QuestionService, QuestionView
from chatbot.text import chat_safe, mention
from chatbot.transport.base import Outgoing
from chatbot.values import EnvelopeRef
from commands.budget import group as budget_group
from commands.common import (
    PAGE_LINES,
    PageConverter,
    command_text,
    contribution_line,
    more_line,
    page_words,
    pages,
)
from commands.contrib import group

REASON_PREVIEW = 300


def questions(ctx: Context) -> QuestionService:
    services = ctx.services
    return QuestionService(services.session, services.settings, services.clock, services.budget)


@group.command(
    "questionner",
    aliases=("question", "questionne", "interroger"),
    args=(Arg("number", NumberConverter()),),
    rest=Arg("reason", FreeText("reason")),
)
async def ask(ctx: Context, number: int, reason: str) -> None:
    view = await questions(ctx).ask(ctx.member, number, reason)
    line = view.contribution
    names = [line.username, *view.keepers]
    mentions = ", ".join(dict.fromkeys(mention(name) for name in names if name != ctx.member.username))
    text = ctx.t(
        "review.asked_post",
        asker=chat_safe(ctx.member.username, 40),
        id=line.id,
        owner=mention(line.username),
        envelope=chat_safe(line.envelope_name, 60),
        year=line.year,
        line=contribution_line(ctx, line, show_member=False, show_envelope=True),
        reason=chat_safe(view.reason, REASON_PREVIEW),
        mentions=mentions or mention(line.username),
        confirmers=_confirmers(ctx, view),
    )
    channel = ctx.settings.budget.contribution_channel
    if channel and channel != ctx.message.room.name:
        ctx.outgoing.append(Outgoing(text=text, room_name=channel, is_reply=False, id=view.post_id))
        ctx.reply(ctx.t("review.asked", id=line.id, where=ctx.t("review.in_channel", channel=channel)))
    else:
        room = ctx.message.room
        ctx.outgoing.append(Outgoing(text=text, room_id=room.id, room_name=room.name, is_reply=False, id=view.post_id))
        ctx.reply(ctx.t("review.asked", id=line.id, where=ctx.t("review.in_this_room")))


def _confirmers(ctx: Context, view: QuestionView) -> str:
    """`son auteur, dominique ou un administrateur`: who may close the question by confirming."""
    keepers = ", ".join(chat_safe(name, 40) for name in view.keepers)
    return ctx.t("review.confirmers_keepers", keepers=keepers) if keepers else ctx.t("review.confirmers")


@group.command(
    "confirmer",
    aliases=("confirme", "valider", "garder"),
    args=(Arg("number", NumberConverter()),),
    rest=opt("note", FreeText("note")),
)
async def confirm(ctx: Context, number: int, note: str) -> None:
    service = questions(ctx)
    closed = await service.confirm(ctx.member, number, note, is_admin=ctx.is_admin)
    askers = ", ".join(dict.fromkeys(mention(q.asked_by) for q in closed))
    text = ctx.t("review.confirmed_post", who=chat_safe(ctx.member.username, 40), id=number, askers=askers)
    if note.strip():
        text += "\n" + ctx.t("review.note", note=chat_safe(note, REASON_PREVIEW))
    in_thread = await _say_in_threads(ctx, service, closed, text)
    if not in_thread:
        ctx.reply(ctx.t("review.confirmed", id=number, count=len(closed)))


async def close_questions_on_cancel(ctx: Context, contribution_id: int) -> list[QuestionView]:
    """For `/contrib annuler`: call it after the cancellation succeeded, in the same handler. It closes the open
    questions about that declaration as "cancelled" (audited) and says so in each question's thread."""
    service = questions(ctx)
    closed = await service.close_for_cancellation(ctx.member, contribution_id)
    if closed:
        text = ctx.t("review.cancelled_post", who=chat_safe(ctx.member.username, 40), id=contribution_id)
        await _say_in_threads(ctx, service, closed, text)
    return closed


async def _say_in_threads(ctx: Context, service: QuestionService, closed: list[QuestionView], text: str) -> bool:
    """Post `text` in the thread of each question; True when one of them is the thread the command was typed in
    (that post then answers the member too)."""
    answered_here = False
    for question in closed:
        place = await service.post_place(question.post_id)
        if place is None:
            continue
        if question.post_id == ctx.message.thread_id:
            answered_here = True
        ctx.outgoing.append(_thread_post(place, question.post_id, text))
    return answered_here


def _thread_post(place: PostPlace, post_id: str | None, text: str) -> Outgoing:
    return Outgoing(text=text, room_id=place.room_id, room_name=place.room_name, thread_id=post_id, is_reply=False)


@budget_group.command(
    "questions",
    aliases=("questionnees", "question"),
    args=(opt("envelope", EnvelopeConverter()), opt("page", PageConverter())),
    any_order=True,
)
async def open_questions(ctx: Context, envelope: EnvelopeRef | None, page: int | None) -> None:
    page = page or 1
    slug = envelope.slug if envelope else None
    found = await questions(ctx).open_page(envelope_slug=slug, offset=(page - 1) * PAGE_LINES, limit=PAGE_LINES)

    def command(page: int) -> str:
        return command_text("/budget questions", slug or "", page_words(page))

    if not found.questions:
        if found.count:
            last = pages(found.count)
            ctx.reply(ctx.t("review.list_beyond", pages=last, command=command(last)))
        else:
            ctx.reply(ctx.t("review.list_none_envelope", envelope=slug) if slug else ctx.t("review.list_none"))
        return
    header = ctx.t("review.list_header", count=found.count)
    if slug:
        header = ctx.t("review.list_header_envelope", count=found.count, envelope=slug)
    if page > 1:
        header += ctx.t("review.page", page=page, pages=pages(found.count))
    lines = [header]
    for question in found.questions:
        line = question.contribution
        lines.append(
            ctx.t(
                "review.list_line",
                id=line.id,
                owner=chat_safe(line.username, 40),
                envelope=line.envelope_slug,
                amount=ctx.fmt.money(line.amount_cents),
                date=ctx.fmt.date_short(question.asked_at.astimezone(ctx.settings.timezone).date()),
                asker=chat_safe(question.asked_by, 40),
                reason=chat_safe(question.reason, 120),
            )
        )
    more = found.count - (page - 1) * PAGE_LINES - len(found.questions)
    if more > 0:
        lines.append(more_line(ctx, more, command(page + 1)))
    ctx.reply("\n".join(lines))
