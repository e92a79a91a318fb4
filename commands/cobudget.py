"""`/cobudget`: co-budget rounds. An admin opens a round (an amount, a date for submissions, a date for the vote);
members submit projects and say they take part; when the vote opens each participant has an equal share to give
to projects; at the close, projects at or above their minimum are funded and the rest goes back.

The opening, the start of the vote and the result are top-level posts of the round's room (`[cobudget] room`, or
the room where it was opened); answers to a member go where they typed. The start of the vote and the close are
scheduled tasks (rows), so they survive a restart and fire late rather than never.
"""

from __future__ import annotations

import logging

from chatbot.commandkit import Arg, CommandGroup, Permission, opt
from chatbot.context import Context
from chatbot.db.models import CobudgetPhase, CobudgetRound, Member
from chatbot.errors import DomainError, PermissionDenied
from chatbot.grammar.arguments import NameConverter, NumberConverter
from chatbot.grammar.base import FreeText
from chatbot.grammar.cobudget_arguments import (
    CobudgetAmountConverter,
    MinimumConverter,
    Phases,
    PhasesConverter,
)
from chatbot.scheduler import Firing, TaskHandler
from chatbot.services import Services
from chatbot.services.cobudget import TASK_CLOSE, TASK_FUNDING, TASK_REMINDER, CobudgetService
from chatbot.text import chat_safe, first_names, mention, slug
from chatbot.transport.base import Outgoing, Room, RoomKind
from commands.cobudget_text import TITLE_PREVIEW, CobudgetText

log = logging.getLogger(__name__)

WAITING_SHOWN = 15  # participants named in the reminder; the others are counted

group = CommandGroup("cobudget", aliases=("co-budget",))


def service(services: Services) -> CobudgetService:
    return CobudgetService(services.session, services.settings, services.clock, services.tasks)


def _text(ctx: Context | Firing) -> CobudgetText:
    return CobudgetText(ctx.t, ctx.fmt, ctx.settings)


def _room(round_: CobudgetRound) -> Room:
    return Room(round_.room_id or "", round_.room_name, RoomKind(round_.room_kind))


def _post(round_: CobudgetRound, text: str) -> Outgoing:
    return Outgoing(text=text, room_id=round_.room_id, room_name=round_.room_name, is_reply=False)


def _in_round_room(ctx: Context, round_: CobudgetRound, text: str) -> None:
    """What members must see is a top-level post of the round's room; typed in a thread or elsewhere, the member
    also gets a short acknowledgement where they typed."""
    here = ctx.message.room.id == round_.room_id
    ctx.outgoing.append(
        Outgoing(text=text, room_id=round_.room_id, room_name=round_.room_name, thread_id=None, is_reply=here)
    )
    if not here:
        ctx.reply(ctx.t("cobudget.done_elsewhere", room=round_.room_name or "?"))
    elif ctx.message.thread_id is not None:
        ctx.reply(ctx.t("cobudget.posted_in_room", room=round_.room_name or "?"))


async def _check_visible(ctx: Context, round_: CobudgetRound) -> None:
    """A round of a private room is read and acted on only there, or in a direct message by one of its members."""
    if not await ctx.may_see(_room(round_)):
        raise PermissionDenied("cobudget_private", number=round_.id)


async def _active(ctx: Context) -> CobudgetRound:
    round_ = await service(ctx.services).current()
    await _check_visible(ctx, round_)
    return round_


# --- watching --------------------------------------------------------------------------------------------------


@group.command(args=(opt("number", NumberConverter()),))
async def show(ctx: Context, number: int | None) -> None:
    cobudget = service(ctx.services)
    if number is not None:
        round_ = await cobudget.get(number)
    else:
        found = await cobudget.active() or await cobudget.latest()
        if found is None:
            raise DomainError("cobudget_no_round")
        round_ = found
    await _check_visible(ctx, round_)
    ctx.reply(_text(ctx).state(round_, await cobudget.projects(round_), ctx.clock.now()))


@group.command("voir", aliases=("detail",), args=(Arg("number", NumberConverter()),))
async def show_project(ctx: Context, number: int) -> None:
    cobudget = service(ctx.services)
    project = await cobudget.project(number)
    await _check_visible(ctx, await cobudget.get(project.round_id))
    ctx.reply(_text(ctx).project_detail(project, await cobudget.member_name(project.author_id)))


@group.command("moi", aliases=("me", "solde"))
async def mine(ctx: Context) -> None:
    cobudget = service(ctx.services)
    round_ = await _active(ctx)
    ctx.reply(_text(ctx).standing(round_, await cobudget.standing(round_, ctx.member)))


# --- opening and submissions -----------------------------------------------------------------------------------


@group.command(
    "ouvrir",
    aliases=("lancer", "open"),
    args=(Arg("name", NameConverter()), Arg("amount", CobudgetAmountConverter()), Arg("phases", PhasesConverter())),
    permission=Permission.ADMIN,
)
async def open_round(ctx: Context, name: str, amount: int, phases: Phases) -> None:
    room = ctx.message.room
    configured = ctx.settings.cobudget.room
    if configured and slug(room.name or "") != slug(configured):
        raise DomainError("cobudget_open_in_room", room=configured)
    if room.is_direct:
        raise DomainError("cobudget_open_not_direct")
    cobudget = service(ctx.services)
    await cobudget.one_opening_at_a_time()  # before reading the active round: a concurrent opening is seen
    existing = await cobudget.active()
    if existing is not None and not await ctx.may_see(_room(existing)):
        raise DomainError("cobudget_round_active_private", number=existing.id)  # its name stays in its room
    round_ = await cobudget.open(
        ctx.member,
        name,
        amount,
        phases.submit_until,
        phases.vote_until,
        room_id=room.id,
        room_name=room.name,
        room_kind=room.kind.value,
    )
    _in_round_room(ctx, round_, _text(ctx).opened(round_, ctx.member.username))


@group.command(
    "projet",
    aliases=("proposer", "soumettre", "project"),
    args=(
        Arg("title", NameConverter()),
        Arg("target", CobudgetAmountConverter()),
        opt("minimum", MinimumConverter()),
    ),
    rest=opt("description", FreeText("description", guarded=True)),
)
async def submit(ctx: Context, title: str, target: int, minimum: int | None, description: str) -> None:
    await _active(ctx)
    project = await service(ctx.services).submit(ctx.member, title, target, minimum, description or "")
    text = _text(ctx)
    ctx.reply(ctx.t("cobudget.submitted", number=project.id) + "\n" + text.project_detail(project, ctx.member.username))


@group.command(
    "modifier",
    aliases=("corriger", "edit"),
    args=(
        Arg("number", NumberConverter()),
        Arg("title", NameConverter()),
        Arg("target", CobudgetAmountConverter()),
        opt("minimum", MinimumConverter()),
    ),
    rest=opt("description", FreeText("description", guarded=True)),
)
async def edit(ctx: Context, number: int, title: str, target: int, minimum: int | None, description: str) -> None:
    cobudget = service(ctx.services)
    await _check_visible(ctx, await cobudget.get((await cobudget.project(number)).round_id))
    project = await cobudget.edit(
        ctx.member,
        number,
        title=title,
        target=target,
        minimum=minimum,
        description=description or "",
        is_admin=ctx.is_admin,
    )
    author = await cobudget.member_name(project.author_id)
    ctx.reply(ctx.t("cobudget.edited", number=project.id) + "\n" + _text(ctx).project_detail(project, author))


@group.command("participer", aliases=("participe", "rejoindre", "join"))
async def join(ctx: Context) -> None:
    await _active(ctx)
    round_, new = await service(ctx.services).join(ctx.member)
    key = "cobudget.joined" if new else "cobudget.already_joined"
    ctx.reply(
        ctx.t(
            key,
            number=round_.id,
            opens=_text(ctx).fmt.date_long(round_.funding_from.astimezone(ctx.settings.timezone).date()),
        )
    )


# --- funding ---------------------------------------------------------------------------------------------------


@group.command(
    "donner",
    aliases=("allouer", "give"),
    args=(Arg("number", NumberConverter()), Arg("amount", CobudgetAmountConverter())),
)
async def give(ctx: Context, number: int, amount: int) -> None:
    await _check_visible(ctx, await _round_of_project(ctx, number))
    gift = await service(ctx.services).give(ctx.member, number, amount)
    text = _text(ctx)
    project = gift.project
    key = "cobudget.given_capped" if gift.capped else "cobudget.given"
    ctx.reply(
        ctx.t(
            key,
            amount=text.money(gift.moved_cents),
            asked=text.money(gift.asked_cents),
            number=project.id,
            title=chat_safe(project.title, TITLE_PREVIEW),
            balance=text.money(gift.participant.share_cents - gift.participant.given_cents),
        )
        + "\n"
        + text.project_line(project)
    )


@group.command(
    "retirer",
    aliases=("reprendre", "withdraw"),
    args=(Arg("number", NumberConverter()), Arg("amount", CobudgetAmountConverter())),
)
async def withdraw(ctx: Context, number: int, amount: int) -> None:
    await _check_visible(ctx, await _round_of_project(ctx, number))
    gift = await service(ctx.services).withdraw(ctx.member, number, amount)
    text = _text(ctx)
    ctx.reply(
        ctx.t(
            "cobudget.withdrawn",
            amount=text.money(gift.moved_cents),
            number=gift.project.id,
            title=chat_safe(gift.project.title, TITLE_PREVIEW),
            balance=text.money(gift.participant.share_cents - gift.participant.given_cents),
        )
        + "\n"
        + text.project_line(gift.project)
    )


async def _round_of_project(ctx: Context, number: int) -> CobudgetRound:
    cobudget = service(ctx.services)
    return await cobudget.get((await cobudget.project(number)).round_id)


# --- after the close -------------------------------------------------------------------------------------------


@group.command("financer", aliases=("enveloppe",), args=(Arg("number", NumberConverter()),))
async def finance(ctx: Context, number: int) -> None:
    """A funded project becomes an envelope of the contributory budget (treasurers and admins; once)."""
    if not (ctx.is_admin or ctx.is_treasurer):
        raise PermissionDenied("cobudget_finance_rights", number=number)
    await _check_visible(ctx, await _round_of_project(ctx, number))
    project, envelope = await service(ctx.services).finance(ctx.member, number, ctx.services.budget)
    ctx.reply(
        ctx.t(
            "cobudget.financed",
            number=project.id,
            title=chat_safe(project.title, TITLE_PREVIEW),
            envelope=envelope.slug,
            amount=_text(ctx).money(envelope.amount_cents),
            year=envelope.year,
        )
    )


# --- scheduled tasks -------------------------------------------------------------------------------------------


async def _room_members(firing: Firing, round_: CobudgetRound) -> list[Member] | None:
    """The configured room's members as the chat server lists them now (None: no room configured, or unknown).

    A listing that fails counts as unknown: the vote opens with those who said `participer`, and the post says so,
    rather than the opening failing again and again until its task is given up and the round never closes."""
    if not firing.settings.cobudget.room or firing.members_of is None:
        return None
    try:
        authors = await firing.members_of(_room(round_))
    except Exception:
        log.warning("co-budget %s: the members of its room could not be read", round_.id, exc_info=True)
        return None
    if authors is None:
        return None
    return [await firing.services.members.ensure(a.id, a.username, a.display_name) for a in authors]


async def open_funding(firing: Firing) -> list[Outgoing]:
    cobudget = service(firing.services)
    round_ = await cobudget.get(firing.task.ref_id)
    listed = await _room_members(firing, round_)
    opened = await cobudget.open_funding(round_.id, listed)
    if opened is None:
        firing.skip("funding already open, or round closed")
        return []
    text = _text(firing).vote_open(opened, await cobudget.projects(opened), late=firing.late)
    if firing.settings.cobudget.room and listed is None:
        # Said, not hidden: the room's members could not be read, so only those who said `participer` take part.
        text += "\n" + firing.t("cobudget.room_unlisted", room=firing.settings.cobudget.room)
    return [_post(opened, text)]


async def close_round(firing: Firing) -> list[Outgoing]:
    cobudget = service(firing.services)
    closure = await cobudget.close(firing.task.ref_id)
    if closure is None:
        firing.skip("round already closed, or its vote never opened")
        return []
    projects = await cobudget.projects(closure.round)
    return [_post(closure.round, _text(firing).result(closure, projects, late=firing.late))]


async def remind_before_close(firing: Firing) -> list[Outgoing]:
    """A day before the vote closes, in the round's room: when it closes, how much is still to give, and the
    participants who still hold money, mentioned (at most WAITING_SHOWN names)."""
    cobudget = service(firing.services)
    round_ = await cobudget.get(firing.task.ref_id)
    if round_.phase != CobudgetPhase.FUNDING or round_.closes_at <= firing.now:
        firing.skip("the vote is not open, or it is over")
        return []
    render = _text(firing)
    holding = await cobudget.still_to_give(round_)
    lines = [
        firing.t(
            "cobudget.reminder",
            number=round_.id,
            name=chat_safe(round_.name, 80),
            until=render.last_day(round_.closes_at),
            left=render.left(round_.closes_at, firing.now),
        )
    ]
    if holding:
        names, more = first_names([name for name, _ in holding], mention, WAITING_SHOWN)
        if more:
            names += firing.t("cobudget.reminder_more", more=more)
        total = render.money(sum(cents for _, cents in holding))
        lines.append(firing.t("cobudget.reminder_holding", amount=total, count=len(holding), members=names))
    else:
        lines.append(firing.t("cobudget.reminder_all_given"))
    if firing.late:
        lines.append(firing.t("cobudget.reminder_late"))
    return [_post(round_, "\n".join(lines))]


TASKS: dict[str, TaskHandler] = {
    TASK_FUNDING: open_funding,
    TASK_CLOSE: close_round,
    TASK_REMINDER: remind_before_close,
}
