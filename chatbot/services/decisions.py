"""The decision register: every adopted round, searchable and exportable."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.db.models import Ballot, ConsentPosition, ConsentRound, Decision, Member, PositionKind
from chatbot.errors import DomainError
from chatbot.services.consent import PRIVATE, Answer, ConsentService
from chatbot.services.votes import Counts, ballot_counts
from chatbot.text import fold


@dataclass(frozen=True)
class IntegratedObjection:
    """An objection raised in an earlier round of the decision's chain, and the amendment that integrated it (the
    text of the round that followed)."""

    round: int
    username: str
    reason: str
    amended_in: int
    amendment: str


@dataclass(frozen=True)
class DecisionEntry:
    decision: Decision
    author: str
    rounds: list[int]  # the rounds that led to it, oldest first
    concerns: list[Answer]
    room_name: str | None
    room_id: str
    private: bool  # adopted in a private room: shown only there, or to its members in a direct message
    consents: list[Answer] = field(default_factory=list)
    stand_asides: list[Answer] = field(default_factory=list)
    objections: list[IntegratedObjection] = field(default_factory=list)  # from the earlier rounds, oldest first
    # Adopted by a vote (`/vote`) rather than by consent: the ballot's number and counts, and its electorate's size.
    ballot: int | None = None
    counts: Counts | None = None
    electorate: int | None = None

    @property
    def not_answered(self) -> int | None:
        """Members of the room who had not answered when it was adopted (None: the room's members were unknown)."""
        return self.decision.not_answered


class DecisionService:
    def __init__(self, session: AsyncSession, consent: ConsentService) -> None:
        self.session = session
        self.consent = consent

    async def get(self, number: int) -> DecisionEntry:
        decision = await self.session.get(Decision, number)
        if decision is None:
            raise DomainError("decision_unknown", number=number)
        return await self._entry(decision)

    async def private_rooms(self) -> list[tuple[str, str | None]]:
        """The private rooms (id, name) where decisions were adopted."""
        room_id, room_name, room_kind = self._room_columns()
        query = self._with_rooms(select(room_id, room_name)).where(room_kind == PRIVATE).distinct()
        return [(room, name) for room, name in (await self.session.execute(query)).all()]

    @staticmethod
    def _room_columns() -> tuple[Any, Any, Any]:
        """Where a decision was taken: its consent round's room, or its ballot's."""
        return (
            func.coalesce(ConsentRound.room_id, Ballot.room_id),
            func.coalesce(ConsentRound.room_name, Ballot.room_name),
            func.coalesce(ConsentRound.room_kind, Ballot.room_kind),
        )

    @staticmethod
    def _with_rooms(query: Any) -> Any:
        return (
            query.select_from(Decision)
            .outerjoin(ConsentRound, ConsentRound.id == Decision.round_id)
            .outerjoin(Ballot, Ballot.id == Decision.ballot_id)
        )

    async def search(
        self, circle: str | None, keyword: str, private_rooms: Collection[str] = (), limit: int = 15
    ) -> tuple[list[DecisionEntry], int]:
        """Newest first; the keyword matches the text or the name of the room the decision was taken in
        (`gouvernance`), with accents and case ignored. Decisions of private rooms are left out, but for those of
        `private_rooms` (room ids)."""
        room_id, room_name, room_kind = self._room_columns()
        query = (
            self._with_rooms(select(Decision, room_name))
            .where(or_(room_kind != PRIVATE, room_id.in_(list(private_rooms))))
            .order_by(Decision.id.desc())
        )
        if circle is not None:
            query = query.where(Decision.circle == circle)
        rows = (await self.session.execute(query)).all()
        wanted = fold(keyword).strip()
        decisions = [d for d, room in rows if not wanted or wanted in fold(d.text) or wanted in fold(room or "")]
        return [await self._entry(d) for d in decisions[:limit]], len(decisions)

    async def register(self, *, include_private: bool = False) -> list[DecisionEntry]:
        """The whole register, oldest first (export); decisions of private rooms only with `include_private`."""
        _, _, room_kind = self._room_columns()
        query = self._with_rooms(select(Decision)).order_by(Decision.id)
        if not include_private:
            query = query.where(room_kind != PRIVATE)
        decisions = (await self.session.scalars(query)).all()
        return [await self._entry(d) for d in decisions]

    async def _entry(self, decision: Decision) -> DecisionEntry:
        if decision.round_id is None:
            return await self._ballot_entry(decision)
        round_ = await self.session.get(ConsentRound, decision.round_id)
        assert round_ is not None
        author = await self.session.get(Member, decision.author_id)
        rows = await self.session.execute(
            select(ConsentPosition, Member)
            .join(Member, Member.id == ConsentPosition.member_id)
            .where(ConsentPosition.round_id == round_.id)
            .order_by(ConsentPosition.id)
        )
        answers = [Answer(m.id, m.user_id, m.username, PositionKind(p.kind), p.reason) for p, m in rows.all()]

        def of(kind: PositionKind) -> list[Answer]:
            return sorted((a for a in answers if a.kind is kind), key=lambda a: fold(a.username))

        chain = await self.consent.chain(round_)
        return DecisionEntry(
            decision,
            author.username if author else "?",
            chain,
            [a for a in answers if a.kind is PositionKind.CONCERN],
            round_.room_name,
            round_.room_id,
            round_.room_kind == PRIVATE,
            consents=of(PositionKind.CONSENT),
            stand_asides=of(PositionKind.STAND_ASIDE),
            objections=await self._integrated(chain),
        )

    async def _ballot_entry(self, decision: Decision) -> DecisionEntry:
        """A decision adopted by a vote: where and by whom it was put, and its counts (never who voted what)."""
        ballot = await self.session.get(Ballot, decision.ballot_id)
        assert ballot is not None
        author = await self.session.get(Member, decision.author_id)
        return DecisionEntry(
            decision,
            author.username if author else "?",
            [],
            [],
            ballot.room_name,
            ballot.room_id,
            ballot.room_kind == PRIVATE,
            ballot=ballot.id,
            counts=await ballot_counts(self.session, ballot),
            electorate=ballot.electorate_size,
        )

    async def _integrated(self, chain: list[int]) -> list[IntegratedObjection]:
        """The objections (with their reason) of each earlier round of the chain, with the amendment that
        followed: they are kept with the decision, not lost when the round was amended."""
        found: list[IntegratedObjection] = []
        for earlier, following in pairwise(chain):
            amendment = await self.session.get(ConsentRound, following)
            rows = await self.session.execute(
                select(ConsentPosition, Member)
                .join(Member, Member.id == ConsentPosition.member_id)
                .where(
                    ConsentPosition.round_id == earlier,
                    ConsentPosition.kind == PositionKind.OBJECTION,
                    ConsentPosition.reason != "",
                )
                .order_by(ConsentPosition.id)
            )
            found += [
                IntegratedObjection(earlier, m.username, p.reason, following, amendment.text if amendment else "")
                for p, m in rows.all()
            ]
        return found
