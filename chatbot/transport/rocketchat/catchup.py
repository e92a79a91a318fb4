"""Catch-up: what was said in the bot's rooms while it was not listening, read back through the history endpoints.

The resume point of a room is the last instant the bot *recorded* a command there (`processed_message`), minus an
overlap (`rocketchat.catchup_overlap_seconds`). A room the bot never handled a command in starts at the last instant
recorded anywhere, or when this process started, but never further back than `max_age`.

Why the recorded instant can be trusted: the transport lets no live message of a connection be handled before that
connection's catch-up has queued what it read (see RocketChatTransport.catch_up), and the worker records messages
in the order they were queued. So whatever is recorded was preceded, in each room, by everything older that was
posted, except for one thing: Rocket.Chat stamps `ts` where a message is inserted, and the broadcast order can
differ from the `ts` order (most of all with several server instances). The overlap reads those back; what was
already recorded, queued, or is no command at all is left out here, so the overlap costs reading, not handling.

Pages are read newest first, each ending where the previous one stopped (`latest` moves down), so that messages
posted meanwhile cannot shift the pages (as an offset would).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.engine import read_only
from chatbot.db.models import ProcessedMessage
from chatbot.transport.base import RoomKind
from chatbot.transport.rocketchat.documents import RoomInfo, iso_z, parse_ts, slim
from chatbot.transport.rocketchat.rest import AuthError, RestClient, RestError

log = logging.getLogger(__name__)

PAGE = 100
HISTORY_ENDPOINT = {
    RoomKind.CHANNEL: "channels.history",
    RoomKind.GROUP: "groups.history",
    RoomKind.DIRECT: "dm.history",
}


@dataclass(frozen=True, slots=True)
class Missed:
    """A command read back: its document (slim), its room and its instant."""

    ts: datetime
    document: dict[str, Any]
    room: RoomInfo

    @property
    def id(self) -> str:
        return str(self.document["_id"])


async def last_processed(sessions: async_sessionmaker[AsyncSession], room_ids: list[str]) -> dict[str | None, datetime]:
    """The last processed instant of each room (key None: of any room)."""
    async with sessions() as session:
        await read_only(session)
        rows = (
            await session.execute(
                select(ProcessedMessage.room_id, func.max(ProcessedMessage.ts))
                .where(ProcessedMessage.room_id.in_(room_ids))
                .group_by(ProcessedMessage.room_id)
            )
        ).all()
        overall = await session.scalar(select(func.max(ProcessedMessage.ts)))
    result: dict[str | None, datetime] = {room_id: ts for room_id, ts in rows if ts is not None}
    if overall is not None:
        result[None] = overall
    return result


async def recorded_since(sessions: async_sessionmaker[AsyncSession], since: dict[str, datetime]) -> set[str]:
    """The ids of the messages recorded in each room from its `since` on: the overlap's already handled part."""
    found: set[str] = set()
    async with sessions() as session:
        await read_only(session)
        for room_id, moment in since.items():
            found.update(
                await session.scalars(
                    select(ProcessedMessage.message_id).where(
                        ProcessedMessage.room_id == room_id, ProcessedMessage.ts >= moment
                    )
                )
            )
    return found


async def history_since(rest: RestClient, room: RoomInfo, since: datetime) -> list[dict[str, Any]]:
    """Every message of the room from `since` (inclusive), oldest first.

    Each page asks for the messages up to the oldest instant of the previous one, inclusive: messages that share
    that instant come again (kept once, by id), and the reading ends with a page that brings nothing new. The page
    size is not trusted to end it (an administrator may lower `API_Upper_Count_Limit`). Only a page of messages all
    sharing one instant would make no progress that way: the next page then skips what was read at that instant."""
    endpoint = HISTORY_ENDPOINT[room.kind]
    messages: dict[str, dict[str, Any]] = {}
    latest: str | None = None  # as the server reads it: milliseconds
    offset = 0
    while True:
        params = {
            "roomId": room.id,
            "oldest": iso_z(since),
            "inclusive": "true",
            "showThreadMessages": "true",
            "count": str(PAGE),
        }
        if latest is not None:
            params["latest"] = latest
        if offset:
            params["offset"] = str(offset)
        reply = await rest.get(endpoint, **params)
        page = [
            d
            for d in (reply.get("messages", []) if isinstance(reply, dict) else [])
            if isinstance(d, dict) and isinstance(d.get("_id"), str)
        ]
        new = [d for d in page if d["_id"] not in messages]
        for document in new:
            messages[document["_id"]] = slim(document)
        stamps = [ts for ts in (parse_ts(d.get("ts")) for d in page) if ts is not None]
        if not stamps:
            break  # an empty page (or one without a single readable instant): nothing older to ask for
        oldest = iso_z(min(stamps))
        if oldest == latest:
            offset += len(page)  # every message of the page at one instant: step over them
        elif new:
            latest, offset = oldest, 0
        else:
            break  # only what was read already: the range is read down to `since`
    return sorted(messages.values(), key=lambda d: (parse_ts(d.get("ts")) or since, d["_id"]))


async def read_missed(
    rest: RestClient,
    sessions: async_sessionmaker[AsyncSession],
    rooms: list[RoomInfo],
    *,
    is_command: Callable[[dict[str, Any]], bool],
    known: Callable[[str], bool],
    started_at: datetime,
    now: datetime,
    max_age: timedelta,
    overlap: timedelta,
) -> list[Missed]:
    """The commands of every room from its resume point that are neither recorded nor `known` (queued already),
    all rooms merged in time order.

    Time order across rooms matters: a room with no command of its own starts at the last instant processed
    anywhere, so a later message of another room must not be recorded (and then a crash strike) before it.
    """
    marks = await last_processed(sessions, [room.id for room in rooms])
    floor = now - max_age
    since = {room.id: max((marks.get(room.id) or marks.get(None) or started_at) - overlap, floor) for room in rooms}
    read: list[Missed] = []
    for room in rooms:
        try:
            documents = await history_since(rest, room, since[room.id])
        except AuthError:
            raise  # the bot's own credentials: no room can be read, try again later
        except RestError as error:  # this room refuses (left, or no right to read it): the others go on
            log.error("catch-up: the history of %s cannot be read (%s): skipped", room.name or room.id, error)
            continue
        commands = [d for d in documents if is_command(d) and not known(d["_id"])]
        read += [Missed(parse_ts(d.get("ts")) or since[room.id], d, room) for d in commands]
        if documents:
            log.info(
                "catch-up: %d message(s) read in %s since %s, %d command(s) among them",
                len(documents),
                room.name or room.id,
                iso_z(since[room.id]),
                len(commands),
            )
    if read:
        recorded = await recorded_since(sessions, {m.room.id: since[m.room.id] for m in read})
        read = [m for m in read if m.id not in recorded]
    read.sort(key=lambda m: (m.ts, m.id))
    return read
