"""Members as the chat server knows them, recorded on first contact."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import bindparam, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings, account_key, holds_role
from chatbot.db.models import Member
from chatbot.errors import DomainError

IMPORTED_PREFIX = "import:"  # user ids of the members `chatbot import` created (see chatbot.importer)
_BY_USER_IDS = select(Member).where(Member.user_id.in_(bindparam("user_ids", expanding=True)))  # built once


class MemberService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        # Rows already read in this unit of work (a batch of messages shares one), by chat user id.
        self._by_user_id: dict[str, Member] = {}

    def _known(self, user_id: str) -> Member | None:
        member = self._by_user_id.get(user_id)
        if member is not None and not inspect(member).persistent:  # created in a savepoint since rolled back
            del self._by_user_id[user_id]
            return None
        return member

    async def preload(self, user_ids: Collection[str], known: Mapping[str, Member] | None = None) -> None:
        """Have these users' member rows ready for the `ensure` calls of a batch of messages: those in `known`
        (rows read by earlier units of work, see `known`) without asking the database, the others in one query."""
        missing = []
        for user_id in user_ids:
            member = known.get(user_id) if known is not None else None
            if member is None:
                missing.append(user_id)
            else:
                self._by_user_id[user_id] = await self.session.merge(member, load=False)
        if missing:
            for member in await self.session.scalars(_BY_USER_IDS, {"user_ids": missing}):
                self._by_user_id[member.user_id] = member

    def known(self) -> dict[str, Member]:
        """The member rows this unit of work read or wrote, by chat user id: once it has committed, they may be
        handed to a later unit's `preload` (members are only ever created and renamed by the bot itself)."""
        return dict(self._by_user_id)

    async def ensure(self, user_id: str, username: str, display_name: str | None = None) -> Member:
        """The member row for this chat user, created or refreshed (usernames can change)."""
        username, display_name = username[:120], (display_name[:200] if display_name else None)
        member = self._known(user_id)
        if member is not None and inspect(member).expired_attributes:
            await self.session.refresh(member)  # a rolled-back savepoint had changed it
        if member is None:
            member = await self.session.scalar(select(Member).where(Member.user_id == user_id))
            if member is None:
                member = await self._imported(user_id, username)
            if member is not None:
                self._by_user_id[user_id] = member
        if member is None:
            member = await self._create(user_id, username, display_name)
            self._by_user_id[user_id] = member
        elif member.username != username or (display_name and member.display_name != display_name):
            member.username = username
            member.display_name = display_name or member.display_name
        return member

    async def _imported(self, user_id: str, username: str) -> Member | None:
        """The row `chatbot import` created for this account before its first message (`import:<account key>`),
        which becomes the member's own: the imported declarations are theirs. Matched on the exact account,
        as rights are."""
        row = await self.session.scalar(select(Member).where(Member.user_id == IMPORTED_PREFIX + account_key(username)))
        if row is not None:
            row.user_id = user_id
        return row

    async def _create(self, user_id: str, username: str, display_name: str | None) -> Member:
        """A new member row; when another unit of work creates the same one at the same moment (a member's first
        messages handled side by side), theirs is the row."""
        member = Member(user_id=user_id, username=username, display_name=display_name, created_at=self.clock.now())
        try:
            async with self.session.begin_nested():
                self.session.add(member)
        except IntegrityError:
            existing = await self.session.scalar(select(Member).where(Member.user_id == user_id))
            if existing is None:
                raise
            return existing
        return member

    async def by_username(self, username: str) -> Member:
        """The member of that account: the name as written, only the case of A-Z ignored (as for rights).

        SQL's lower() folds only ASCII on SQLite and every letter on PostgreSQL: the query asks for a superset on
        either, and the account rule picks among it, so that both databases find the same member."""
        wanted = account_key(username)
        lowered = func.lower(Member.username)
        query = (
            select(Member)
            .where(or_(Member.username == username, lowered == wanted, lowered == username.lower()))
            .order_by(Member.id)
        )
        member = next((m for m in await self.session.scalars(query) if account_key(m.username) == wanted), None)
        if member is None:
            raise DomainError("member_unknown", username=username)
        return member

    def is_admin(self, member: Member) -> bool:
        """Rights go to the exact account (see config.account_key): never to a look-alike name."""
        return holds_role(member.username, self.settings.admins)

    def is_treasurer(self, member: Member) -> bool:
        return holds_role(member.username, self.settings.treasurers)
