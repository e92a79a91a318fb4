"""Rocket.Chat message documents (realtime EJSON and REST JSON) → neutral values, and which ones to ignore."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chatbot.transport.base import Author, IncomingMessage, Room, RoomKind


def parse_ts(value: Any) -> datetime | None:
    """`{"$date": ms}` (DDP), an ISO string with Z (REST), or epoch ms; None when unreadable."""
    if isinstance(value, dict):
        value = value.get("$date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def iso_z(moment: datetime) -> str:
    """The form Rocket.Chat's history endpoints want (`rocketchat_API` does not URL-encode: no `+00:00`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class RoomInfo:
    id: str
    name: str | None
    kind: RoomKind

    def as_room(self) -> Room:
        return Room(id=self.id, name=self.name, kind=self.kind)


def room_kind(value: Any) -> RoomKind | None:
    try:
        return RoomKind(value)
    except ValueError:
        return None


KEPT_FIELDS = ("_id", "rid", "msg", "ts", "u", "tmid", "t", "editedAt", "reactions")


AUTHORS_KEPT = 10_000  # distinct authors shared between slim documents, at most (then the sharing starts again)
_authors: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}


def slim(document: dict[str, Any]) -> dict[str, Any]:
    """Only what the bot reads: catch-up may hold thousands of documents at once. Their room id and their author
    (`u`, read only) are shared between documents rather than held once per message: half the memory of a
    catch-up's documents."""
    kept = {key: document[key] for key in KEPT_FIELDS if key in document}
    room_id = kept.get("rid")
    if isinstance(room_id, str):
        kept["rid"] = sys.intern(room_id)
    author = kept.get("u")
    if isinstance(author, dict) and all(isinstance(v, str) for v in author.values()):
        key = tuple(sorted(author.items()))
        if len(_authors) >= AUTHORS_KEPT and key not in _authors:
            _authors.clear()
        kept["u"] = _authors.setdefault(key, author)
    return kept


def why_ignored(document: dict[str, Any], bot_user_id: str | None) -> str | None:
    """The reason a message document is not a command for the bot, or None when it should be handled."""
    if not isinstance(document.get("_id"), str) or not isinstance(document.get("rid"), str):
        return "malformed"
    if document.get("t"):
        return "system message"
    if document.get("editedAt") is not None:
        return "edit"
    user = document.get("u") or {}
    if bot_user_id is not None and user.get("_id") == bot_user_id:
        return "own message"
    if not isinstance(document.get("msg"), str) or not document["msg"].strip():
        return "no text"
    if parse_ts(document.get("ts")) is None:
        return "no timestamp"
    return None


def to_incoming(document: dict[str, Any], room: RoomInfo, *, thread_replies: bool) -> IncomingMessage:
    """A handled message; replies go in its thread (the command's own thread, or one it starts) when asked to."""
    user = document.get("u") or {}
    thread_id = document.get("tmid") or (
        document["_id"] if thread_replies and room.kind is not RoomKind.DIRECT else None
    )
    ts = parse_ts(document.get("ts"))
    assert ts is not None
    return IncomingMessage(
        id=document["_id"],
        room=room.as_room(),
        author=Author(
            id=str(user.get("_id", "")), username=str(user.get("username", "")), display_name=user.get("name")
        ),
        text=document["msg"],
        ts=ts,
        thread_id=thread_id,
    )


def reactions_of(document: dict[str, Any]) -> dict[str, frozenset[str]]:
    """`{":emoji:": {"usernames": [...]}}` → emoji → usernames."""
    raw = document.get("reactions") or {}
    if not isinstance(raw, dict):
        return {}
    return {
        emoji: frozenset(u for u in (value or {}).get("usernames", []) if isinstance(u, str))
        for emoji, value in raw.items()
        if isinstance(emoji, str)
    }
