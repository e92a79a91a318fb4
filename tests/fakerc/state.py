"""What the fake Rocket.Chat holds: users, tokens, rooms, members and messages, as Rocket.Chat documents.

Documents are plain dicts shaped like Rocket.Chat's own (IMessage, IRoom, IUser, ISubscription), so that the REST
and DDP layers can hand them out unchanged. Timestamps are EJSON on the realtime side (``{"$date": ms}``) and ISO
strings with ``Z`` on the REST side, as Rocket.Chat serialises them; the store keeps epoch milliseconds.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

_ID_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int = 17) -> str:
    """A Meteor-style random id (17 characters of [A-Za-z0-9])."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def iso(ms: int) -> str:
    """Epoch milliseconds as Rocket.Chat's REST layer writes dates: ISO 8601, milliseconds, ``Z``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(value: str) -> int:
    """An ISO 8601 date (as ``new Date(value)`` accepts it) to epoch milliseconds; ValueError if it is not one."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass
class User:
    id: str
    username: str
    name: str
    roles: list[str]
    password: str | None = None
    tokens: set[str] = field(default_factory=set)

    @property
    def is_bot(self) -> bool:
        return "bot" in self.roles

    def brief(self) -> dict[str, Any]:
        """The ``u`` field of a message."""
        return {"_id": self.id, "username": self.username, "name": self.name}

    def document(self) -> dict[str, Any]:
        """The user as ``users.info`` / ``me`` return it."""
        return {
            "_id": self.id,
            "username": self.username,
            "name": self.name,
            "type": "bot" if self.is_bot else "user",
            "status": "online",
            "active": True,
            "roles": list(self.roles),
            "utcOffset": 0,
        }


@dataclass
class Room:
    id: str
    type: str  # "c" public channel, "p" private group, "d" direct message
    name: str | None  # None for a DM
    members: list[str]  # user ids, in join order
    created_ms: int
    updated_ms: int

    def document(self, users: dict[str, User]) -> dict[str, Any]:
        """The room as ``rooms.info`` / ``rooms.get`` return it."""
        doc: dict[str, Any] = {
            "_id": self.id,
            "t": self.type,
            "usersCount": len(self.members),
            "msgs": 0,
            "ts": iso(self.created_ms),
            "_updatedAt": iso(self.updated_ms),
            "default": False,
            "ro": False,
            "sysMes": True,
        }
        if self.type == "d":
            doc["usernames"] = [users[uid].username for uid in self.members]
            doc["uids"] = list(self.members)
        else:
            doc["name"] = self.name
            doc["fname"] = self.name
        return doc


class Store:
    """The server's data. Not thread-safe: the fake's handlers all run on one event loop."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.rooms: dict[str, Room] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # _id -> message document (ts etc. in epoch ms)
        self.room_messages: dict[str, list[str]] = {}  # rid -> message ids in ts order (insertion order for ties)
        self.room_ts: dict[str, list[int]] = {}  # rid -> the ts of room_messages, for bisecting
        self.uploads: dict[str, dict[str, Any]] = {}  # file _id -> upload record (with its bytes in "content")
        self._last_ms = 0
        self._counter = itertools.count(1)

    # -- clock ----------------------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Wall-clock milliseconds, strictly increasing so that every message has its own ``ts``."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    # -- users ----------------------------------------------------------------------------------------------------
    def add_user(
        self, username: str, *, name: str | None = None, roles: list[str] | None = None, password: str | None = None
    ) -> User:
        user = User(random_id(), username, name or username.capitalize(), roles or ["user"], password)
        self.users[user.id] = user
        return user

    def user(self, ref: str) -> User:
        """A user by id or username (KeyError when unknown)."""
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            if user.username == ref.lstrip("@"):
                return user
        raise KeyError(ref)

    def find_user(self, ref: str) -> User | None:
        try:
            return self.user(ref)
        except KeyError:
            return None

    def issue_token(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        user.tokens.add(token)
        return token

    def user_by_token(self, user_id: str | None, token: str | None) -> User | None:
        user = self.users.get(user_id or "")
        return user if user and token in user.tokens else None

    def user_by_resume_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if token in u.tokens), None)

    # -- rooms ----------------------------------------------------------------------------------------------------
    def add_room(self, name: str | None, room_type: str, members: list[str]) -> Room:
        now = self.now_ms()
        room = Room(random_id(), room_type, name, [self.user(m).id for m in members], now, now)
        self.rooms[room.id] = room
        self.room_messages[room.id] = []
        self.room_ts[room.id] = []
        return room

    def room(self, ref: str) -> Room:
        """A room by id or name (``#`` allowed); a DM by ``"alice,bot"`` (its usernames, any order)."""
        if ref in self.rooms:
            return self.rooms[ref]
        wanted = ref.lstrip("#")
        for room in self.rooms.values():
            if room.name == wanted:
                return room
        if "," in ref:
            names = sorted(n.strip().lstrip("@") for n in ref.split(","))
            for room in self.rooms.values():
                if room.type == "d" and sorted(self.users[u].username for u in room.members) == names:
                    return room
        raise KeyError(ref)

    def find_room(self, ref: str) -> Room | None:
        try:
            return self.room(ref)
        except KeyError:
            return None

    def dm(self, a: str, b: str) -> Room:
        """The direct-message room between two users, created on first use as Rocket.Chat does."""
        names = f"{self.user(a).username},{self.user(b).username}"
        return self.find_room(names) or self.add_room(None, "d", [a, b])

    def room_label(self, room: Room, viewer: User | None = None) -> str:
        """What ``roomName`` says in a stream event: the channel name, or the other party of a DM."""
        if room.type != "d":
            return room.name or ""
        others = [self.users[u].username for u in room.members if viewer is None or u != viewer.id]
        return others[0] if others else self.users[room.members[0]].username

    # -- messages -------------------------------------------------------------------------------------------------
    def insert_message(
        self,
        user: User,
        room: Room,
        text: str,
        *,
        message_id: str | None = None,
        tmid: str | None = None,
        system_type: str | None = None,
        upload: dict[str, Any] | None = None,
        description: str | None = None,
        ts: int | None = None,
    ) -> dict[str, Any]:
        """Store a message as Rocket.Chat would after ``sendMessage`` (or ``sendFileMessage`` with ``upload``);
        the caller checks ``_id`` uniqueness. ``ts`` stamps it earlier than now, as another server instance whose
        clock is behind would."""
        ts = self.now_ms() if ts is None else ts
        message: dict[str, Any] = {
            "_id": message_id or random_id(),
            "rid": room.id,
            "msg": text,
            "ts": ts,
            "u": user.brief(),
            "_updatedAt": ts,
            "mentions": self._mentions(text),
            "channels": [],
            "md": [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": text}]}],
        }
        if upload is not None:  # parseFileIntoMessageAttachments, for a file that is not an image
            brief = {"_id": upload["_id"], "name": upload["name"], "type": upload["type"], "size": upload["size"]}
            message["file"] = brief
            message["files"] = [dict(brief)]
            attachment: dict[str, Any] = {
                "title": upload["name"],
                "title_link": upload["path"],
                "title_link_download": True,
                "type": "file",
                "format": upload["name"].rsplit(".", 1)[-1].upper() if "." in upload["name"] else "",
                "size": upload["size"],
            }
            if description is not None:
                attachment["description"] = description
            message["attachments"] = [attachment]
            message["groupable"] = False
            if not text:
                message.pop("md")
        if system_type:
            message["t"] = system_type
            message["groupable"] = False
            message.pop("md")
        if tmid:
            parent = self.messages[tmid]
            message["tmid"] = parent.get("tmid") or tmid  # no nested threads, as Rocket.Chat does
            self._count_reply(self.messages[message["tmid"]], user, ts)
        self.messages[message["_id"]] = message
        place = bisect.bisect_right(self.room_ts[room.id], ts)
        self.room_ts[room.id].insert(place, ts)
        self.room_messages[room.id].insert(place, message["_id"])
        room.updated_ms = max(room.updated_ms, ts)
        return message

    def add_upload(self, user: User, room: Room, name: str, mime_type: str, content: bytes) -> dict[str, Any]:
        """A temporary upload (``rooms.media``): kept until confirmed; ``expiresAt`` 24 h on."""
        file_id = secrets.token_hex(12)  # a MongoDB ObjectId, as Uploads ids are
        now = self.now_ms()
        upload: dict[str, Any] = {
            "_id": file_id,
            "name": name,
            "type": mime_type,
            "size": len(content),
            "rid": room.id,
            "userId": user.id,
            "path": f"/file-upload/{file_id}/{quote(name)}",
            "uploadedAt": now,
            "expiresAt": now + 24 * 3600 * 1000,
            "expired": False,  # tests set it to play the 24 h expiry
            "content": content,
        }
        self.uploads[file_id] = upload
        return upload

    def _count_reply(self, parent: dict[str, Any], user: User, ts: int) -> None:
        parent["tcount"] = parent.get("tcount", 0) + 1
        parent["tlm"] = ts
        replies = parent.setdefault("replies", [])
        if user.id not in replies:
            replies.append(user.id)
        parent["_updatedAt"] = ts

    def _mentions(self, text: str) -> list[dict[str, Any]]:
        found = []
        for word in text.split():
            if word.startswith("@") and len(word) > 1:
                user = self.find_user(word[1:].rstrip(".,;:!?"))
                if user:
                    found.append(user.brief())
                elif word[1:] in ("all", "here"):
                    found.append({"_id": word[1:], "username": word[1:]})
        return found

    def set_reaction(self, message: dict[str, Any], user: User, emoji: str, should_react: bool | None) -> bool:
        """Toggle (or set, when ``should_react`` is given) a reaction; True when something changed."""
        key = emoji if emoji.startswith(":") else f":{emoji}:"
        reactions: dict[str, Any] = message.setdefault("reactions", {})
        usernames: list[str] = reactions.setdefault(key, {"usernames": []})["usernames"]
        present = user.username in usernames
        react = (not present) if should_react is None else should_react
        if react == present:
            if not usernames:
                del reactions[key]
            return False
        if react:
            usernames.append(user.username)
        else:
            usernames.remove(user.username)
            if not usernames:
                del reactions[key]
        if not reactions:
            del message["reactions"]
        message["_updatedAt"] = self.now_ms()
        return True

    def edit(self, message: dict[str, Any], editor: User, text: str) -> None:
        now = self.now_ms()
        message["msg"] = text
        message["md"] = [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": text}]}]
        message["editedAt"] = now
        message["editedBy"] = {"_id": editor.id, "username": editor.username}
        message["_updatedAt"] = now

    def history(
        self,
        room: Room,
        *,
        latest_ms: int | None,
        oldest_ms: int | None,
        inclusive: bool,
        show_thread_messages: bool,
    ) -> list[dict[str, Any]]:
        """Messages of a room, newest first, as ``getChannelHistory`` selects them."""
        latest = latest_ms if latest_ms is not None else self.now_ms()
        stamps = self.room_ts[room.id]
        end = (bisect.bisect_right if inclusive else bisect.bisect_left)(stamps, latest)
        start = 0
        if oldest_ms is not None:
            start = (bisect.bisect_left if inclusive else bisect.bisect_right)(stamps, oldest_ms)
        selected = []
        for message_id in reversed(self.room_messages[room.id][start:end]):
            message = self.messages[message_id]
            if not show_thread_messages and message.get("tmid") and not message.get("tshow"):
                continue
            selected.append(message)
        return selected


def rest_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the REST API serialises it (dates as ISO strings)."""
    return _convert_dates(message, iso)


def ddp_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the realtime API serialises it (dates as EJSON ``{"$date": ms}``)."""
    return _convert_dates(message, lambda ms: {"$date": ms})


_DATE_FIELDS = ("ts", "_updatedAt", "editedAt", "tlm")


def _convert_dates(message: dict[str, Any], convert: Any) -> dict[str, Any]:
    out = dict(message)
    for key in _DATE_FIELDS:
        if key in out:
            out[key] = convert(out[key])
    return out
