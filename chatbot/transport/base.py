"""Transport interface and the neutral values exchanged with the bot."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class RoomKind(enum.StrEnum):
    CHANNEL = "c"  # public channel
    GROUP = "p"  # private group
    DIRECT = "d"  # direct message with the bot


@dataclass(frozen=True)
class Room:
    id: str
    name: str | None
    kind: RoomKind

    @property
    def is_direct(self) -> bool:
        return self.kind is RoomKind.DIRECT


@dataclass(frozen=True)
class Author:
    id: str
    username: str
    display_name: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    id: str
    room: Room
    author: Author
    text: str
    ts: datetime
    thread_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file the bot hands to the member (e.g. a CSV export)."""

    filename: str
    content: bytes
    mime_type: str = "text/csv"


@dataclass(frozen=True)
class Outgoing:
    """Something the bot says: a reply where the command was typed, or a post in another room (by name).

    `id`, when set, is the message id the bot chooses itself (deterministic, e.g. "consent-12"): a resend after a
    crash can then be recognised as already posted, and reactions to the post can be traced back to what it is.
    """

    text: str
    room_id: str | None = None
    room_name: str | None = None
    thread_id: str | None = None
    attachments: tuple[Attachment, ...] = field(default=())
    is_reply: bool = True
    id: str | None = None


@dataclass(frozen=True)
class ReactionChange:
    """A member added or removed an emoji reaction on a message (on Rocket.Chat, e.g. on a consent round's post)."""

    message_id: str
    room: Room
    user: Author
    emoji: str  # as Rocket.Chat names it, e.g. ":thumbsup:"
    added: bool


Handler = Callable[[IncomingMessage], Awaitable[list[Outgoing]]]
# Who is in a room, as the running transport can tell (None when it cannot): see Transport.room_members.
MembersOf = Callable[[Room], Awaitable[list[Author] | None]]


class Transport(Protocol):
    """A chat connection: feeds incoming messages to a handler and delivers what it returns."""

    async def run(self, handler: Handler) -> None: ...

    async def send(self, message: Outgoing) -> None: ...

    async def room_members(self, room: Room) -> list[Author] | None:
        """Who is in this room, when the chat server can tell (None when it cannot, e.g. the console). A room whose id
        is empty is known by its name only (a circle's channel, named in the configuration)."""
        ...
