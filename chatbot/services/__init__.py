"""The domain: members, envelopes and budgets, contributions. No chat objects and no chat text here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.services.budget import BudgetService
from chatbot.services.contributions import ContributionService
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
    meetings: MeetingService

    @classmethod
    def bind(cls, session: AsyncSession, settings: Settings, clock: Clock) -> Services:
        members = MemberService(session, settings, clock)
        budget = BudgetService(session, settings, clock)
        contributions = ContributionService(session, settings, clock, budget)
        tasks = TaskService(session, clock)
        return cls(members, budget, contributions, tasks, MeetingService(session, settings, clock, tasks))
