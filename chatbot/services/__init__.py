"""The domain: members, envelopes and budgets, contributions. No chat objects and no chat text here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.services.budget import BudgetService
from chatbot.services.consent import ConsentService
from chatbot.services.contributions import ContributionService
from chatbot.services.decisions import DecisionService
from chatbot.services.meetings import MeetingService
from chatbot.services.members import MemberService
from chatbot.services.tasks import TaskService


@dataclass
class Services:
    """The services of one unit of work: they share one session, hence one transaction."""

    members: MemberService
    budget: BudgetService
    contributions: ContributionService
    tasks: TaskService
    consent: ConsentService
    decisions: DecisionService
    meetings: MeetingService
    # What further services of the same unit of work are built on (see e.g. chatbot.services.billing).
    session: AsyncSession
    settings: Settings
    clock: Clock

    @classmethod
    def bind(
        cls,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        *,
        open_years: set[int] | None = None,
        reuse_locks: bool = False,
    ) -> Services:
        """`open_years`: budget years known to be open, shared with later units of work; `reuse_locks`: see
        BudgetService."""
        members = MemberService(session, settings, clock)
        budget = BudgetService(session, settings, clock, open_years=open_years, reuse_locks=reuse_locks)
        contributions = ContributionService(session, settings, clock, budget)
        tasks = TaskService(session, clock)
        consent = ConsentService(session, settings, clock, tasks)
        meetings = MeetingService(session, settings, clock, tasks)
        decisions = DecisionService(session, consent)
        return cls(members, budget, contributions, tasks, consent, decisions, meetings, session, settings, clock)
