"""Elections without candidates: each member nominates someone with a reason (secretly, until the facilitator
reveals all nominations together), may change it once they are revealed, then the facilitator proposes someone and
the proposal goes to a consent round. The round is the election's outcome: adopted, it is the register's decision.

Nominating locks the election's row (PostgreSQL; SQLite has one writer at a time), so that a nomination and the
reveal, or two nominations of one member, never interleave: each member has exactly one nomination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    ConsentRound,
    Decision,
    Election,
    ElectionNomination,
    ElectionPhase,
    Member,
    RoundStatus,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.services.consent import ConsentService
from chatbot.services.limits import MAX_POSITION_REASON, check_length
from chatbot.services.tasks import TaskService

TASK_NOMINATIONS_DUE = "election_nominations"


@dataclass(frozen=True)
class NominationView:
    member: str  # who nominates
    nominee: str
    reason: str
    revealed_nominee: str | None  # whom it named at the reveal (None: given after it, or not revealed yet)


@dataclass(frozen=True)
class Outcome:
    """Where the election's consent round stands (followed through its amendments)."""

    round: ConsentRound | None
    decision_id: int | None

    @property
    def elected(self) -> bool:
        return self.round is not None and self.round.status == RoundStatus.ADOPTED


@dataclass(frozen=True)
class NominationResult:
    election: Election
    previous: str | None  # the nominee it replaces, if any


class ElectionService:
    def __init__(
        self, session: AsyncSession, settings: Settings, clock: Clock, tasks: TaskService, consent: ConsentService
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.tasks = tasks
        self.consent = consent

    # --- opening and reading ---------------------------------------------------------------------------------

    async def open(
        self,
        facilitator: Member,
        *,
        role: str,
        term_months: int,
        circle: str | None,
        room_id: str,
        room_name: str | None,
        room_kind: str,
        until: datetime | None,
    ) -> Election:
        election = Election(
            circle=circle,
            room_id=room_id,
            room_name=room_name,
            room_kind=room_kind,
            facilitator_id=facilitator.id,
            role=role,
            term_months=term_months,
            phase=ElectionPhase.NOMINATING,
            opened_at=self.clock.now(),
            nominations_until=until,
        )
        self.session.add(election)
        await self.session.flush()
        election.post_id = f"election-{election.id}"
        if until is not None:
            await self.tasks.schedule(TASK_NOMINATIONS_DUE, election.id, until)
        return election

    async def get(self, number: int, *, lock: bool = False) -> Election:
        election = await self.session.get(
            Election, number, with_for_update=ROW_LOCK if lock else None, populate_existing=True
        )
        if election is None:
            raise DomainError("election_unknown", number=number)
        return election

    async def in_progress(self, room_id: str | None, phases: tuple[ElectionPhase, ...]) -> list[int]:
        """Numbers of the elections in these phases (in this room, when given), oldest first. An election whose
        proposal was adopted is done, though its phase stays `revealed`: it is left out."""
        query = select(Election).where(Election.phase.in_([p.value for p in phases])).order_by(Election.id)
        if room_id is not None:
            query = query.where(Election.room_id == room_id)
        elections = list((await self.session.scalars(query)).all())
        return [e.id for e in elections if e.round_id is None or not (await self.outcome(e)).elected]

    async def name(self, member_id: int | None) -> str:
        member = await self.session.get(Member, member_id) if member_id is not None else None
        return member.username if member else "?"

    async def nominations(self, election: Election) -> list[NominationView]:
        nominator, nominee, revealed = aliased(Member), aliased(Member), aliased(Member)
        rows = await self.session.execute(
            select(nominator.username, nominee.username, ElectionNomination.reason, revealed.username)
            .join(nominator, nominator.id == ElectionNomination.member_id)
            .join(nominee, nominee.id == ElectionNomination.nominee_id)
            .outerjoin(revealed, revealed.id == ElectionNomination.revealed_nominee_id)
            .where(ElectionNomination.election_id == election.id)
            .order_by(nominator.username)
        )
        return [NominationView(m, n, r, v) for m, n, r, v in rows.all()]

    async def own_nomination(self, election: Election, member: Member) -> NominationView | None:
        return next((n for n in await self.nominations(election) if n.member == member.username), None)

    async def outcome(self, election: Election) -> Outcome:
        """The consent round on the latest proposal, or the round that amended it, and its decision if adopted."""
        if election.round_id is None:
            return Outcome(None, None)
        round_ = await self.consent.get(election.round_id)
        for _ in range(100):
            if round_.status != RoundStatus.AMENDED:
                break
            child = await self.session.scalar(select(ConsentRound).where(ConsentRound.parent_id == round_.id))
            if child is None:
                break
            round_ = child
        decision = await self.session.scalar(select(Decision.id).where(Decision.round_id == round_.id))
        return Outcome(round_, decision)

    # --- nominations -----------------------------------------------------------------------------------------

    async def nominate(self, number: int, member: Member, nominee: Member, reason: str) -> NominationResult:
        """A nomination before the reveal; a second one replaces the first."""
        reason = reason.strip()
        check_length(reason, MAX_POSITION_REASON, "election_reason_too_long")
        election = await self.get(number, lock=True)
        if election.phase != ElectionPhase.NOMINATING:
            key = "election_cancelled" if election.phase == ElectionPhase.CANCELLED else "election_revealed_use_change"
            raise DomainError(key, number=number)
        if election.nominations_until is not None and self.clock.now() >= election.nominations_until:
            raise DomainError("election_nominations_over", number=number)
        return await self._record(election, member, nominee, reason)

    async def change(self, number: int, member: Member, nominee: Member, reason: str) -> NominationResult:
        """After the reveal and until the facilitator proposes someone: change one's nomination (or give one)."""
        reason = reason.strip()
        check_length(reason, MAX_POSITION_REASON, "election_reason_too_long")
        election = await self.get(number, lock=True)
        if election.phase == ElectionPhase.NOMINATING:
            raise DomainError("election_not_revealed_change", number=number)
        if election.phase == ElectionPhase.CANCELLED:
            raise DomainError("election_cancelled", number=number)
        if election.round_id is not None:
            raise DomainError("election_change_over", number=number)
        return await self._record(election, member, nominee, reason)

    async def _record(self, election: Election, member: Member, nominee: Member, reason: str) -> NominationResult:
        current = await self.session.scalar(
            select(ElectionNomination)
            .where(ElectionNomination.election_id == election.id, ElectionNomination.member_id == member.id)
            .execution_options(populate_existing=True)
        )
        previous = None
        if current is None:
            self.session.add(
                ElectionNomination(
                    election_id=election.id,
                    member_id=member.id,
                    nominee_id=nominee.id,
                    reason=reason,
                    updated_at=self.clock.now(),
                )
            )
        else:
            previous = await self.name(current.nominee_id)
            current.nominee_id, current.reason, current.updated_at = nominee.id, reason, self.clock.now()
        await self.session.flush()
        return NominationResult(election, previous)

    # --- the facilitator's steps -----------------------------------------------------------------------------

    async def reveal(self, number: int, actor: Member, *, is_admin: bool) -> Election:
        election = await self._facilitated(number, actor, is_admin)
        if election.phase != ElectionPhase.NOMINATING:
            raise DomainError("election_already_revealed", number=number)
        rows = await self.session.scalars(
            select(ElectionNomination).where(ElectionNomination.election_id == election.id)
        )
        nominations = list(rows.all())
        if not nominations:
            raise DomainError("election_nobody_nominated", number=number)
        for nomination in nominations:
            nomination.revealed_nominee_id = nomination.nominee_id
        election.phase = ElectionPhase.REVEALED
        election.revealed_at = self.clock.now()
        await self.tasks.cancel([TASK_NOMINATIONS_DUE], election.id)
        await self.session.flush()
        return election

    async def propose(
        self, number: int, actor: Member, *, is_admin: bool, nominee: Member, text: str, deadline: datetime
    ) -> tuple[Election, ConsentRound]:
        """Open the consent round on electing `nominee` (again after a round that was not adopted)."""
        election = await self._facilitated(number, actor, is_admin)
        if election.phase == ElectionPhase.NOMINATING:
            raise DomainError("election_not_revealed_propose", number=number)
        outcome = await self.outcome(election)
        if outcome.round is not None and outcome.round.status == RoundStatus.OPEN:
            raise DomainError("election_round_open", number=number, round=outcome.round.id)
        if outcome.elected:
            raise DomainError("election_done", number=number)
        round_ = await self.consent.open(
            actor,
            text,
            circle=election.circle,
            room_id=election.room_id,
            room_name=election.room_name,
            room_kind=election.room_kind,
            deadline=deadline,
            review=None,
        )
        election.round_id, election.nominee_id = round_.id, nominee.id
        await self.session.flush()
        return election, round_

    async def cancel(self, number: int, actor: Member, *, is_admin: bool) -> Election:
        election = await self._facilitated(number, actor, is_admin)
        outcome = await self.outcome(election)
        if outcome.round is not None and outcome.round.status == RoundStatus.OPEN:
            raise DomainError("election_round_open", number=number, round=outcome.round.id)
        if outcome.elected:
            raise DomainError("election_done", number=number)
        election.phase = ElectionPhase.CANCELLED
        await self.tasks.cancel([TASK_NOMINATIONS_DUE], election.id)
        await self.session.flush()
        return election

    async def _facilitated(self, number: int, actor: Member, is_admin: bool) -> Election:
        """The election, locked, if `actor` facilitates it (or is an admin, standing in for an absent facilitator)."""
        election = await self.get(number, lock=True)
        if election.phase == ElectionPhase.CANCELLED:
            raise DomainError("election_cancelled", number=number)
        if election.facilitator_id != actor.id and not is_admin:
            raise PermissionDenied(
                "election_not_facilitator", number=number, facilitator=await self.name(election.facilitator_id)
            )
        return election

    async def nominations_due(self, election_id: int) -> Election | None:
        """The nominations' deadline: the election, if it still waits for its reveal."""
        election = await self.session.get(Election, election_id, populate_existing=True)
        if election is None or election.phase != ElectionPhase.NOMINATING:
            return None
        return election
