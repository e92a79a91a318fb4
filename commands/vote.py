"""`/vote`: one member, one vote, for the general meeting and other statutory questions (consent is not the tool).

- `/vote "Approuver les comptes 2026" jusqu'au 30/06 18h [quorum 50%] [secret] [associés] [majorité associés]`
  opens ballot n°N: a top-level post of the room, whose message id the bot chooses (`vote-<n>`), so that a
  reaction to it comes back here as a vote. Options are always pour, contre, abstention.
- `/vote 3 pour|contre|abstention` votes; `/vote 3` shows the ballot (the counts while open only when public, the
  participation only when secret); `/vote` lists the open ballots; `/vote 3 clore` closes it early (its author or
  an admin). The result, at the deadline (a scheduled task: it survives restarts and fires late rather than
  never) or when closed, is a top-level post of the room; an adopted question enters the decision register.

Who may open: any member, in a room (not in a direct message), for the room's members; a ballot of the associés
only by an associé or an admin (exact accounts), and in a private room only if all the associés are in it. Who may
vote: the room's members, as Rocket.Chat lists them when the vote is cast (when it cannot tell, anyone in the
room); or the associés of the configuration.

Secret ballots: the vote is cast in a direct message to the bot (typed in the room it would be seen by all, so it
is refused and nothing is recorded), cannot be changed, and reactions do not count (a reaction is public: the bot
tells the member so in a direct message).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.commandkit import CommandGroup, opt
from chatbot.config import account_key, holds_role
from chatbot.context import Context, ReactionContext, nobody_known
from chatbot.db.engine import read_only
from chatbot.db.models import Ballot, BallotStatus, Member
from chatbot.errors import ArgumentError, DomainError, PermissionDenied, UsageError, UserError
from chatbot.grammar.base import FreeText
from chatbot.grammar.deadlines import resolve_deadline
from chatbot.grammar.tokens import tokenize
from chatbot.grammar.vote_arguments import BallotSpec, BallotTarget, BallotTargetConverter, Choice, Verb, parse_ballot
from chatbot.scheduler import Firing
from chatbot.services import Services
from chatbot.services.votes import TASK_VOTE_DEADLINE, TASK_VOTE_REMINDER, VoteService
from chatbot.text import chat_safe, first_names, mention, without_control_characters
from chatbot.transport.base import MembersOf, Outgoing, ReactionChange, Room, RoomKind
from commands.reactions import reactors_by_meaning
from commands.vote_text import VoteText

log = logging.getLogger(__name__)

WAITING_SHOWN = 15  # electors named in the reminder; the others are counted
group = CommandGroup("vote", aliases=("voter", "scrutin"))

# The emojis the ballot's post lists, as Rocket.Chat names them in reaction events (with a few synonyms).
REACTION_CHOICES = {
    ":white_check_mark:": Choice.FOR,
    ":heavy_check_mark:": Choice.FOR,
    ":x:": Choice.AGAINST,
    ":white_circle:": Choice.ABSTAIN,
}
# Errors of the shared deadline grammar, said in the words of a ballot.
DEADLINE_ERRORS = ("deadline_invalid", "deadline_ambiguous", "deadline_past", "deadline_too_far", "deadline_too_soon")


def votes(services: Services) -> VoteService:
    return VoteService(services.session, services.settings, services.clock, services.tasks)


def _text(ctx: Context | ReactionContext | Firing) -> VoteText:
    return VoteText(ctx.t, ctx.fmt, ctx.settings)


@group.command(
    args=(opt("target", BallotTargetConverter()),),
    rest=opt("text", FreeText("question", reads=("deadline",))),
)
async def vote(ctx: Context, target: BallotTarget | None, text: str) -> None:
    if target is None:
        if not text.strip():
            await _list(ctx)
            return
        await _open(ctx, _parse(ctx, text))
        return
    if text.strip(" !."):  # `/vote 3 pour !`: French puts a space before the exclamation mark
        raise UsageError("unexpected_words", given=text)
    ballot = await votes(ctx.services).get(target.number)  # « Aucun vote n°… » comes first
    await _check_visible(ctx, ballot)
    if target.verb is None:
        raise ArgumentError(
            "vote_verb_unknown", given=target.word, number=target.number, suggestions=list(target.suggestions)
        )
    if target.verb is Verb.VOTE:
        assert target.choice is not None
        await _vote(ctx, ballot, target.choice)
    elif target.verb is Verb.CLOSE:
        await _close(ctx, ballot)
    else:
        await _show(ctx, ballot)


def _parse(ctx: Context, text: str) -> BallotSpec:
    try:
        return parse_ballot(_as_typed(ctx, text), ctx.parse.today)
    except UserError as error:
        raise _in_vote_words(error) from None


def _in_vote_words(error: UserError) -> UserError:
    if error.key in DEADLINE_ERRORS:
        return type(error)(f"vote_{error.key}", **error.data)
    return error


def _as_typed(ctx: Context, text: str) -> str:
    """The question as the member typed it: the command kit hands over a lone quoted group without its quotes,
    and `/vote « Passer à 35h »` must keep them so that `35h` is not read as a deadline."""
    source = without_control_characters(ctx.message.text)
    tokens = tokenize(source)
    if text and tokens and tokens[-1].quoted and tokens[-1].text == text.strip():
        return source[tokens[-1].start : tokens[-1].end]
    return text


async def _open(ctx: Context, spec: BallotSpec) -> None:
    room = ctx.message.room
    if room.is_direct:
        raise DomainError("vote_wrong_room")
    settings = ctx.settings.votes
    electorate = spec.electorate or settings.electorate
    if electorate == "associes":
        if not settings.associes:
            raise DomainError("vote_no_associes")
        if not ctx.is_admin and not holds_role(ctx.member.username, settings.associes):
            raise PermissionDenied("vote_open_associes_denied")
        if room.kind is RoomKind.GROUP:
            await _check_associes_may_read(ctx, room)
    try:
        deadline = resolve_deadline(spec.deadline, ctx.clock.now())
    except UserError as error:
        raise _in_vote_words(error) from None
    circle = ctx.room_circle
    ballot = await votes(ctx.services).open(
        ctx.member,
        spec.question,
        room_id=room.id,
        room_name=room.name,
        room_kind=room.kind.value,
        circle=circle.slug if circle else None,
        deadline=deadline,
        secret=spec.secret,
        electorate=electorate,
        majority=spec.majority or settings.majority,
        quorum_percent=spec.quorum_percent if spec.quorum_percent is not None else settings.quorum_percent,
    )
    _in_ballot_room(ctx, ballot, _text(ctx).opened(ballot, ctx.member.username, spec.deadline_words), id=ballot.post_id)


async def _check_associes_may_read(ctx: Context, room: Room) -> None:
    """The associés vote from a direct message even when not in the ballot's room, but a private room is read only
    by its members: a ballot of the associés opens there only if they all are members (else those outside could
    neither read nor vote, and would count as absent)."""
    members = await ctx.members_of(room)
    if members is None:
        raise DomainError("vote_associes_private_unknown")
    inside = {account_key(m.username) for m in members}
    missing = sorted(ctx.settings.votes.associes - inside)
    if missing:
        raise DomainError("vote_associes_private", missing=", ".join(chat_safe(name, 40) for name in missing))


async def _vote(ctx: Context, ballot: Ballot, choice: Choice) -> None:
    if ballot.status != BallotStatus.OPEN:
        raise DomainError("vote_closed", number=ballot.id)
    if ballot.secret and not ctx.message.room.is_direct:
        raise DomainError("vote_secret_in_room", number=ballot.id)
    await _check_elector(ctx.members_of, ctx, ballot, ctx.member)
    change = await votes(ctx.services).vote(ballot.id, ctx.member, choice)
    ctx.reply(_text(ctx).recorded(ballot, ctx.member.username, choice, change.previous))


async def _show(ctx: Context, ballot: Ballot) -> None:
    service = votes(ctx.services)
    counts = await service.counts(ballot)
    author = await service.member_name(ballot.author_id)
    render = _text(ctx)
    if ballot.status == BallotStatus.OPEN:
        ctx.reply(render.state(ballot, author, counts, await _electorate_size(ctx.members_of, ctx, ballot)))
        return
    state = render.state(ballot, author, counts, ballot.electorate_size)
    result = await service.result(ballot)
    verdict = render.verdict(result, await service.decision_of(ballot))
    ctx.reply("\n".join([state, *render.outcome_lines(result), verdict]))


async def _list(ctx: Context) -> None:
    render = _text(ctx)
    ballots = [b for b in await votes(ctx.services).open_ballots() if await ctx.may_see(_room(b))]
    if not ballots:
        ctx.reply(ctx.t("vote.list_empty"))
        return
    ctx.reply("\n".join([ctx.t("vote.list_header"), *(render.list_line(b) for b in ballots)]))


async def _close(ctx: Context, ballot: Ballot) -> None:
    size = await _electorate_size(ctx.members_of, ctx, ballot)
    closure = await votes(ctx.services).close(ballot.id, ctx.member, is_admin=ctx.is_admin, electorate=size)
    _in_ballot_room(ctx, closure.ballot, _text(ctx).result(closure))


# --- who votes ---------------------------------------------------------------------------------------------------


async def _electorate_size(
    members_of: MembersOf, ctx: Context | ReactionContext | Firing, ballot: Ballot
) -> int | None:
    """How many may vote (None when the transport cannot tell)."""
    electors = await _electors(members_of, ctx, ballot)
    return None if electors is None else len(electors)


async def _check_elector(members_of: MembersOf, ctx: Context | ReactionContext, ballot: Ballot, member: Member) -> None:
    if ballot.electorate == "associes":
        if not holds_role(member.username, ctx.settings.votes.associes):
            raise PermissionDenied("vote_not_elector_associes", number=ballot.id)
        return
    members = await members_of(_room(ballot))
    if members is not None and member.user_id not in {m.id for m in members}:
        raise PermissionDenied("vote_not_elector_room", number=ballot.id, room=ballot.room_name or "?")


async def _check_visible(ctx: Context, ballot: Ballot) -> None:
    """A ballot of a private room is read and answered only there, or in a direct message by one of its members."""
    if not await ctx.may_see(_room(ballot)):
        raise PermissionDenied("vote_private", number=ballot.id)


def _room(ballot: Ballot) -> Room:
    return Room(ballot.room_id, ballot.room_name, RoomKind(ballot.room_kind))


def _in_ballot_room(ctx: Context, ballot: Ballot, text: str, *, id: str | None = None) -> None:
    """The ballot's post and its result are top-level posts of its room, never thread replies; typed elsewhere or
    in a thread, the member also gets a short acknowledgement where they typed."""
    here = ctx.message.room.id == ballot.room_id
    ctx.outgoing.append(
        Outgoing(text=text, room_id=ballot.room_id, room_name=ballot.room_name, thread_id=None, is_reply=here, id=id)
    )
    if not here:
        ctx.reply(ctx.t("vote.done_elsewhere", room=ballot.room_name or "?"))
    elif ctx.message.thread_id is not None:
        ctx.reply(ctx.t("vote.posted_in_room", room=ballot.room_name or "?"))


# --- reactions -------------------------------------------------------------------------------------------------


async def on_reaction(ctx: ReactionContext, change: ReactionChange) -> None:
    """✅ ❌ ⚪ on a public ballot's post vote; removing the reaction takes back the vote it gave (not one given by
    command). On a secret ballot a reaction counts for nothing: the member is told, in a direct message, to vote
    there instead."""
    choice = REACTION_CHOICES.get(change.emoji)
    if choice is None:
        return
    service = votes(ctx.services)
    ballot = await service.by_post(change.message_id)
    if ballot is None:
        return
    if ballot.secret:
        if change.added:
            text = ctx.t("vote.reaction_secret_refused", number=ballot.id)
            ctx.outgoing.append(Outgoing(text=text, room_name=f"@{ctx.member.username}", is_reply=False))
        return
    if ballot.status != BallotStatus.OPEN:
        if change.added:
            raise DomainError("vote_closed", number=ballot.id)
        return
    if not change.added:
        await service.unset_by_reaction(ballot.id, ctx.member, choice)
        return
    await _check_elector(ctx.members_of, ctx, ballot, ctx.member)
    await service.vote(ballot.id, ctx.member, choice, by_reaction=True)


async def on_reactions_read(services: Services, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
    """A ballot's post read whole for the first time since start: the votes given by reaction whose reaction it no
    longer shows were removed while the bot was down, and go (votes by command stay)."""
    service = votes(services)
    ballot = await service.by_post(post_id)
    if ballot is None or ballot.secret or ballot.status != BallotStatus.OPEN:
        return
    gone = await service.unset_reactions_not_shown(ballot.id, reactors_by_meaning(shown, REACTION_CHOICES))
    if gone:
        log.info("ballot %s: votes whose reaction was removed while the bot was down: %s", ballot.id, gone)


async def watched_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The posts of the open public ballots: a reaction to one of them is a vote."""
    async with sessions() as session:
        await read_only(session)
        rows = await session.scalars(
            select(Ballot.post_id)
            .where(Ballot.status == BallotStatus.OPEN, Ballot.secret.is_(False), Ballot.post_id.is_not(None))
            .order_by(Ballot.id)
        )
        return [post_id for post_id in rows if post_id]


REACTIONS = on_reaction
REACTIONS_READ = on_reactions_read
WATCHED_POSTS = watched_posts


# --- the deadline --------------------------------------------------------------------------------------------------


async def close_at_deadline(firing: Firing) -> list[Outgoing]:
    service = votes(firing.services)
    ballot = await service.get(firing.task.ref_id)
    if ballot.status != BallotStatus.OPEN:
        firing.skip("ballot already closed")
        return []
    size = await _electorate_size(firing.members_of or nobody_known, firing, ballot)
    closure = await service.close_due(ballot.id, electorate=size, late=firing.late)
    if closure is None:
        firing.skip("ballot already closed")
        return []
    text = _text(firing).result(closure)
    return [Outgoing(text=text, room_id=ballot.room_id, room_name=ballot.room_name, is_reply=False)]


async def remind_before_deadline(firing: Firing) -> list[Outgoing]:
    """A day before the deadline, in the ballot's room: the question, the deadline, and who has not voted yet (the
    electors the bot can list, mentioned so that they see it; a secret ballot records who voted, never what)."""
    service = votes(firing.services)
    ballot = await service.get(firing.task.ref_id)
    if ballot.status != BallotStatus.OPEN or ballot.deadline <= firing.now:
        firing.skip("ballot closed, or its deadline has passed")
        return []
    render = _text(firing)
    lines = [
        firing.t(
            "vote.reminder",
            number=ballot.id,
            deadline=render.when(ballot.deadline),
            question=chat_safe(ballot.question, 300),
        )
    ]
    electors = await _electors(firing.members_of or nobody_known, firing, ballot)
    if electors is not None:
        voted = {account_key(name) for name, _ in await service.voters(ballot)}
        waiting = sorted((n for n in electors if n and account_key(n) not in voted), key=str.casefold)
        if waiting:
            names, more = first_names(waiting, mention, WAITING_SHOWN)
            if more:
                names += firing.t("vote.reminder_more", more=more)
            lines.append(firing.t("vote.reminder_waiting", count=len(waiting), members=names))
    how = "vote.reminder_how_secret" if ballot.secret else "vote.reminder_how"
    lines.append(firing.t(how, number=ballot.id))
    if firing.late:
        lines.append(firing.t("vote.reminder_late"))
    return [Outgoing(text="\n".join(lines), room_id=ballot.room_id, room_name=ballot.room_name, is_reply=False)]


async def _electors(members_of: MembersOf, ctx: Context | ReactionContext | Firing, ballot: Ballot) -> list[str] | None:
    """The usernames of who may vote: the associés of the configuration, or the room's members as the transport
    lists them (None when it cannot tell)."""
    if ballot.electorate == "associes":
        return sorted(ctx.settings.votes.associes)
    members = await members_of(_room(ballot))
    return None if members is None else [m.username for m in members]


TASKS = {TASK_VOTE_DEADLINE: close_at_deadline, TASK_VOTE_REMINDER: remind_before_deadline}
