"""Co-budget rounds: an amount shared equally among the members who take part, who give it to submitted projects.

Phases, by date (Europe/Paris): projects are submitted until the end of the first day; funding opens then (a
scheduled task freezes the participants and fixes the equal share) and lasts until the end of the second day, when
another task closes the round. Both tasks are rows: they survive a restart and fire late rather than never.

Money is integer cents. The share is floor(amount / participants); the remainder is stated, never handed out.
The participants are frozen when funding opens: those who said `participer` before, and the configured room's
members as the chat server lists them then; a member asking to take part later is refused (the shares would
change under the others' gifts). A gift is capped at what the project still needs (what fits is accepted, and
the reply says so); a gift above the member's balance is refused. At the close, what nobody gave is reported as
unallocated and stays with the cooperative: nothing is redistributed behind the members' backs. Every change is
an append-only `CobudgetEvent`; the running totals on projects and participants equal the sums of the events
(`recomputed`).

Concurrency (PostgreSQL): a gift takes a shared lock on its round, then a row lock on the member's participation,
then on the project; the close and the opening of funding take the round's row lock first. So a gift either
lands before the close counts, or is refused after it, and two gifts never overdraw a balance nor overfill a
project. SQLite runs one writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    CobudgetEvent,
    CobudgetParticipant,
    CobudgetPhase,
    CobudgetProject,
    CobudgetProjectStatus,
    CobudgetRound,
    Envelope,
    Member,
)
from chatbot.errors import DomainError, PermissionDenied
from chatbot.services.budget import BudgetService
from chatbot.services.limits import MAX_DESCRIPTION, check_length
from chatbot.services.tasks import TaskService

TASK_FUNDING = "cobudget_funding"
TASK_CLOSE = "cobudget_close"
TASK_REMINDER = "cobudget_reminder"  # a day before the vote closes, if it lasts longer than that
REMINDER_BEFORE = timedelta(hours=24)
MAX_NAME = 120
GIVE, WITHDRAW, RETURN = "give", "withdraw", "return"
ACTIVE = (CobudgetPhase.SUBMISSION, CobudgetPhase.FUNDING, CobudgetPhase.SECOND_PASS)
OPENING_LOCK = 0x436F6275  # the advisory lock key of a round's opening ("Cobu"): one round open at a time


@dataclass(frozen=True)
class Gift:
    project: CobudgetProject
    participant: CobudgetParticipant
    asked_cents: int
    moved_cents: int  # what was given (capped at the project's need) or withdrawn

    @property
    def capped(self) -> bool:
        return self.moved_cents < self.asked_cents


@dataclass(frozen=True)
class Holding:
    project: CobudgetProject
    cents: int


@dataclass(frozen=True)
class Standing:
    """A member in a round: their share, what they gave, and where."""

    participant: CobudgetParticipant | None
    holdings: tuple[Holding, ...]

    @property
    def balance_cents(self) -> int:
        p = self.participant
        return p.share_cents - p.given_cents if p else 0


@dataclass
class Closure:
    round: CobudgetRound
    funded: list[CobudgetProject] = field(default_factory=list)
    unfunded: list[CobudgetProject] = field(default_factory=list)
    returned: dict[int, int] = field(default_factory=dict)  # project id → what went back from it to the members
    unallocated_cents: int = 0  # what the participants hold and gave to no project
    final: bool = True  # False: a second pass follows (see CobudgetSettings)

    @property
    def returned_cents(self) -> int:
        return sum(self.returned.values())

    def received_cents(self, project: CobudgetProject) -> int:
        """What the project had at the close, before any of it went back."""
        return project.funded_cents + self.returned.get(project.id, 0)


def start_of_day_after(day: date, clock: Clock) -> datetime:
    """The instant a phase ending on `day` (included) is over: midnight after it, in the bot's time zone."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=clock.tz)


class CobudgetService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, tasks: TaskService) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.tasks = tasks

    # --- reading ---------------------------------------------------------------------------------------------

    async def active(self) -> CobudgetRound | None:
        """The round not closed yet (there is at most one)."""
        return await self.session.scalar(
            select(CobudgetRound).where(CobudgetRound.phase.in_(list(ACTIVE))).order_by(CobudgetRound.id.desc())
        )

    async def latest(self) -> CobudgetRound | None:
        return await self.session.scalar(select(CobudgetRound).order_by(CobudgetRound.id.desc()))

    async def current(self) -> CobudgetRound:
        round_ = await self.active()
        if round_ is None:
            raise DomainError("cobudget_no_round")
        return round_

    async def get(self, number: int, *, lock: str | None = None) -> CobudgetRound:
        query = select(CobudgetRound).where(CobudgetRound.id == number).execution_options(populate_existing=True)
        if lock == "share":
            query = query.with_for_update(read=True)
        elif lock == "update":
            query = query.with_for_update(**ROW_LOCK)
        round_ = await self.session.scalar(query)
        if round_ is None:
            raise DomainError("cobudget_round_unknown", number=number)
        return round_

    async def projects(self, round_: CobudgetRound) -> list[CobudgetProject]:
        query = select(CobudgetProject).where(CobudgetProject.round_id == round_.id).order_by(CobudgetProject.id)
        return list((await self.session.scalars(query)).all())

    async def project(self, number: int, *, lock: bool = False) -> CobudgetProject:
        if lock:
            found = await self.session.get(CobudgetProject, number, with_for_update=ROW_LOCK, populate_existing=True)
        else:
            found = await self.session.get(CobudgetProject, number)
        if found is None:
            raise DomainError("cobudget_project_unknown", number=number)
        return found

    async def participants(self, round_: CobudgetRound) -> list[CobudgetParticipant]:
        query = (
            select(CobudgetParticipant)
            .where(CobudgetParticipant.round_id == round_.id)
            .order_by(CobudgetParticipant.id)
        )
        return list((await self.session.scalars(query)).all())

    async def participant(
        self, round_: CobudgetRound, member: Member, *, lock: bool = False
    ) -> CobudgetParticipant | None:
        query = select(CobudgetParticipant).where(
            CobudgetParticipant.round_id == round_.id, CobudgetParticipant.member_id == member.id
        )
        if lock:
            query = query.with_for_update(**ROW_LOCK).execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def standing(self, round_: CobudgetRound, member: Member) -> Standing:
        participant = await self.participant(round_, member)
        rows = await self.session.execute(
            select(CobudgetProject, func.sum(CobudgetEvent.delta_cents))
            .join(CobudgetEvent, CobudgetEvent.project_id == CobudgetProject.id)
            .where(CobudgetEvent.round_id == round_.id, CobudgetEvent.member_id == member.id)
            .group_by(CobudgetProject.id)
            .order_by(CobudgetProject.id)
        )
        holdings = tuple(Holding(project, int(cents)) for project, cents in rows.all() if cents)
        return Standing(participant, holdings)

    async def member_name(self, member_id: int) -> str:
        member = await self.session.get(Member, member_id)
        return member.username if member else "?"

    async def events(self, round_: CobudgetRound) -> list[tuple[CobudgetEvent, str]]:
        rows = await self.session.execute(
            select(CobudgetEvent, Member.username)
            .join(Member, Member.id == CobudgetEvent.member_id)
            .where(CobudgetEvent.round_id == round_.id)
            .order_by(CobudgetEvent.id)
        )
        return [(event, username) for event, username in rows.all()]

    async def recomputed(self, round_: CobudgetRound) -> tuple[dict[int, int], dict[int, int]]:
        """What the events add up to: per project, and per member."""
        per_project = dict(
            (
                await self.session.execute(
                    select(CobudgetEvent.project_id, func.sum(CobudgetEvent.delta_cents))
                    .where(CobudgetEvent.round_id == round_.id)
                    .group_by(CobudgetEvent.project_id)
                )
            ).all()
        )
        per_member = dict(
            (
                await self.session.execute(
                    select(CobudgetEvent.member_id, func.sum(CobudgetEvent.delta_cents))
                    .where(CobudgetEvent.round_id == round_.id)
                    .group_by(CobudgetEvent.member_id)
                )
            ).all()
        )
        return {k: int(v) for k, v in per_project.items()}, {k: int(v) for k, v in per_member.items()}

    async def received(self, round_: CobudgetRound) -> dict[int, int]:
        """What each project received during the vote (gifts less withdrawals), returns at the close left aside."""
        rows = await self.session.execute(
            select(CobudgetEvent.project_id, func.sum(CobudgetEvent.delta_cents))
            .where(CobudgetEvent.round_id == round_.id, CobudgetEvent.kind != RETURN)
            .group_by(CobudgetEvent.project_id)
        )
        return {project_id: int(cents) for project_id, cents in rows.all()}

    # --- opening and submissions ---------------------------------------------------------------------------

    async def open(
        self,
        author: Member,
        name: str,
        amount_cents: int,
        submit_until: date,
        vote_until: date,
        *,
        room_id: str,
        room_name: str | None,
        room_kind: str,
    ) -> CobudgetRound:
        name = name.strip()
        if not name:
            raise DomainError("cobudget_name_missing")
        check_length(name, MAX_NAME, "cobudget_name_too_long")
        await self.one_opening_at_a_time()
        existing = await self.active()
        if existing is not None:
            raise DomainError("cobudget_round_active", number=existing.id, name=existing.name)
        now = self.clock.now()
        round_ = CobudgetRound(
            name=name,
            amount_cents=amount_cents,
            phase=CobudgetPhase.SUBMISSION,
            author_id=author.id,
            room_id=room_id,
            room_name=room_name,
            room_kind=room_kind,
            opened_at=now,
            funding_from=start_of_day_after(submit_until, self.clock),
            closes_at=start_of_day_after(vote_until, self.clock),
        )
        self.session.add(round_)
        await self.session.flush()
        await self.tasks.schedule(TASK_FUNDING, round_.id, round_.funding_from)
        await self.tasks.schedule(TASK_CLOSE, round_.id, round_.closes_at)
        if round_.closes_at - REMINDER_BEFORE > round_.funding_from:
            await self.tasks.schedule(TASK_REMINDER, round_.id, round_.closes_at - REMINDER_BEFORE)
        return round_

    async def still_to_give(self, round_: CobudgetRound) -> list[tuple[str, int]]:
        """The participants who have not given their whole share yet, by username, with what they hold."""
        rows = await self.session.execute(
            select(Member.username, CobudgetParticipant.share_cents - CobudgetParticipant.given_cents)
            .join(Member, Member.id == CobudgetParticipant.member_id)
            .where(
                CobudgetParticipant.round_id == round_.id,
                CobudgetParticipant.share_cents > CobudgetParticipant.given_cents,
            )
            .order_by(Member.username)
        )
        return [(username, int(cents)) for username, cents in rows.all()]

    async def one_opening_at_a_time(self) -> None:
        """PostgreSQL: two admins opening at once would each see no active round and both open one. There is no
        row to lock before the round exists, so a transaction-scoped advisory lock serialises the openings: the
        second one waits for the first to commit, then sees its round. (SQLite runs one writer at a time.)"""
        bind = self.session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(OPENING_LOCK)))

    async def join(self, member: Member) -> tuple[CobudgetRound, bool]:
        """Take part in the active round; True when the member was not taking part yet. Only before funding."""
        round_ = await self.current()
        round_ = await self.get(round_.id, lock="share")
        if round_.phase != CobudgetPhase.SUBMISSION:
            raise DomainError("cobudget_join_too_late", number=round_.id, share_cents=round_.share_cents or 0)
        if await self.participant(round_, member) is not None:
            return round_, False
        self.session.add(CobudgetParticipant(round_id=round_.id, member_id=member.id, joined_at=self.clock.now()))
        await self.session.flush()
        return round_, True

    def _check_project_values(self, title: str, target: int, minimum: int | None, description: str) -> None:
        if not title.strip():
            raise DomainError("cobudget_title_missing")
        check_length(title, MAX_NAME, "cobudget_title_too_long")
        check_length(description, MAX_DESCRIPTION, "cobudget_description_too_long")
        if minimum is not None and minimum > target:
            raise DomainError("cobudget_minimum_above_target", minimum_cents=minimum, target_cents=target)

    async def _open_for_submissions(self, round_: CobudgetRound) -> None:
        if round_.phase != CobudgetPhase.SUBMISSION or self.clock.now() >= round_.funding_from:
            raise DomainError("cobudget_submissions_closed", number=round_.id)

    async def submit(
        self, author: Member, title: str, target: int, minimum: int | None, description: str
    ) -> CobudgetProject:
        round_ = await self.current()
        round_ = await self.get(round_.id, lock="share")
        await self._open_for_submissions(round_)
        self._check_project_values(title, target, minimum, description)
        now = self.clock.now()
        project = CobudgetProject(
            round_id=round_.id,
            author_id=author.id,
            title=title.strip(),
            description=description.strip(),
            target_cents=target,
            min_cents=minimum,
            funded_cents=0,
            status=CobudgetProjectStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        self.session.add(project)
        await self.session.flush()
        return project

    async def edit(
        self,
        member: Member,
        number: int,
        *,
        title: str,
        target: int,
        minimum: int | None,
        description: str,
        is_admin: bool,
    ) -> CobudgetProject:
        """The author (or an admin) rewrites a project, until funding opens: every value is the one given now."""
        project = await self.project(number)
        round_ = await self.get(project.round_id, lock="share")
        if project.author_id != member.id and not is_admin:
            raise PermissionDenied(
                "cobudget_not_author", number=number, author=await self.member_name(project.author_id)
            )
        await self._open_for_submissions(round_)
        self._check_project_values(title, target, minimum, description)
        project = await self.project(number, lock=True)
        project.title, project.target_cents, project.min_cents = title.strip(), target, minimum
        project.description = description.strip()
        project.updated_at = self.clock.now()
        return project

    # --- funding ---------------------------------------------------------------------------------------------

    async def open_funding(self, round_id: int, room_members: list[Member] | None) -> CobudgetRound | None:
        """Freeze the participants (those who said `participer`, and the configured room's members when the chat
        server lists them) and fix the equal share. None when funding is already open (the task fired twice)."""
        round_ = await self.get(round_id, lock="update")
        if round_.phase != CobudgetPhase.SUBMISSION:
            return None
        now = self.clock.now()
        taking_part = {p.member_id for p in await self.participants(round_)}
        for member in room_members or ():
            if member.id not in taking_part:
                self.session.add(CobudgetParticipant(round_id=round_.id, member_id=member.id, joined_at=now))
                taking_part.add(member.id)
        await self.session.flush()
        count = len(taking_part)
        share = round_.amount_cents // count if count else 0
        for participant in await self.participants(round_):
            participant.share_cents = share
        round_.participants = count
        round_.share_cents = share
        round_.remainder_cents = round_.amount_cents - share * count
        round_.phase = CobudgetPhase.FUNDING
        round_.funding_opened_at = now
        return round_

    async def _funding_round(self, project: CobudgetProject) -> CobudgetRound:
        round_ = await self.get(project.round_id, lock="share")
        now = self.clock.now()
        if round_.phase == CobudgetPhase.SUBMISSION:
            raise DomainError(
                "cobudget_funding_not_open",
                number=round_.id,
                opens=round_.funding_from.astimezone(self.clock.tz).date(),
            )
        if round_.phase == CobudgetPhase.CLOSED or now >= round_.closes_at:
            raise DomainError("cobudget_funding_closed", number=round_.id)
        return round_

    async def _participation(self, round_: CobudgetRound, member: Member) -> CobudgetParticipant:
        participant = await self.participant(round_, member, lock=True)
        if participant is None:
            raise DomainError("cobudget_not_participant", number=round_.id)
        return participant

    def _event(self, project: CobudgetProject, member_id: int, kind: str, delta: int) -> None:
        self.session.add(
            CobudgetEvent(
                round_id=project.round_id,
                project_id=project.id,
                member_id=member_id,
                kind=kind,
                delta_cents=delta,
                at=self.clock.now(),
            )
        )

    async def give(self, member: Member, number: int, cents: int) -> Gift:
        project = await self.project(number)
        round_ = await self._funding_round(project)
        participant = await self._participation(round_, member)
        project = await self.project(number, lock=True)
        if round_.phase == CobudgetPhase.SECOND_PASS and project.status != CobudgetProjectStatus.FUNDED:
            raise DomainError("cobudget_second_pass_only_funded", number=number)
        balance = participant.share_cents - participant.given_cents
        if balance <= 0:
            raise DomainError("cobudget_no_balance_left")
        if cents > balance:
            raise DomainError("cobudget_over_balance", amount_cents=cents, balance_cents=balance, number=number)
        need = project.target_cents - project.funded_cents
        if need <= 0:
            raise DomainError("cobudget_project_full", number=number, target_cents=project.target_cents)
        moved = min(cents, need)
        participant.given_cents += moved
        project.funded_cents += moved
        self._event(project, member.id, GIVE, moved)
        return Gift(project, participant, cents, moved)

    async def withdraw(self, member: Member, number: int, cents: int) -> Gift:
        project = await self.project(number)
        round_ = await self._funding_round(project)
        if round_.phase == CobudgetPhase.SECOND_PASS:
            raise DomainError("cobudget_second_pass_no_withdraw", number=number)
        participant = await self._participation(round_, member)
        project = await self.project(number, lock=True)
        held = int(
            await self.session.scalar(
                select(func.coalesce(func.sum(CobudgetEvent.delta_cents), 0)).where(
                    CobudgetEvent.project_id == project.id, CobudgetEvent.member_id == member.id
                )
            )
            or 0
        )
        if held <= 0:
            raise DomainError("cobudget_nothing_to_withdraw", number=number)
        if cents > held:
            raise DomainError("cobudget_withdraw_over", amount_cents=cents, held_cents=held, number=number)
        participant.given_cents -= cents
        project.funded_cents -= cents
        self._event(project, member.id, WITHDRAW, -cents)
        return Gift(project, participant, cents, cents)

    # --- closing ---------------------------------------------------------------------------------------------

    async def close(self, round_id: int) -> Closure | None:
        """At the deadline: projects at or above their minimum (their target when they have none) keep their
        money; the others' money goes back to the members who gave it. None when already closed.

        With the second pass configured, and money returned while a funded project is still short of its target,
        the round stays open `second_pass_days` more days (the close's day counted, until midnight) for gifts to
        those projects only; its end closes it."""
        round_ = await self.get(round_id, lock="update")
        if round_.phase in (CobudgetPhase.CLOSED, CobudgetPhase.SUBMISSION):
            return None  # closed already; or funding never opened (its task, due earlier, fires first)
        closure = Closure(round_)
        projects = [await self.project(p.id, lock=True) for p in await self.projects(round_)]
        if round_.phase == CobudgetPhase.FUNDING:
            for project in projects:
                floor = project.min_cents if project.min_cents is not None else project.target_cents
                if project.funded_cents >= floor and project.funded_cents > 0:
                    project.status = CobudgetProjectStatus.FUNDED
                else:
                    project.status = CobudgetProjectStatus.UNFUNDED
                    closure.returned[project.id] = await self._give_back(round_, project)
        closure.funded = [p for p in projects if p.status == CobudgetProjectStatus.FUNDED]
        closure.unfunded = [p for p in projects if p.status == CobudgetProjectStatus.UNFUNDED]
        participants = await self.participants(round_)
        closure.unallocated_cents = sum(p.share_cents - p.given_cents for p in participants)
        short = any(p.funded_cents < p.target_cents for p in closure.funded)
        settings = self.settings.cobudget
        if round_.phase == CobudgetPhase.FUNDING and settings.second_pass and closure.returned_cents and short:
            round_.phase = CobudgetPhase.SECOND_PASS
            # Whole days, the day of the close counted, ending at midnight like every phase: fired late in the
            # morning, it still ends when it says, not `days` × 24 h after the firing.
            today = self.clock.now().astimezone(self.clock.tz).date()
            round_.closes_at = start_of_day_after(today + timedelta(days=settings.second_pass_days - 1), self.clock)
            await self.tasks.schedule(TASK_CLOSE, round_.id, round_.closes_at)
            closure.final = False
            return closure
        round_.phase = CobudgetPhase.CLOSED
        round_.closed_at = self.clock.now()
        return closure

    async def _give_back(self, round_: CobudgetRound, project: CobudgetProject) -> int:
        """Return each member's gifts to this project (one `return` event each); the total returned."""
        rows = await self.session.execute(
            select(CobudgetEvent.member_id, func.sum(CobudgetEvent.delta_cents))
            .where(CobudgetEvent.project_id == project.id)
            .group_by(CobudgetEvent.member_id)
            .order_by(CobudgetEvent.member_id)
        )
        total = 0
        for member_id, held in rows.all():
            held = int(held)
            if held <= 0:
                continue
            participant = await self.session.scalar(
                select(CobudgetParticipant)
                .where(CobudgetParticipant.round_id == round_.id, CobudgetParticipant.member_id == member_id)
                .with_for_update(**ROW_LOCK)
                .execution_options(populate_existing=True)
            )
            assert participant is not None
            participant.given_cents -= held
            project.funded_cents -= held
            self._event(project, member_id, RETURN, -held)
            total += held
        return total

    # --- after the close -------------------------------------------------------------------------------------

    async def finance(self, actor: Member, number: int, budget: BudgetService) -> tuple[CobudgetProject, Envelope]:
        """Make a funded project an envelope of the contributory budget, for its amount, in the current year; once."""
        project = await self.project(number, lock=True)
        round_ = await self.get(project.round_id)
        if round_.phase != CobudgetPhase.CLOSED or project.status != CobudgetProjectStatus.FUNDED:
            raise DomainError("cobudget_not_funded", number=number)
        if project.envelope_id is not None:
            envelope = await self.session.get(Envelope, project.envelope_id)
            raise DomainError("cobudget_already_financed", number=number, envelope=envelope.slug if envelope else "?")
        year = budget.current_year()
        envelope = await budget.create(actor, f"cobudget-{project.id}", project.title[:80], project.funded_cents, year)
        project.envelope_id = envelope.id
        return project, envelope
