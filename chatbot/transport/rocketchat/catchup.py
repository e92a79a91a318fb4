"""Catch-up: what was said in the bot's rooms while it was not listening, read back through the history endpoints.

After every (re)connection, restart or database recovery, each room is read from the last instant the bot
processed there (inclusive: the boundary message comes again and is deduplicated by id), with thread messages,
page after page, and fed to the intake oldest first. A room the bot never handled a command in starts at the last
instant processed anywhere, or when this process started, but never further back than `max_age`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.models import ProcessedMessage
from chatbot.transport.base import RoomKind
from chatbot.transport.rocketchat.documents import RoomInfo, iso_z, parse_ts, slim
from chatbot.transport.rocketchat.rest import RestClient

log = logging.getLogger(__name__)

PAGE = 100
HISTORY_ENDPOINT = {
    RoomKind.CHANNEL: "channels.history",
    RoomKind.GROUP: "groups.history",
    RoomKind.DIRECT: "dm.history",
}

Feed = Callable[[dict[str, Any], RoomInfo], Awaitable[None]]


async def last_processed(sessions: async_sessionmaker[AsyncSession], room_ids: list[str]) -> dict[str | None, datetime]:
    """The last processed instant of each room (key None: of any room)."""
    async with sessions() as session:
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


async def history_since(rest: RestClient, room: RoomInfo, since: datetime) -> list[dict[str, Any]]:
    """Every message of the room from `since` (inclusive), oldest first."""
    endpoint = HISTORY_ENDPOINT[room.kind]
    messages: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        reply = await rest.get(
            endpoint,
            roomId=room.id,
            oldest=iso_z(since),
            inclusive="true",
            showThreadMessages="true",
            count=str(PAGE),
            offset=str(offset),
        )
        page = reply.get("messages", []) if isinstance(reply, dict) else []
        for document in page:
            if isinstance(document, dict) and isinstance(document.get("_id"), str):
                messages.setdefault(document["_id"], slim(document))
        if len(page) < PAGE:
            break
        offset += len(page)
    return sorted(messages.values(), key=lambda d: (parse_ts(d.get("ts")) or since, d["_id"]))


async def catch_up(
    rest: RestClient,
    sessions: async_sessionmaker[AsyncSession],
    rooms: list[RoomInfo],
    feed: Feed,
    *,
    started_at: datetime,
    now: datetime,
    max_age: timedelta,
) -> int:
    """Feed every room's missed messages to the intake, all rooms merged in time order; returns how many.

    Time order across rooms matters: a room with no command of its own starts at the last instant processed
    anywhere, so a later message of another room must not be handled (and then a crash strikes) before it.
    """
    marks = await last_processed(sessions, [room.id for room in rooms])
    floor = now - max_age
    missed: list[tuple[datetime, str, dict[str, Any], RoomInfo]] = []
    for room in rooms:
        since = max(marks.get(room.id) or marks.get(None) or started_at, floor)
        documents = await history_since(rest, room, since)
        missed += [(parse_ts(d.get("ts")) or since, d["_id"], d, room) for d in documents]
        if documents:
            log.info("catch-up: %d message(s) in %s since %s", len(documents), room.name or room.id, since)
    missed.sort(key=lambda item: (item[0], item[1]))
    for _, _, document, room in missed:
        await feed(document, room)
    return len(missed)
