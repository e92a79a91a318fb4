"""`/election`: a sociocratic election without candidates.

The facilitator (whoever opens it, in a governance or circle channel) announces the role and its term; members
nominate someone with a reason in a direct message to the bot; the facilitator reveals all nominations together;
members may change theirs; the facilitator proposes someone, which opens a `/consent` round in the election's room
(reactions, objections, questions, amendments: everything consent has). The adopted round is the decision of the
register, and the election shows who was elected.
"""

from __future__ import annotations

from collections import Counter

from chatbot.commandkit import Arg, CommandGroup, opt
from chatbot.config import account_key
from chatbot.context import Context
from chatbot.db.models import Election, ElectionPhase, Member, RoundStatus
from chatbot.errors import ArgumentError, DomainError, PermissionDenied, UsageError, UserError
from chatbot.grammar.base import FreeText
from chatbot.grammar.deadlines import parse_proposal, resolve_deadline
from chatbot.grammar.election_arguments import (
    ElectionTarget,
    ElectionTargetConverter,
    ElectionVerb,
    parse_nomination,
    parse_opening,
)
from chatbot.scheduler import Firing
from chatbot.services.elections import TASK_NOMINATIONS_DUE, ElectionService, NominationView
from chatbot.text import chat_safe
from chatbot.transport.base import MembersOf, Outgoing, Room, RoomKind
from commands.consent_text import REASON_PREVIEW, ConsentText, mention

group = CommandGroup("election", aliases=("elections", "election-sans-candidat"))
NAME = 40  # characters of a username echoed


def _service(ctx: Context | Firing) -> ElectionService:
    services = ctx.services
    return ElectionService(services.session, services.settings, services.clock, services.tasks, services.consent)


def _text(ctx: Context | Firing) -> ConsentText:
    return ConsentText(ctx.t, ctx.fmt, ctx.settings)


def term(ctx: Context | Firing, months: int) -> str:
    if months % 12:
        return ctx.t("election.term_months", months=months)
    years = months // 12
    return ctx.t("election.term_year") if years == 1 else ctx.t("election.term_years", years=years)


def _room(election: Election) -> Room:
    return Room(election.room_id, election.room_name, RoomKind(election.room_kind))


def _post(election: Election, text: str, *, id: str | None = None, here: bool = False) -> Outgoing:
    """What members must see is a top-level post of the election's room (`here`: where the command was typed)."""
    return Outgoing(
        text=text, room_id=election.room_id, room_name=election.room_name, thread_id=None, is_reply=here, id=id
    )


# --- the commands ----------------------------------------------------------------------------------------------


@group.command("ouvrir", aliases=("open", "lancer"), rest=Arg("text", FreeText("election_opening")))
async def open_election(ctx: Context, text: str) -> None:
    """Anyone may open an election in a governance or circle channel, and facilitates it."""
    room = ctx.message.room
    circle = ctx.room_circle
    if room.is_direct or (circle is None and not ctx.settings.consent.is_governance_channel(room.name)):
        circle_channels = (c.public_channel or c.slug for c in ctx.settings.circles)
        channels = [*ctx.settings.consent.governance_channels, *circle_channels]
        raise DomainError("election_wrong_room", channels=channels, example=channels[0] if channels else "gouvernance")
    opening = parse_opening(text, ctx.parse.today)
    until = None
    if opening.until is not None:
        try:
            until = resolve_deadline(opening.until, ctx.clock.now())
        except UserError as error:
            raise ArgumentError("election_until_invalid", given=opening.until_words) from error
    election = await _service(ctx).open(
        ctx.member,
        role=opening.role,
        term_months=opening.term_months,
        circle=circle.slug if circle else None,
        room_id=room.id,
        room_name=room.name,
        room_kind=room.kind.value,
        until=until,
    )
    ctx.outgoing.append(_post(election, _announcement(ctx, election), id=election.post_id, here=True))
    if ctx.message.thread_id is not None:
        ctx.reply(ctx.t("election.posted_in_room", room=room.name or "?"))


@group.command(args=(opt("target", ElectionTargetConverter()),), rest=opt("text", FreeText("election_text")))
async def election(ctx: Context, target: ElectionTarget | None, text: str) -> None:
    if target is None:
        if text:
            raise UsageError("election_verb_missing", given=text)
        await _list(ctx)
        return
    if target.verb is None:
        raise ArgumentError("election_verb_unknown", given=target.word, number=target.number)
    if target.verb is ElectionVerb.NOMINATE:
        await _nominate(ctx, target.number, text)
        return
    number = target.number if target.number is not None else await _only_one(ctx, target.verb)
    election = await _service(ctx).get(number)
    await _check_visible(ctx, election)
    if target.verb in (ElectionVerb.SHOW, ElectionVerb.REVEAL, ElectionVerb.CANCEL) and text:
        raise UsageError("unexpected_words", given=text)
    if target.verb is ElectionVerb.SHOW:
        ctx.reply(await _state(ctx, election))
    elif target.verb is ElectionVerb.REVEAL:
        await _reveal(ctx, election)
    elif target.verb is ElectionVerb.CHANGE:
        await _change(ctx, election, text)
    elif target.verb is ElectionVerb.PROPOSE:
        await _propose(ctx, election, text)
    else:
        await _cancel(ctx, election)


async def _only_one(ctx: Context, verb: ElectionVerb) -> int:
    """Without a number, the one election the command can be about (in this room, or anywhere from a DM)."""
    phases = {
        ElectionVerb.NOMINATE: (ElectionPhase.NOMINATING,),
        ElectionVerb.REVEAL: (ElectionPhase.NOMINATING,),
        ElectionVerb.CHANGE: (ElectionPhase.REVEALED,),
    }.get(verb, (ElectionPhase.NOMINATING, ElectionPhase.REVEALED))
    room_id = None if ctx.message.room.is_direct else ctx.message.room.id
    service = _service(ctx)
    numbers = [n for n in await service.in_progress(room_id, phases) if await _may_see(ctx, await service.get(n))]
    if len(numbers) == 1:
        return numbers[0]
    word = ctx.t(f"election.verb_{verb.value}")
    if not numbers:
        raise DomainError("election_none_in_progress", verb=word)
    raise DomainError("election_which", numbers=", ".join(f"n°{n}" for n in numbers), example=numbers[-1], verb=word)


async def _may_see(ctx: Context, election: Election) -> bool:
    """An election of a private room is for its members only: the others do not even see its number."""
    return await ctx.may_see(_room(election))


async def _check_visible(ctx: Context, election: Election) -> None:
    if not await _may_see(ctx, election):
        raise PermissionDenied("election_private", number=election.id)


async def _check_member_of_room(members_of: MembersOf, election: Election, member: Member) -> None:
    """Those who may nominate are the members of the election's room (when the transport can list it; a private
    room that cannot be listed takes nobody from outside)."""
    members = await members_of(_room(election))
    if members is None and election.room_kind == RoomKind.GROUP.value:
        raise PermissionDenied("election_private", number=election.id)
    if members is not None and member.user_id not in {m.id for m in members}:
        raise PermissionDenied("election_not_in_room", number=election.id, room=election.room_name or "?")


async def _nominee(ctx: Context, election: Election, username: str) -> Member:
    """The exact account named (case of A-Z aside, as Rocket.Chat): among the room's members when the transport
    lists them, else among the members the bot knows. A look-alike (`camille_`, `ｃａｍｉｌｌｅ`) is another account."""
    members = await ctx.members_of(_room(election))
    if members is not None:
        found = next((m for m in members if account_key(m.username) == account_key(username)), None)
        if found is None:
            raise DomainError("election_nominee_not_in_room", username=username, room=election.room_name or "?")
        return await ctx.services.members.ensure(found.id, found.username, found.display_name)
    try:
        return await ctx.services.members.by_username(username)
    except DomainError:
        raise DomainError("election_nominee_unknown", username=username) from None


async def _nominate(ctx: Context, number: int | None, text: str) -> None:
    """In a direct message only: what a member writes there stays private until the reveal."""
    if not ctx.message.room.is_direct:
        raise DomainError("election_nominate_in_dm", number=number if number is not None else "N")
    if number is None:
        number = await _only_one(ctx, ElectionVerb.NOMINATE)
    service = _service(ctx)
    election = await service.get(number)
    await _check_member_of_room(ctx.members_of, election, ctx.member)
    nomination = parse_nomination(text, reason_required=True)
    nominee = await _nominee(ctx, election, nomination.username)
    result = await service.nominate(number, ctx.member, nominee, nomination.reason)
    line = ctx.t(
        "election.nominated",
        number=number,
        role=chat_safe(election.role, 80),
        nominee=chat_safe(nominee.username, NAME),
        reason=chat_safe(nomination.reason, REASON_PREVIEW),
    )
    if result.previous is not None:
        line += "\n" + ctx.t("election.replaced", previous=chat_safe(result.previous, NAME))
    ctx.reply(line)


async def _change(ctx: Context, election: Election, text: str) -> None:
    """After the reveal: public, so typed in the room or in a direct message alike."""
    await _check_member_of_room(ctx.members_of, election, ctx.member)
    nomination = parse_nomination(text, reason_required=True)
    nominee = await _nominee(ctx, election, nomination.username)
    result = await _service(ctx).change(election.id, ctx.member, nominee, nomination.reason)
    line = ctx.t(
        "election.changed",
        number=election.id,
        member=chat_safe(ctx.member.username, NAME),
        nominee=chat_safe(nominee.username, NAME),
        reason=chat_safe(nomination.reason, REASON_PREVIEW),
    )
    if result.previous is not None:
        line += " " + ctx.t("election.changed_from", previous=chat_safe(result.previous, NAME))
    ctx.reply(line)


async def _reveal(ctx: Context, election: Election) -> None:
    service = _service(ctx)
    election = await service.reveal(election.id, ctx.member, is_admin=ctx.is_admin)
    nominations = await service.nominations(election)
    lines = [
        ctx.t(
            "election.revealed",
            number=election.id,
            role=chat_safe(election.role, 80),
            count=len(nominations),
        ),
        *_nomination_lines(ctx, nominations, after_reveal=False),
        _counts(ctx, nominations),
        ctx.t(
            "election.change_round",
            number=election.id,
            facilitator=chat_safe(await service.name(election.facilitator_id), NAME),
        ),
    ]
    _in_election_room(ctx, election, "\n".join(lines))


async def _propose(ctx: Context, election: Election, text: str) -> None:
    nomination = parse_nomination(text, reason_required=False)
    deadline = None
    if nomination.reason:
        read = parse_proposal("proposer " + nomination.reason, ctx.parse.today)
        if read.deadline is None or read.text.strip() != "proposer" or read.review is not None:
            raise UsageError("election_propose_extra", given=nomination.reason, number=election.id)
        deadline = resolve_deadline(read.deadline, ctx.clock.now())
    nominee = await _nominee(ctx, election, nomination.username)
    service = _service(ctx)
    proposal = ctx.t(
        "election.proposal_text",
        nominee=nominee.username,
        role=election.role,
        term=term(ctx, election.term_months),
    )
    election, round_ = await service.propose(
        election.id,
        ctx.member,
        is_admin=ctx.is_admin,
        nominee=nominee,
        text=proposal,
        deadline=deadline or ctx.services.consent.default_deadline(election.circle),
    )
    nominations = await service.nominations(election)
    lines = [
        ctx.t(
            "election.proposed",
            number=election.id,
            role=chat_safe(election.role, 80),
            facilitator=chat_safe(ctx.member.username, NAME),
            nominee=chat_safe(nominee.username, NAME),
        ),
        *_nomination_lines(ctx, nominations, after_reveal=True),
        _counts(ctx, nominations),
        "",
        _text(ctx).opened(round_, ctx.member.username),
    ]
    _in_election_room(ctx, election, "\n".join(lines), id=round_.post_id)


async def _cancel(ctx: Context, election: Election) -> None:
    election = await _service(ctx).cancel(election.id, ctx.member, is_admin=ctx.is_admin)
    text = ctx.t(
        "election.cancelled",
        number=election.id,
        role=chat_safe(election.role, 80),
        member=chat_safe(ctx.member.username, NAME),
    )
    _in_election_room(ctx, election, text)


def _in_election_room(ctx: Context, election: Election, text: str, *, id: str | None = None) -> None:
    """A top-level post of the election's room; typed elsewhere or in a thread, the member gets a short note."""
    here = ctx.message.room.id == election.room_id
    ctx.outgoing.append(_post(election, text, id=id, here=here))
    if not here:
        ctx.reply(ctx.t("election.done_elsewhere", room=election.room_name or "?"))
    elif ctx.message.thread_id is not None:
        ctx.reply(ctx.t("election.posted_in_room", room=election.room_name or "?"))


async def _list(ctx: Context) -> None:
    service = _service(ctx)
    room_id = None if ctx.message.room.is_direct else ctx.message.room.id
    numbers = await service.in_progress(room_id, (ElectionPhase.NOMINATING, ElectionPhase.REVEALED))
    lines = []
    for number in numbers:
        election = await service.get(number)
        if not await ctx.may_see(_room(election)):
            continue
        lines.append(
            ctx.t(
                "election.list_line",
                number=number,
                role=chat_safe(election.role, 80),
                term=term(ctx, election.term_months),
                phase=ctx.t(f"election.phase_{election.phase}"),
                room=chat_safe(election.room_name or "?", 60),
            )
        )
    if not lines:
        ctx.reply(ctx.t("election.list_none"))
        return
    ctx.reply("\n".join([ctx.t("election.list_header"), *lines]))


# --- rendering -------------------------------------------------------------------------------------------------


def _announcement(ctx: Context, election: Election) -> str:
    facilitator = chat_safe(ctx.member.username, NAME)
    lines = [
        ctx.t(
            "election.opened",
            number=election.id,
            role=chat_safe(election.role, 80),
            term=term(ctx, election.term_months),
            facilitator=facilitator,
        ),
        ctx.t("election.how_to_nominate", number=election.id, facilitator=facilitator),
    ]
    if election.nominations_until is not None:
        lines.append(ctx.t("election.until_line", until=_text(ctx).when(election.nominations_until)))
    else:
        lines.append(ctx.t("election.no_until", number=election.id))
    return "\n".join(lines)


def _nomination_lines(ctx: Context, nominations: list[NominationView], *, after_reveal: bool) -> list[str]:
    lines = []
    for n in nominations:
        line = ctx.t(
            "election.nomination_line",
            member=chat_safe(n.member, NAME),
            nominee=chat_safe(n.nominee, NAME),
            reason=chat_safe(n.reason, REASON_PREVIEW),
        )
        if after_reveal and n.revealed_nominee is None:
            line += " " + ctx.t("election.given_after_reveal")
        elif after_reveal and n.revealed_nominee != n.nominee:
            line += " " + ctx.t("election.changed_since", previous=chat_safe(n.revealed_nominee or "?", NAME))
        lines.append(line)
    return lines


def _counts(ctx: Context | Firing, nominations: list[NominationView]) -> str:
    counts = Counter(n.nominee for n in nominations)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    parts = [ctx.t("election.count_part", nominee=chat_safe(name, NAME), count=count) for name, count in ordered]
    return ctx.t("election.counts", counts=" · ".join(parts))


async def _state(ctx: Context, election: Election) -> str:
    service = _service(ctx)
    lines = [
        ctx.t(
            "election.state_header",
            number=election.id,
            role=chat_safe(election.role, 80),
            term=term(ctx, election.term_months),
            facilitator=chat_safe(await service.name(election.facilitator_id), NAME),
            phase=ctx.t(f"election.phase_{election.phase}"),
        )
    ]
    nominations = await service.nominations(election)
    if election.revealed_at is None:  # nominating, or cancelled before the reveal: the nominations stay secret
        lines.append(ctx.t("election.state_secret", count=len(nominations)))
        if election.nominations_until is not None:
            lines.append(ctx.t("election.until_line", until=_text(ctx).when(election.nominations_until)))
        own = next((n for n in nominations if n.member == ctx.member.username), None)
        if own is not None and ctx.message.room.is_direct:
            lines.append(
                ctx.t(
                    "election.state_own",
                    nominee=chat_safe(own.nominee, NAME),
                    reason=chat_safe(own.reason, REASON_PREVIEW),
                )
            )
        return "\n".join(lines)
    if nominations:
        lines += _nomination_lines(ctx, nominations, after_reveal=True)
        lines.append(_counts(ctx, nominations))
    outcome = await service.outcome(election)
    if outcome.round is None:
        if election.phase == ElectionPhase.REVEALED:
            lines.append(ctx.t("election.state_awaiting_proposal", number=election.id))
        return "\n".join(lines)
    nominee = chat_safe(await service.name(election.nominee_id), NAME)
    status = ctx.t(f"consent.status_{outcome.round.status}")
    lines.append(ctx.t("election.state_round", nominee=nominee, round=outcome.round.id, status=status))
    if outcome.elected:
        decision = f"D-{outcome.decision_id}" if outcome.decision_id is not None else "?"
        lines.append(ctx.t("election.state_elected", nominee=nominee, decision=decision))
    elif outcome.round.status in (RoundStatus.REJECTED, RoundStatus.WITHDRAWN):
        lines.append(ctx.t("election.state_propose_again", number=election.id))
    return "\n".join(lines)


# --- scheduled tasks -------------------------------------------------------------------------------------------


async def nominations_due(firing: Firing) -> list[Outgoing]:
    """The end of the nominations: the room is told, and the facilitator is asked to reveal them."""
    service = _service(firing)
    election = await service.nominations_due(firing.task.ref_id)
    if election is None:
        firing.skip("nominations already revealed, or election cancelled")
        return []
    count = len(await service.nominations(election))
    text = firing.t(
        "election.nominations_over",
        number=election.id,
        role=chat_safe(election.role, 80),
        count=count,
        facilitator=mention(await service.name(election.facilitator_id)),
    )
    if firing.late:
        text += "\n" + firing.t("election.late")
    return [_post(election, text, id=f"election-{election.id}-task-{firing.task.id}")]


TASKS = {TASK_NOMINATIONS_DUE: nominations_due}
