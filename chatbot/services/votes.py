"""Votes: one member, one vote, on a question put to a room's members or to the associés.

A public ballot keeps each member's current choice (`ballot_vote`, one row per member, changeable until the
ballot closes, by command or by reaction). A secret ballot keeps two things that cannot be joined: *that* a member
voted (`ballot_voter`: ballot and member, no id, no time) and the anonymous counts (`ballot_tally`: ballot, choice,
count; the three rows are created when the ballot opens, so no insertion order follows the voters). Both are
written in the same transaction. A secret vote cannot be changed: changing it would need to know which count to
lower, that is, to keep the link the secret forbids.

Voting takes a shared lock on the ballot and closing an exclusive one (PostgreSQL), so no vote slips in after the
result was counted; SQLite gets the same from BEGIN IMMEDIATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.models import Ballot, BallotStatus, BallotTally, BallotVote, BallotVoter, Decision, Member
from chatbot.errors import DomainError, PermissionDenied
from chatbot.grammar.vote_arguments import CHOICES, Choice
from chatbot.services.limits import MAX_PROPOSAL, check_length
from chatbot.services.tasks import TaskService
from chatbot.wiki import schedule_publication

TASK_VOTE_DEADLINE = "vote_deadline"
TASK_VOTE_REMINDER = "vote_reminder"
REMINDER_BEFORE = timedelta(hours=24)  # the reminder, in the ballot's room, before its deadline (if it is that far)
PRIVATE = "p"  # Ballot.room_kind of a private room (transport.base.RoomKind.GROUP)


@dataclass(frozen=True)
class Counts:
    yes: int = 0
    no: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        """Members who voted, abstentions included: the participation."""
        return self.yes + self.no + self.abstain

    @property
    def expressed(self) -> int:
        """Votes « exprimés »: pour and contre, abstentions not counted."""
        return self.yes + self.no

    def of(self, choice: Choice) -> int:
        return {Choice.FOR: self.yes, Choice.AGAINST: self.no, Choice.ABSTAIN: self.abstain}[choice]


@dataclass(frozen=True)
class Outcome:
    """The result of a ballot by its rules. `None` figures are unknown (the room's members could not be listed)."""

    counts: Counts
    electorate: int | None
    majority: str  # "exprimes" or "associes"
    needed: int | None  # « pour » votes needed for the majority
    quorum_percent: int | None
    quorum_needed: int | None  # voters needed for the quorum
    quorum_met: bool | None  # None: the ballot has no quorum; False also when it could not be checked
    adopted: bool


def outcome(counts: Counts, electorate: int | None, majority: str, quorum_percent: int | None) -> Outcome:
    """Adopted when « pour » has the majority by the ballot's rule and the quorum (if any) is met.

    "exprimes": more « pour » than half of pour + contre (abstentions are not counted), so a tie is not adopted.
    "associes": more « pour » than half of the whole electorate (« plus de la moitié du nombre total
    d'associés »); unknown electorate: not adopted. The quorum counts voters, abstentions included."""
    if majority == "associes":
        needed = electorate // 2 + 1 if electorate is not None else None
    else:
        needed = counts.expressed // 2 + 1
    majority_met = needed is not None and counts.yes >= needed and counts.yes > 0
    quorum_needed: int | None = None
    quorum_met: bool | None = None
    if quorum_percent is not None:
        if electorate is not None:
            quorum_needed = -(-electorate * quorum_percent // 100)  # rounded up: 50 % of 5 is 3
            quorum_met = counts.cast >= quorum_needed
        else:
            quorum_met = False
    adopted = majority_met and quorum_met is not False
    return Outcome(counts, electorate, majority, needed, quorum_percent, quorum_needed, quorum_met, adopted)


@dataclass(frozen=True)
class VoteChange:
    ballot: Ballot
    choice: Choice | None  # None: the vote was taken back (a reaction removed)
    previous: Choice | None  # always None for a secret ballot


@dataclass(frozen=True)
class Closure:
    ballot: Ballot
    outcome: Outcome
    decision: Decision | None


async def ballot_counts(session: AsyncSession, ballot: Ballot) -> Counts:
    """A ballot's counts: from the anonymous tallies of a secret ballot, from the members' choices of a public one."""
    if ballot.secret:
        rows = await session.execute(
            select(BallotTally.choice, BallotTally.count).where(BallotTally.ballot_id == ballot.id)
        )
    else:
        rows = await session.execute(
            select(BallotVote.choice, func.count()).where(BallotVote.ballot_id == ballot.id).group_by(BallotVote.choice)
        )
    found = {choice: count for choice, count in rows.all()}
    return Counts(
        found.get(Choice.FOR.value, 0), found.get(Choice.AGAINST.value, 0), found.get(Choice.ABSTAIN.value, 0)
    )


class VoteService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, tasks: TaskService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.tasks = tasks

    # --- opening ---------------------------------------------------------------------------------------------

    async def open(
        self,
        author: Member,
        question: str,
        *,
        room_id: str,
        room_name: str | None,
        room_kind: str,
        circle: str | None,
        deadline: datetime,
        secret: bool,
        electorate: str,
        majority: str,
        quorum_percent: int | None,
    ) -> Ballot:
        check_length(question, MAX_PROPOSAL, "vote_question_too_long")
        ballot = Ballot(
            room_id=room_id,
            room_name=room_name,
            room_kind=room_kind,
            circle=circle,
            author_id=author.id,
            question=question,
            secret=secret,
            electorate=electorate,
            majority=majority,
            quorum_percent=quorum_percent,
            status=BallotStatus.OPEN,
            opened_at=self.clock.now(),
            deadline=deadline,
            closed_late=False,
        )
        self.session.add(ballot)
        await self.session.flush()
        ballot.post_id = f"vote-{ballot.id}"
        if secret:
            self.session.add_all(BallotTally(ballot_id=ballot.id, choice=c.value, count=0) for c in CHOICES)
        await self.tasks.schedule(TASK_VOTE_DEADLINE, ballot.id, deadline)
        if deadline - REMINDER_BEFORE > ballot.opened_at:
            await self.tasks.schedule(TASK_VOTE_REMINDER, ballot.id, deadline - REMINDER_BEFORE)
        await self.session.flush()
        return ballot

    # --- reading ---------------------------------------------------------------------------------------------

    async def get(self, number: int, *, lock: str | None = None) -> Ballot:
        query = select(Ballot).where(Ballot.id == number).execution_options(populate_existing=True)
        if lock == "share":
            query = query.with_for_update(read=True)
        elif lock == "update":
            query = query.with_for_update()
        ballot = await self.session.scalar(query)
        if ballot is None:
            raise DomainError("vote_unknown", number=number)
        return ballot

    async def by_post(self, post_id: str) -> Ballot | None:
        return await self.session.scalar(select(Ballot).where(Ballot.post_id == post_id))

    async def open_ballots(self) -> list[Ballot]:
        query = select(Ballot).where(Ballot.status == BallotStatus.OPEN).order_by(Ballot.id)
        return list((await self.session.scalars(query)).all())

    async def member_name(self, member_id: int) -> str:
        member = await self.session.get(Member, member_id)
        return member.username if member else "?"

    async def counts(self, ballot: Ballot) -> Counts:
        return await ballot_counts(self.session, ballot)

    async def voters(self, ballot: Ballot) -> list[tuple[str, Choice | None]]:
        """Who voted, by username; with their choice for a public ballot, never for a secret one."""
        if ballot.secret:
            names = await self.session.scalars(
                select(Member.username)
                .join(BallotVoter, BallotVoter.member_id == Member.id)
                .where(BallotVoter.ballot_id == ballot.id)
                .order_by(Member.username)
            )
            return [(name, None) for name in names]
        rows = await self.session.execute(
            select(Member.username, BallotVote.choice)
            .join(BallotVote, BallotVote.member_id == Member.id)
            .where(BallotVote.ballot_id == ballot.id)
            .order_by(Member.username)
        )
        return [(name, Choice(choice)) for name, choice in rows.all()]

    # --- voting ----------------------------------------------------------------------------------------------

    async def vote(self, number: int, member: Member, choice: Choice, *, by_reaction: bool = False) -> VoteChange:
        """Record a member's vote. Public: the current choice, changeable until closing; a reaction of the choice
        already recorded changes nothing, not even where the vote came from (after a restart every reaction comes
        back as added). Secret: once, never by reaction."""
        ballot = await self._open_ballot(number)
        if ballot.secret:
            if by_reaction:
                raise DomainError("vote_secret_no_reaction", number=number)
            return await self._vote_secretly(ballot, member, choice)
        current = await self._vote_row(ballot.id, member.id)
        previous = Choice(current.choice) if current else None
        if by_reaction and current is not None and current.choice == choice.value:
            by_reaction = current.by_reaction
        insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        values = {"choice": choice.value, "updated_at": self.clock.now(), "by_reaction": by_reaction}
        statement = insert(BallotVote).values(ballot_id=ballot.id, member_id=member.id, **values)
        statement = statement.on_conflict_do_update(index_elements=["ballot_id", "member_id"], set_=values)
        await self.session.execute(statement)
        return VoteChange(ballot, choice, previous)

    async def _vote_secretly(self, ballot: Ballot, member: Member, choice: Choice) -> VoteChange:
        insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        statement = (
            insert(BallotVoter)
            .values(ballot_id=ballot.id, member_id=member.id)
            .on_conflict_do_nothing(index_elements=["ballot_id", "member_id"])
            .returning(BallotVoter.member_id)
        )
        if (await self.session.execute(statement)).scalar() is None:
            raise DomainError("vote_secret_already", number=ballot.id)
        await self.session.execute(
            update(BallotTally)
            .where(BallotTally.ballot_id == ballot.id, BallotTally.choice == choice.value)
            .values(count=BallotTally.count + 1)
        )
        return VoteChange(ballot, choice, None)

    async def unset_by_reaction(self, number: int, member: Member, choice: Choice) -> VoteChange | None:
        """A reaction removed from a public ballot's post: the vote goes if it still is that choice and was given by
        reaction (a vote by command stays until changed)."""
        ballot = await self._open_ballot(number)
        if ballot.secret:
            return None
        current = await self._vote_row(ballot.id, member.id)
        if current is None or current.choice != choice.value or not current.by_reaction:
            return None
        await self.session.delete(current)
        await self.session.flush()
        return VoteChange(ballot, None, choice)

    async def unset_reactions_not_shown(self, number: int, shown: dict[Choice, set[str]]) -> list[str]:
        """The post as read now, `shown`: choice → user ids of its reactors. The votes given by reaction whose
        reaction is gone (removed while the bot was down) go; votes by command stay. Returns the usernames."""
        ballot = await self._open_ballot(number)
        rows = await self.session.execute(
            select(BallotVote, Member)
            .join(Member, Member.id == BallotVote.member_id)
            .where(BallotVote.ballot_id == ballot.id, BallotVote.by_reaction.is_(True))
            .order_by(Member.username)
        )
        gone: list[str] = []
        for row, member in rows.all():
            if member.user_id not in shown.get(Choice(row.choice), set()):
                await self.session.delete(row)
                gone.append(member.username)
        await self.session.flush()
        return gone

    async def _open_ballot(self, number: int) -> Ballot:
        ballot = await self.get(number, lock="share")
        if ballot.status != BallotStatus.OPEN:
            raise DomainError("vote_closed", number=number)
        return ballot

    async def _vote_row(self, ballot_id: int, member_id: int) -> BallotVote | None:
        return await self.session.scalar(
            select(BallotVote)
            .where(BallotVote.ballot_id == ballot_id, BallotVote.member_id == member_id)
            .execution_options(populate_existing=True)
        )

    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else "sqlite"

    # --- closing ---------------------------------------------------------------------------------------------

    async def close(self, number: int, actor: Member, *, is_admin: bool, electorate: int | None) -> Closure:
        """Close before the deadline: the ballot's author or an admin."""
        ballot = await self.get(number, lock="update")
        if ballot.status != BallotStatus.OPEN:
            raise DomainError("vote_closed", number=number)
        if ballot.author_id != actor.id and not is_admin:
            raise PermissionDenied("vote_not_yours", number=number, author=await self.member_name(ballot.author_id))
        return await self._finish(ballot, electorate, late=False)

    async def close_due(self, ballot_id: int, *, electorate: int | None, late: bool) -> Closure | None:
        """The deadline task: close the ballot if it is still open (it may have been closed early)."""
        ballot = await self.get(ballot_id, lock="update")
        if ballot.status != BallotStatus.OPEN:
            return None
        return await self._finish(ballot, electorate, late=late)

    async def result(self, ballot: Ballot) -> Outcome:
        """The outcome of a closed ballot, from what was recorded when it closed."""
        return outcome(await self.counts(ballot), ballot.electorate_size, ballot.majority, ballot.quorum_percent)

    async def decision_of(self, ballot: Ballot) -> int | None:
        """The number of the register's decision an adopted ballot entered, if any."""
        return await self.session.scalar(select(Decision.id).where(Decision.ballot_id == ballot.id))

    async def _finish(self, ballot: Ballot, electorate: int | None, *, late: bool) -> Closure:
        counts = await self.counts(ballot)
        if electorate is not None:
            electorate = max(electorate, counts.cast)  # members who voted then left the room were electors
        result = outcome(counts, electorate, ballot.majority, ballot.quorum_percent)
        now = self.clock.now()
        ballot.status = BallotStatus.CLOSED
        ballot.closed_at = now
        ballot.closed_late = late
        ballot.electorate_size = electorate
        ballot.adopted = result.adopted
        await self.tasks.cancel([TASK_VOTE_DEADLINE, TASK_VOTE_REMINDER], ballot.id)
        decision = None
        if result.adopted:
            decision = Decision(
                round_id=None,
                ballot_id=ballot.id,
                circle=ballot.circle,
                text=ballot.question,
                author_id=ballot.author_id,
                adopted_at=now,
                review_on=None,
                not_answered=electorate - counts.cast if electorate is not None else None,
            )
            self.session.add(decision)
            await self.session.flush()
            await schedule_publication(self.tasks, self.settings)  # the register on the wiki, if configured
        await self.session.flush()
        return Closure(ballot, result, decision)
