"""What a command handler gets: the message, the member, the services of this unit of work, and ways to answer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

from chatbot.clock import Clock
from chatbot.config import CircleSettings, Settings
from chatbot.db.models import Member
from chatbot.formatting import Formatter
from chatbot.grammar.base import ParseContext
from chatbot.messages import Catalogue
from chatbot.router import Router
from chatbot.services import Services
from chatbot.transport.base import (
    Attachment,
    Author,
    IncomingMessage,
    MembersOf,
    Outgoing,
    ReactionChange,
    Room,
    RoomKind,
)


async def nobody_known(room: Room) -> list[Author] | None:
    """The room-member lookup when no transport can tell (tests without one, scheduled tasks before start)."""
    return None


class UnitFields(TypedDict):
    """The UnitOfWork fields the bot fills in for each handler (typed, so that `**fields` is checked)."""

    member: Member
    is_admin: bool
    is_treasurer: bool
    settings: Settings
    t: Catalogue
    fmt: Formatter
    clock: Clock
    services: Services
    members_of: MembersOf


@dataclass(kw_only=True)
class UnitOfWork:
    """What every handler gets: who acts, the services of this transaction, texts, and what the bot will say."""

    member: Member
    is_admin: bool
    settings: Settings
    t: Catalogue
    fmt: Formatter
    clock: Clock
    services: Services
    members_of: MembersOf = nobody_known
    is_treasurer: bool = False
    outgoing: list[Outgoing] = field(default_factory=list)


@dataclass(kw_only=True)
class Context(UnitOfWork):
    """A command handler's context: the message it answers and how its arguments were parsed."""

    message: IncomingMessage
    parse: ParseContext
    router: Router

    @property
    def today(self) -> date:
        return self.clock.now().date()

    async def may_see(self, room: Room) -> bool:
        """What was said in a private room is shown only in that room, or in a direct message to one of its members
        (as the transport lists them: when it cannot, nobody outside the room). Rooms are told apart by id."""
        if room.kind is not RoomKind.GROUP or room.id == self.message.room.id:
            return True
        if not self.message.room.is_direct:
            return False
        members = await self.members_of(room)
        return members is not None and self.member.user_id in {m.id for m in members}

    async def private_rooms_seen(self, rooms: Iterable[Room]) -> set[str]:
        """The ids of those private rooms whose content may be shown here (see `may_see`)."""
        return {room.id for room in rooms if room.kind is RoomKind.GROUP and await self.may_see(room)}

    @property
    def room_circle(self) -> CircleSettings | None:
        return self.settings.circle_for_room(self.message.room.name)

    def reply(self, text: str, attachments: tuple[Attachment, ...] = (), *, id: str | None = None) -> None:
        """Answer where the command was typed (in its thread, when it was typed in one). `id`: a message id the
        bot chooses, for a post that reactions will refer to (a consent round)."""
        self.outgoing.append(
            Outgoing(
                text=text,
                room_id=self.message.room.id,
                room_name=self.message.room.name,
                thread_id=self.message.thread_id,
                attachments=attachments,
                id=id,
            )
        )

    def direct(self, username: str, text: str) -> None:
        """A direct message to a member, by username (e.g. the owner of a declaration someone else changed). It
        is sent like a post to the room `@username`; on Rocket.Chat the transport opens the direct room."""
        if username and username != self.member.username:
            self.outgoing.append(Outgoing(text=text, room_name=f"@{username}", is_reply=False))

    def reply_privately(self, text: str) -> None:
        """Answer the member in a direct message (what must not be said in the room: a secret address)."""
        self.outgoing.append(Outgoing(text=text, room_name=f"@{self.member.username}", is_reply=False))

    def post(self, room_name: str | None, text: str) -> None:
        """Say something in another room, by name (announcements, mirrors); ignored when no room is configured."""
        if not room_name or room_name == self.message.room.name:
            return
        self.outgoing.append(Outgoing(text=text, room_name=room_name, is_reply=False))


@dataclass(kw_only=True)
class ReactionContext(UnitOfWork):
    """What a reaction handler gets: the reaction, the member who reacted, the services of this unit of work."""

    change: ReactionChange

    def say_in_thread(self, text: str) -> None:
        """Answer in the thread of the message that was reacted to."""
        room, thread = self.change.room, self.change.message_id
        self.outgoing.append(Outgoing(text=text, room_id=room.id, room_name=room.name, thread_id=thread))
