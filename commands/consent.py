"""`/consent`: open a consent round, answer it (by command or by reacting to its post), close, withdraw, amend.

The round's post carries a message id the bot chooses (`consent-<n>`), so that a reaction to it on Rocket.Chat
comes back here as a position. Outcomes, reminders and review dates are scheduled tasks (rows), so they survive a
restart and fire late rather than never.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.commandkit import CommandGroup, opt
from chatbot.context import Context, ReactionContext, nobody_known
from chatbot.db.engine import read_only
from chatbot.db.models import ConsentRound, Member, PositionKind, RoundStatus
from chatbot.errors import ArgumentError, DomainError, PermissionDenied, UsageError
from chatbot.grammar.base import FreeText
from chatbot.grammar.consent_arguments import RoundTarget, RoundTargetConverter, Verb, answer_text, is_position_word
from chatbot.grammar.deadlines import Proposal, parse_proposal, resolve_deadline
from chatbot.grammar.tokens import tokenize
from chatbot.scheduler import Firing
from chatbot.services import Services
from chatbot.services.consent import (
    TASK_DEADLINE,
    TASK_POSITIONS_OPEN,
    TASK_REMINDER,
    TASK_REVIEW,
    Closure,
    ConsentService,
    PositionChange,
)
from chatbot.text import chat_safe, fold, mention, without_control_characters
from chatbot.transport.base import MembersOf, Outgoing, ReactionChange, Room, RoomKind
from commands.consent_text import REASON_PREVIEW, ConsentText
from commands.reactions import reactors_by_meaning

log = logging.getLogger(__name__)
group = CommandGroup("consent", aliases=("consentement", "consentir"))

POSITIONS = {
    Verb.CONSENT: PositionKind.CONSENT,
    Verb.CONCERN: PositionKind.CONCERN,
    Verb.OBJECTION: PositionKind.OBJECTION,
    Verb.STAND_ASIDE: PositionKind.STAND_ASIDE,
}
# The emojis the round's post lists, as Rocket.Chat names them in reaction events (with a few synonyms).
REACTION_KINDS = {
    ":thumbsup:": PositionKind.CONSENT,
    ":+1:": PositionKind.CONSENT,
    ":white_check_mark:": PositionKind.CONSENT,
    ":thinking:": PositionKind.CONCERN,
    ":thinking_face:": PositionKind.CONCERN,
    ":raised_hand:": PositionKind.OBJECTION,
    ":hand:": PositionKind.OBJECTION,
    ":zipper_mouth:": PositionKind.STAND_ASIDE,
    ":zipper_mouth_face:": PositionKind.STAND_ASIDE,
}


def _text(ctx: Context | ReactionContext | Firing) -> ConsentText:
    return ConsentText(ctx.t, ctx.fmt, ctx.settings)


@group.command(
    args=(opt("target", RoundTargetConverter()),),
    rest=opt("text", FreeText("proposal", reads=("deadline", "review"))),
)
async def consent(ctx: Context, target: RoundTarget | None, text: str) -> None:
    if target is None:
        proposal = parse_proposal(_as_typed(ctx, text), ctx.parse.today)
        await _refuse_answer_like(ctx, proposal.text)
        await _open(ctx, proposal)
        return
    if text and target.verb in (Verb.SHOW, Verb.CLOSE, Verb.WITHDRAW, Verb.WAITING):
        raise UsageError("unexpected_words", given=text)
    await _check_visible(ctx, await ctx.services.consent.get(target.number))  # « Aucun cycle n°… » comes first
    if target.verb is None:
        raise ArgumentError(
            "round_verb_unknown", given=target.word, number=target.number, suggestions=list(target.suggestions)
        )
    elif target.verb in POSITIONS:
        await _answer(ctx, target.number, POSITIONS[target.verb], answer_text(text))
    elif target.verb is Verb.SHOW:
        await _show(ctx, target.number)
    elif target.verb is Verb.WAITING:
        await _waiting_list(ctx, target.number)
    elif target.verb is Verb.QUESTION:
        await _ask(ctx, target.number, answer_text(text))
    elif target.verb is Verb.REPLY:
        await _reply_to_question(ctx, target.number, answer_text(text))
    elif target.verb is Verb.CLOSE:
        await _close(ctx, target.number)
    elif target.verb is Verb.WITHDRAW:
        await _withdraw(ctx, target.number)
    else:
        await _amend(ctx, target.number, answer_text(text))


def _as_typed(ctx: Context, text: str) -> str:
    """The proposal as the member typed it. The command kit hands over a lone quoted group without its quotes;
    `/consent « Passer à 35h »` must keep its quotes so that `35h` is not read as a deadline."""
    source = without_control_characters(ctx.message.text)
    tokens = tokenize(source)
    if text and tokens and tokens[-1].quoted and tokens[-1].text == text.strip():
        return source[tokens[-1].start : tokens[-1].end]
    return text


async def _refuse_answer_like(ctx: Context, text: str) -> None:
    """`/consent abc ok`, `/consent objection`: one or two words ending with a position keyword are an answer with
    a mistyped or missing round number, not a proposal. Nothing is opened; the member is shown how to answer the
    round(s) open in this room, and how to propose."""
    words = tokenize(text)
    if not 1 <= len(words) <= 2 or not is_position_word(words[-1].text):
        return
    numbers = await ctx.services.consent.open_in_room(ctx.message.room.id)
    example = numbers[0] if numbers else 1
    key = "answer_like_open" if numbers else "answer_like"
    verb = fold(words[-1].text).strip().rstrip(":.!")
    raise DomainError(
        key,
        given=text,
        example=example,
        verb=verb if verb.isalpha() else "ok",
        numbers=", ".join(f"n°{n}" for n in numbers),
    )


async def _open(ctx: Context, proposal: Proposal) -> None:
    room = ctx.message.room
    circle = ctx.room_circle
    if room.is_direct or (circle is None and not ctx.settings.consent.is_governance_channel(room.name)):
        circle_channels = (c.public_channel or c.slug for c in ctx.settings.circles)
        channels = [*ctx.settings.consent.governance_channels, *circle_channels]
        raise DomainError("consent_wrong_room", channels=channels, example=channels[0] if channels else "gouvernance")
    service = ctx.services.consent
    circle_slug = circle.slug if circle else None
    deadline = (
        resolve_deadline(proposal.deadline, ctx.clock.now())
        if proposal.deadline
        else service.default_deadline(circle_slug)
    )
    round_ = await service.open(
        ctx.member,
        proposal.text,
        circle=circle_slug,
        room_id=room.id,
        room_name=room.name,
        room_kind=room.kind.value,
        deadline=deadline,
        review=proposal.review,
        clarification=proposal.clarification,
    )
    _in_round_room(ctx, round_, _text(ctx).opened(round_, ctx.member.username, proposal, "/consent"), id=round_.post_id)


async def _answer(ctx: Context, number: int, kind: PositionKind, reason: str) -> None:
    service = ctx.services.consent
    round_ = await service.get(number)
    await _check_in_room(ctx.members_of, round_, ctx.member, number)
    _check_positions_open(ctx, round_)
    change = await service.set_position(number, ctx.member, kind, reason)
    line = _position_text(_text(ctx), change, ctx.member.username, number)
    if reason:
        line += "\n" + ctx.t("consent.position_reason", reason=chat_safe(reason, 300))
    ctx.reply(line)


def _check_positions_open(ctx: Context | ReactionContext, round_: ConsentRound) -> None:
    """During a clarification phase, questions only: positions are refused, with when they open."""
    if (
        round_.positions_from is not None
        and round_.status == RoundStatus.OPEN
        and ctx.clock.now() < round_.positions_from
    ):
        raise DomainError("positions_not_yet", number=round_.id, opens=_text(ctx).when(round_.positions_from))


_QUESTION_NUMBER = re.compile(r"(?:n°|no|#)?\s*(\d{1,6})\b\s*[:.]?\s*(.*)", re.S | re.I)


async def _ask(ctx: Context, number: int, text: str) -> None:
    service = ctx.services.consent
    round_ = await service.get(number)
    if not text:
        raise UsageError("question_missing", number=number)
    await _check_in_room(ctx.members_of, round_, ctx.member, number)
    question = await service.ask(number, ctx.member, text)
    post = ctx.t(
        "consent.question_posted",
        number=number,
        question=question.number,
        member=chat_safe(ctx.member.username, 40),
        text=chat_safe(question.text, 500),
    )
    _in_round_thread(ctx, round_, post, ctx.t("consent.question_ack", number=number, question=question.number))


async def _reply_to_question(ctx: Context, number: int, text: str) -> None:
    service = ctx.services.consent
    round_ = await service.get(number)
    found = _QUESTION_NUMBER.fullmatch(text)
    if found is None or not found.group(2).strip():
        raise UsageError("question_reply_usage", number=number)
    await _check_in_room(ctx.members_of, round_, ctx.member, number)
    question = await service.answer_question(number, int(found.group(1)), ctx.member, found.group(2))
    post = ctx.t(
        "consent.question_answered",
        number=number,
        question=question.number,
        asker=chat_safe(await service.member_name(question.author_id), 40),
        asked=chat_safe(question.text, REASON_PREVIEW),
        member=chat_safe(ctx.member.username, 40),
        text=chat_safe(question.answer or "", 500),
    )
    _in_round_thread(ctx, round_, post, ctx.t("consent.question_reply_ack", number=number, question=question.number))


def _in_round_thread(ctx: Context, round_: ConsentRound, text: str, ack: str) -> None:
    """Questions and their answers go in the round's thread (under its post); typed anywhere else, the member gets
    a short acknowledgement where they typed."""
    here = ctx.message.room.id == round_.room_id and ctx.message.thread_id == round_.post_id
    ctx.outgoing.append(
        Outgoing(text=text, room_id=round_.room_id, room_name=round_.room_name, thread_id=round_.post_id, is_reply=here)
    )
    if not here:
        ctx.reply(ack)


def _position_text(text: ConsentText, change: PositionChange, username: str, number: int) -> str:
    member = chat_safe(username, 40)
    if change.kind is None:
        return text.t("consent.position_removed", member=member, number=number)
    key = f"consent.position_{change.kind.value}" + ("" if change.counted else "_pending")
    line = text.t(key, member=member, number=number)
    if change.previous is not None and change.previous is not change.kind:
        line += " " + text.t("consent.changed_from", previous=text.kind(change.previous))
    return line


async def _check_in_room(members_of: MembersOf, round_: ConsentRound, member: Member, number: int) -> None:
    """Anyone in the round's room may answer; when the transport can list the room, others are refused."""
    members = await members_of(_room(round_))
    if members is not None and member.user_id not in {m.id for m in members}:
        raise PermissionDenied("not_in_room", room=round_.room_name or "?", number=number)


async def _check_visible(ctx: Context, round_: ConsentRound) -> None:
    """A round opened in a private room is read, answered and handled only there, or in a direct message by one
    of its members; anyone else learns that it is private, nothing of what it says."""
    if not await ctx.may_see(_room(round_)):
        raise PermissionDenied("round_private", number=round_.id)


def _room(round_: ConsentRound) -> Room:
    return Room(round_.room_id, round_.room_name, RoomKind(round_.room_kind))


async def _waiting(
    members_of: MembersOf, service: ConsentService, text: ConsentText, round_: ConsentRound
) -> tuple[list[str], bool]:
    """Who has not answered: the room's members from the transport, else the members known to take part in
    consent in this room. The flag says whether the list came from the transport."""
    tally = await service.tally(round_)
    try:
        members = await members_of(_room(round_))
    except Exception:  # a list or a count: the reminder, the state and the closing go on without the server's
        log.warning("consent round %s: the members of its room could not be read", round_.id, exc_info=True)
        members = None
    if members is None:
        known = await service.known_in_room(round_.room_id)
        answered = {a.member_id for a in tally.answers}
        return sorted(m.username for m in known if m.id not in answered), False
    return text.waiting(members, tally), True


async def _show(ctx: Context, number: int) -> None:
    service = ctx.services.consent
    round_ = await service.get(number)
    text = _text(ctx)
    waiting, from_transport = await _waiting(ctx.members_of, service, text, round_)
    state = text.state(
        round_, await service.author_name(round_), await service.tally(round_), waiting, await service.chain(round_)
    )
    if round_.closed_at is None and not from_transport:
        state += "\n" + ctx.t("consent.not_answered_unknown")
    state += text.open_questions(await service.questions(round_, open_only=True), round_.id)
    ctx.reply(state)


async def _waiting_list(ctx: Context, number: int) -> None:
    """`/consent 12 attente`: the whole list of who has not answered, in a direct message to the asker (in the
    direct message itself when asked there); the room only learns that it was sent."""
    service = ctx.services.consent
    round_ = await service.get(number)
    text = _text(ctx)
    waiting, from_transport = await _waiting(ctx.members_of, service, text, round_)
    full = (
        text.waiting_full(round_, waiting)
        if round_.closed_at is None
        else ctx.t("consent.round_closed_waiting", number=number)
    )
    if round_.closed_at is None and not from_transport:
        full += "\n" + ctx.t("consent.not_answered_unknown")
    if ctx.message.room.is_direct:
        ctx.reply(full)
        return
    ctx.outgoing.append(Outgoing(text=full, room_name=f"@{ctx.member.username}", is_reply=False))
    ctx.reply(ctx.t("consent.waiting_sent", number=number))


def _in_round_room(ctx: Context, round_: ConsentRound, text: str, *, id: str | None = None) -> None:
    """What members must see (a proposal, an outcome, an amendment's new round) is a top-level post of the round's
    room, never a thread reply: Rocket.Chat no longer shows thread replies in the main timeline. Typed in a thread,
    or in another room, the member also gets a short acknowledgement where they typed."""
    here = ctx.message.room.id == round_.room_id
    ctx.outgoing.append(
        Outgoing(text=text, room_id=round_.room_id, room_name=round_.room_name, thread_id=None, is_reply=here, id=id)
    )
    if not here:
        ctx.reply(ctx.t("consent.done_elsewhere", room=round_.room_name or "?"))
    elif ctx.message.thread_id is not None:
        ctx.reply(ctx.t("consent.posted_in_room", room=round_.room_name or "?"))


async def _record_not_answered(
    members_of: MembersOf, service: ConsentService, text: ConsentText, closure: Closure
) -> None:
    """An adopted round's decision counts the members of its room who did not answer, when the room is known."""
    if closure.decision is None:
        return
    waiting, from_transport = await _waiting(members_of, service, text, closure.round)
    if from_transport:
        closure.decision.not_answered = len(waiting)


async def _close(ctx: Context, number: int) -> None:
    service = ctx.services.consent
    closure = await service.close(number, ctx.member, is_admin=ctx.is_admin)
    await _record_not_answered(ctx.members_of, service, _text(ctx), closure)
    _in_round_room(ctx, closure.round, _text(ctx).outcome(closure, await service.author_name(closure.round)))


async def _withdraw(ctx: Context, number: int) -> None:
    round_ = await ctx.services.consent.withdraw(number, ctx.member, is_admin=ctx.is_admin)
    message = ctx.t(
        "consent.withdrawn", number=number, member=chat_safe(ctx.member.username, 40), text=chat_safe(round_.text, 300)
    )
    _in_round_room(ctx, round_, message)


async def _amend(ctx: Context, number: int, text: str) -> None:
    if not text:
        raise UsageError("amend_text_missing", number=number)
    proposal = parse_proposal(_as_typed(ctx, text), ctx.parse.today)
    deadline = resolve_deadline(proposal.deadline, ctx.clock.now()) if proposal.deadline else None
    service = ctx.services.consent
    old, tally, new = await service.amend(
        number, ctx.member, is_admin=ctx.is_admin, text=proposal.text, deadline=deadline, review=proposal.review
    )
    render = _text(ctx)
    objectors = sorted({a.username for a in tally.answers if a.kind is PositionKind.OBJECTION})
    lines = [
        ctx.t("consent.amended", number=old.id, member=chat_safe(ctx.member.username, 40), new=new.id),
        render.opened(new, await service.author_name(new), proposal, f"/consent {old.id} amender"),
    ]
    if objectors:
        lines.append(ctx.t("consent.objectors_invited", members=", ".join(mention(u) for u in objectors)))
    _in_round_room(ctx, new, "\n".join(lines), id=new.post_id)


# --- reactions -------------------------------------------------------------------------------------------------


async def on_reaction(ctx: ReactionContext, change: ReactionChange) -> None:
    """A reaction to a round's post sets the member's position; removing it unsets it, if that position was given
    by reaction. An objection by reaction has no reason: the bot asks for it in the post's thread."""
    kind = REACTION_KINDS.get(change.emoji)
    if kind is None:
        return
    service = ctx.services.consent
    round_ = await service.by_post(change.message_id)
    if round_ is None:
        return
    if not change.added:
        await service.unset_position(round_.id, ctx.member, kind)
        return
    await _check_in_room(ctx.members_of, round_, ctx.member, round_.id)
    _check_positions_open(ctx, round_)
    result = await service.set_position(round_.id, ctx.member, kind, by_reaction=True)
    if kind is PositionKind.OBJECTION and not result.counted:
        ctx.say_in_thread(ctx.t("consent.ask_reason", member=mention(ctx.member.username), number=round_.id))


async def on_reactions_read(services: Services, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
    """A round's post read whole for the first time since the bot started, `shown`: emoji → user ids of its
    reactors. A position given by reaction whose reaction the post no longer shows was removed while the bot was
    not running: it goes (answers by command stay)."""
    service = services.consent
    round_ = await service.by_post(post_id)
    if round_ is None or round_.status != RoundStatus.OPEN:
        return
    gone = await service.unset_reactions_not_shown(round_.id, reactors_by_meaning(shown, REACTION_KINDS))
    if gone:
        log.info("round %s: positions whose reaction was removed while the bot was down: %s", round_.id, gone)


async def watched_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The posts of the open consent rounds: a reaction to one of them is a position."""
    async with sessions() as session:
        await read_only(session)
        rows = await session.scalars(
            select(ConsentRound.post_id)
            .where(ConsentRound.status == RoundStatus.OPEN, ConsentRound.post_id.is_not(None))
            .order_by(ConsentRound.id)
        )
        return [post_id for post_id in rows if post_id]


REACTIONS = on_reaction
REACTIONS_READ = on_reactions_read
WATCHED_POSTS = watched_posts


# --- scheduled tasks -------------------------------------------------------------------------------------------


def _post(round_: ConsentRound, text: str) -> Outgoing:
    return Outgoing(text=text, room_id=round_.room_id, room_name=round_.room_name, is_reply=False)


async def close_at_deadline(firing: Firing) -> list[Outgoing]:
    service = firing.services.consent
    closure = await service.close_due(firing.task.ref_id, late=firing.late)
    if closure is None:
        firing.skip("round already closed")
        return []
    await _record_not_answered(firing.members_of or nobody_known, service, _text(firing), closure)
    return [_post(closure.round, _text(firing).outcome(closure, await service.author_name(closure.round)))]


async def say_positions_open(firing: Firing) -> list[Outgoing]:
    """The clarification phase is over: a top-level post in the round's room says that positions are open, until
    when, how to answer, and which questions are still unanswered."""
    service = firing.services.consent
    round_ = await _still_open(firing)
    if round_ is None:
        return []
    render = _text(firing)
    lines = [
        firing.t(
            "consent.positions_open",
            number=round_.id,
            deadline=render.when(round_.deadline),
            text=chat_safe(round_.text, 300),
        ),
        firing.t(
            "consent.positions_open_sofa" if round_.style == "sofa" else "consent.positions_open_s3", number=round_.id
        ),
    ]
    questions = render.open_questions(await service.questions(round_, open_only=True), round_.id)
    if questions:
        lines.append(questions.lstrip("\n"))
    if firing.late:
        lines.append(firing.t("consent.positions_open_late"))
    return [_post(round_, "\n".join(lines))]


async def _still_open(firing: Firing) -> ConsentRound | None:
    """The round the task is about, or None (and the task skipped) once it is closed or its deadline passed."""
    round_ = await firing.services.consent.get(firing.task.ref_id)
    if round_.closed_at is not None or round_.deadline <= firing.now:
        firing.skip("round closed, or its deadline has passed")
        return None
    return round_


async def remind_before_deadline(firing: Firing) -> list[Outgoing]:
    service = firing.services.consent
    round_ = await _still_open(firing)
    if round_ is None:
        return []
    render = _text(firing)
    lines = [
        firing.t(
            "consent.reminder",
            number=round_.id,
            deadline=render.when(round_.deadline),
            text=chat_safe(round_.text, 300),
        )
    ]
    if round_.positions_from is not None and firing.now < round_.positions_from:  # nobody may answer yet
        opens = render.when(round_.positions_from)
        lines.append(firing.t("consent.clarification_line", opens=opens, number=round_.id))
    else:
        waiting, _ = await _waiting(firing.members_of or nobody_known, service, render, round_)
        if waiting:
            lines.append(render.waiting_line("consent.reminder_missing", waiting, round_.id, ping=True))
    questions = render.open_questions(await service.questions(round_, open_only=True), round_.id)
    if questions:
        lines.append(questions.lstrip("\n"))
    return [_post(round_, "\n".join(lines))]


async def remind_review(firing: Firing) -> list[Outgoing]:
    entry = await firing.services.decisions.get(firing.task.ref_id)
    decision = entry.decision
    if decision.round_id is None:  # only decisions by consent have a review date
        firing.skip("decision without a consent round")
        return []
    round_ = await firing.services.consent.get(decision.round_id)
    render = _text(firing)
    text = firing.t(
        "decisions.review_due",
        number=decision.id,
        date=render.day(decision.adopted_at.astimezone(render.tz).date()),
        text=chat_safe(decision.text, 300),
    )
    if firing.late:
        text += "\n" + firing.t("decisions.review_due_late")
    return [_post(round_, text)]


TASKS = {
    TASK_DEADLINE: close_at_deadline,
    TASK_REMINDER: remind_before_deadline,
    TASK_REVIEW: remind_review,
    TASK_POSITIONS_OPEN: say_positions_open,
}
