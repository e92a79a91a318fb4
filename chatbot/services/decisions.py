"""The decision register: every adopted round, searchable and exportable."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import ConsentPosition, ConsentRound, Decision, Member, PositionKind
from chatbot.errors import DomainError
from chatbot.services.consent import Answer, ConsentService
from chatbot.text import fold


@dataclass(frozen=True)
class DecisionEntry:
    decision: Decision
    author: str
    rounds: list[int]  # the rounds that led to it, oldest first
    concerns: list[Answer]
    room_name: str | None


class DecisionService:
    def __init__(self, session: AsyncSession, consent: ConsentService) -> None:
        self.session = session
        self.consent = consent

    async def get(self, number: int) -> DecisionEntry:
        decision = await self.session.get(Decision, number)
        if decision is None:
            raise DomainError("decision_unknown", number=number)
        return await self._entry(decision)

    async def search(self, circle: str | None, keyword: str, limit: int = 15) -> tuple[list[DecisionEntry], int]:
        """Newest first; the keyword matches the text with accents and case ignored."""
        query = select(Decision).order_by(Decision.id.desc())
        if circle is not None:
            query = query.where(Decision.circle == circle)
        decisions = list((await self.session.scalars(query)).all())
        if keyword:
            wanted = fold(keyword)
            decisions = [d for d in decisions if wanted in fold(d.text)]
        return [await self._entry(d) for d in decisions[:limit]], len(decisions)

    async def register(self) -> list[DecisionEntry]:
        """The whole register, oldest first (export)."""
        decisions = (await self.session.scalars(select(Decision).order_by(Decision.id))).all()
        return [await self._entry(d) for d in decisions]

    async def _entry(self, decision: Decision) -> DecisionEntry:
        round_ = await self.session.get(ConsentRound, decision.round_id)
        assert round_ is not None
        author = await self.session.get(Member, decision.author_id)
        rows = await self.session.execute(
            select(ConsentPosition, Member)
            .join(Member, Member.id == ConsentPosition.member_id)
            .where(ConsentPosition.round_id == round_.id, ConsentPosition.kind == PositionKind.CONCERN)
            .order_by(ConsentPosition.id)
        )
        concerns = [Answer(m.id, m.user_id, m.username, PositionKind.CONCERN, p.reason) for p, m in rows.all()]
        return DecisionEntry(
            decision, author.username if author else "?", await self.consent.chain(round_), concerns, round_.room_name
        )
