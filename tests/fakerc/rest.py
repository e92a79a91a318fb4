"""The REST routes the bot uses, with Rocket.Chat's response shapes and error bodies.

Errors are ``{"success": false, "error": …, "errorType": …}`` with status 400 (``API.v1.failure``), 401 for a
missing or wrong token, 404 for an unknown route. The 401 body carries both shapes Rocket.Chat has used over the
versions (``{"success": false, "error": …}`` and the older ``{"status": "error", "message": …}``), so a client
written against either works and one that needs a specific field is not flattered. Messages carry ISO dates.
Behaviour follows Rocket.Chat's handlers (apps/meteor/app/api/server/v1/chat.ts, channels.ts, groups.ts, im.ts):
history is newest first, ``inclusive`` and ``showThreadMessages`` are compared with the string ``'true'``, thread
replies are left out unless ``showThreadMessages`` is ``'true'``; ``chat.sendMessage`` keeps a client-chosen
``_id`` and refuses one that exists already.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .state import Room, User, iso, parse_iso, rest_message

if TYPE_CHECKING:
    from .server import FakeRocketChat

SERVER_VERSION = "7.10.0"
NOT_LOGGED_IN = "You must be logged in to do this."


class ApiError(Exception):
    """An error answer: raised anywhere in a handler, rendered as Rocket.Chat renders it."""

    def __init__(self, http_status: int, error: str, error_type: str | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.status = http_status
        self.body: dict[str, Any] = {"success": False, "error": error}
        if error_type:
            self.body["errorType"] = error_type
        self.body.update(extra)


def failure(error: str, error_type: str | None = None) -> ApiError:
    return ApiError(400, error, error_type)


@dataclass
class Call:
    """What a handler gets: the parsed request and the authenticated user (None on public routes)."""

    fake: FakeRocketChat
    user: User | None
    query: dict[str, str]
    body: dict[str, Any]
    path_params: list[str] = field(default_factory=list)  # segments after the route name (rooms.media/{rid})
    raw: bytes = b""
    content_type: str = ""

    @property
    def me(self) -> User:
        assert self.user is not None
        return self.user


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    auth: bool = True
    path_params: int = 0  # how many /{segments} follow the name


ROUTES: dict[str, Route] = {}


def route(name: str, method: str = "GET", *, auth: bool = True, path_params: int = 0) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES[name] = Route(method, handler, auth, path_params)
        return handler

    return register


def ok(**fields: Any) -> dict[str, Any]:
    return {**fields, "success": True}


# -- authentication and server --------------------------------------------------------------------------------------
@route("login", "POST", auth=False)
async def login(call: Call) -> dict[str, Any]:
    store = call.fake.store
    body = call.body
    user: User | None = None
    if call.fake.faults.logins_refused:
        raise ApiError(401, "Unauthorized", status="error", message="Unauthorized")
    if "resume" in body:
        user = store.user_by_resume_token(str(body["resume"]))
    else:
        name = body.get("user") or body.get("username") or ""
        candidate = store.find_user(str(name))
        if candidate and candidate.password is not None and candidate.password == body.get("password"):
            user = candidate
    if user is None:
        raise ApiError(401, "Unauthorized", status="error", message="Unauthorized")
    token = str(body["resume"]) if "resume" in body else store.issue_token(user)
    return {"status": "success", "data": {"userId": user.id, "authToken": token, "me": _me(call.fake, user)}}


def _me(fake: FakeRocketChat, user: User) -> dict[str, Any]:
    return {**user.document(), "emails": [{"address": f"{user.username}@example.org", "verified": True}]}


@route("me")
async def me(call: Call) -> dict[str, Any]:
    return ok(**_me(call.fake, call.me))


async def server_info(fake: FakeRocketChat) -> dict[str, Any]:
    """``GET /api/info`` (not under /api/v1, and in none of the OpenAPI files)."""
    return ok(version=fake.version)


@route("settings.public", auth=False)
async def settings_public(call: Call) -> dict[str, Any]:
    settings = [{"_id": key, "value": value, "enterprise": False} for key, value in sorted(call.fake.settings.items())]
    wanted = call.query.get("_id")
    if wanted:
        settings = [s for s in settings if s["_id"] in wanted.split(",")]
    return ok(settings=settings, count=len(settings), offset=0, total=len(settings))


# -- messages -------------------------------------------------------------------------------------------------------
@route("chat.sendMessage", "POST")
async def chat_send_message(call: Call) -> dict[str, Any]:
    fields = call.body.get("message")
    if not isinstance(fields, dict):
        raise failure('The "message" parameter must be provided.', "error-invalid-params")
    if fields.get("t"):
        raise failure("Cannot send system messages using 'chat.sendMessage'")
    store = call.fake.store
    rid = fields.get("rid")
    if fields.get("tmid"):
        parent = store.messages.get(str(fields["tmid"]))
        rid = parent["rid"] if parent else rid
    if not rid:
        raise failure("The 'rid' property on the message object is missing.")
    room = _room_for_sending(call, str(rid))
    message_id = fields.get("_id")
    if message_id and message_id in store.messages:
        # Older servers fail the insert with MongoDB's duplicate-key error; newer ones skip the insert and then
        # fail while normalising the missing message. Either way: HTTP 400, nothing posted twice.
        raise failure(
            "E11000 duplicate key error collection: rocketchat.rocketchat_message index: _id_ "
            f'dup key: {{ _id: "{message_id}" }}'
        )
    if fields.get("tmid") and fields["tmid"] not in store.messages:
        raise failure("Invalid thread", "error-invalid-message")
    message = await call.fake.deliver(
        call.me, room, str(fields.get("msg") or ""), message_id=message_id, tmid=fields.get("tmid")
    )
    return ok(message=rest_message(message))


@route("chat.postMessage", "POST")
async def chat_post_message(call: Call) -> dict[str, Any]:
    body = call.body
    target = body.get("roomId") or body.get("channel")
    if not target:
        raise failure("error-invalid-channel", "error-invalid-channel")
    room = _room_for_sending(call, str(target))
    if body.get("tmid") and body["tmid"] not in call.fake.store.messages:
        raise failure("Invalid thread", "error-invalid-message")
    message = await call.fake.deliver(call.me, room, str(body.get("text") or ""), tmid=body.get("tmid"))
    channel = f"#{room.name}" if room.type != "d" else room.id
    return ok(ts=message["ts"], channel=channel, message=rest_message(message))


def _room_for_sending(call: Call, ref: str) -> Room:
    room = call.fake.store.find_room(ref)
    if room is None:
        raise failure("error-invalid-room")
    if room.type != "c" and call.me.id not in room.members:  # canSendMessage: public channels are open to all
        raise failure("error-not-allowed")
    return room


def _visible_message(call: Call, message_id: str) -> dict[str, Any] | None:
    store = call.fake.store
    message = store.messages.get(message_id)
    if message is None:
        return None
    room = store.rooms[message["rid"]]
    if room.type != "c" and call.me.id not in room.members:
        raise failure("Not allowed", "error-not-allowed")
    return message


@route("chat.getMessage")
async def chat_get_message(call: Call) -> dict[str, Any]:
    message_id = call.query.get("msgId")
    if not message_id:
        raise failure('The "msgId" query parameter must be provided.')
    message = _visible_message(call, message_id)
    if message is None:
        raise ApiError(400, "")  # API.v1.failure() without a reason
    return ok(message=rest_message(message))


@route("chat.update", "POST")
async def chat_update(call: Call) -> dict[str, Any]:
    body = call.body
    message = call.fake.store.messages.get(str(body.get("msgId")))
    if message is None:
        raise failure(f'No message found with the id of "{body.get("msgId")}".')
    if body.get("roomId") != message["rid"]:
        raise failure("The room id provided does not match where the message is from.")
    if message["u"]["_id"] != call.me.id:
        raise failure("Not allowed", "error-action-not-allowed")
    await call.fake.edit(call.me, message, str(body.get("text", "")))
    return ok(message=rest_message(message))


@route("chat.react", "POST")
async def chat_react(call: Call) -> dict[str, Any]:
    body = call.body
    message = call.fake.store.messages.get(str(body.get("messageId")))
    if message is None:
        raise failure('The provided "messageId" does not match any existing message.', "error-message-not-found")
    emoji = body.get("emoji") or body.get("reaction")
    if not emoji:
        raise failure('The required "emoji" param is missing.', "error-emoji-param-not-provided")
    await call.fake.react(call.me, message, str(emoji), body.get("shouldReact"))
    return ok()


# -- files ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def multipart_fields(call: Call) -> dict[str, FormPart]:
    """The parts of a multipart/form-data body, by field name (as busboy hands them to getUploadFormData)."""
    if not call.content_type.lower().startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {call.content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + call.raw)
    parts: dict[str, FormPart] = {}
    if not parsed.is_multipart():
        return parts
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts[name] = FormPart(name, filename, part.get_content_type(), data)
    return parts


def _path_ids(call: Call, n: int) -> list[str]:
    if len(call.path_params) != n or not all(call.path_params):
        raise ApiError(404, "Not found", status="error")
    return call.path_params


@route("rooms.media", "POST", path_params=1)
async def rooms_media(call: Call) -> dict[str, Any]:
    """Stores a temporary upload (Rocket.Chat: expires after 24 h unless confirmed); nothing is posted yet."""
    (rid,) = _path_ids(call, 1)
    room = call.fake.store.find_room(rid)
    if room is None or room.id != rid or (room.type != "c" and call.me.id not in room.members):
        raise ApiError(403, "User does not have the permissions required for this action [error-unauthorized]")
    part = multipart_fields(call).get("file")
    if part is None or part.filename is None:
        raise failure("[invalid-field]", "invalid-field")
    upload = call.fake.store.add_upload(call.me, room, part.filename, part.content_type, part.data)
    return ok(file={"_id": upload["_id"], "url": upload["path"]})


@route("rooms.mediaConfirm", "POST", path_params=2)
async def rooms_media_confirm(call: Call) -> dict[str, Any]:
    """Posts the upload as a message (``msg``, ``tmid``; ``description`` goes to the file). Like Rocket.Chat, a
    second confirmation of the same file posts it again: the server gives no protection against that."""
    rid, file_id = _path_ids(call, 2)
    store = call.fake.store
    room = store.find_room(rid)
    if room is None or room.id != rid or (room.type != "c" and call.me.id not in room.members):
        raise ApiError(403, "User does not have the permissions required for this action [error-unauthorized]")
    upload = store.uploads.get(file_id)
    if upload is None or upload["expired"]:
        raise failure("[invalid-file]", "invalid-file")
    body = call.body
    allowed = {"avatar", "emoji", "alias", "groupable", "msg", "tmid", "customFields", "t", "content", "description"}
    unknown = sorted(set(body) - allowed)
    if unknown:  # sendFileMessage's check(msgData, Match.Maybe({...})) refuses any other key
        raise failure(f"Match error: Unknown key in field {unknown[0]}")
    tmid = body.get("tmid")
    if tmid and tmid not in store.messages:
        raise failure("Invalid thread", "error-invalid-message")
    description = body.get("description")
    message = store.insert_message(
        call.me,
        room,
        str(body.get("msg") or ""),
        tmid=str(tmid) if tmid else None,
        upload=upload,
        description=str(description) if description is not None else None,
    )
    upload["expiresAt"] = None  # confirmTemporaryFile
    await call.fake.ddp.broadcast_message(message, room)
    if message.get("tmid"):
        await call.fake.ddp.broadcast_message(store.messages[message["tmid"]], room)
    return ok(message=rest_message(message))


# -- history --------------------------------------------------------------------------------------------------------
def _history(room_types: str) -> Handler:
    async def handler(call: Call) -> dict[str, Any]:
        query = call.query
        room = _room_for_reading(call, query, room_types)
        messages = call.fake.store.history(
            room,
            latest_ms=_date_param(query, "latest"),
            oldest_ms=_date_param(query, "oldest"),
            inclusive=query.get("inclusive") == "true",
            show_thread_messages=query.get("showThreadMessages") == "true",
        )
        offset, count = _pagination(query)
        page = messages[offset : offset + count] if count else messages[offset:]
        return ok(messages=[rest_message(m) for m in page], count=len(page), offset=offset, total=len(messages))

    return handler


def _date_param(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return parse_iso(query[name])
    except ValueError:
        raise failure(f'The "{name}" query parameter must be a valid date.', "error-invalid-date") from None


DEFAULT_COUNT = 50  # API_Default_Count
UPPER_COUNT_LIMIT = 100  # API_Upper_Count_Limit: a larger count is cut down to it, so catch-up must page


def _pagination(query: dict[str, str]) -> tuple[int, int]:
    """``offset`` and ``count`` as getPaginationItems reads them (count 0 means all: API_Allow_Infinite_Count)."""
    try:
        offset = int(query.get("offset", "0"))
        count = int(query.get("count", str(DEFAULT_COUNT)))
    except ValueError:
        raise failure("Invalid count or offset", "error-invalid-params") from None
    return max(0, offset), min(max(0, count), UPPER_COUNT_LIMIT)


def _room_for_reading(call: Call, query: dict[str, str], room_types: str) -> Room:
    store = call.fake.store
    ref = query.get("roomId") or query.get("roomName") or query.get("username")
    if not ref:
        raise failure('The parameter "roomId" or "roomName" is required', "error-roomid-param-not-provided")
    room = store.find_room(ref)
    if room is None and "d" in room_types and query.get("username"):
        other = store.find_user(query["username"])
        room = store.dm(call.me.id, other.id) if other else None
    if room is None or room.type not in room_types:
        kind = "channel" if "c" in room_types else "group" if "p" in room_types else "room"
        message = f'The required "roomId" or "roomName" param provided does not match any {kind}'
        raise failure(message, "error-room-not-found")
    if room.type != "c" and call.me.id not in room.members:
        raise failure("Not allowed", "error-not-allowed")
    return room


route("channels.history")(_history("c"))
route("groups.history")(_history("p"))
route("dm.history")(_history("d"))
route("im.history")(_history("d"))


# -- rooms, members, users, subscriptions ---------------------------------------------------------------------------
@route("rooms.info")
async def rooms_info(call: Call) -> dict[str, Any]:
    room = call.fake.store.find_room(call.query.get("roomId") or call.query.get("roomName") or "")
    if room is None or (room.type != "c" and call.me.id not in room.members):
        raise failure("not-allowed", "error-not-allowed")
    return ok(room=room.document(call.fake.store.users))


@route("rooms.get")
async def rooms_get(call: Call) -> dict[str, Any]:
    store = call.fake.store
    rooms = [r.document(store.users) for r in store.rooms.values() if call.me.id in r.members]
    return ok(update=rooms, remove=[])


def _members(room_types: str) -> Handler:
    async def handler(call: Call) -> dict[str, Any]:
        store = call.fake.store
        room = _room_for_reading(call, call.query, room_types)
        offset, count = _pagination(call.query)
        users = [store.users[uid] for uid in room.members]
        page = users[offset : offset + count] if count else users[offset:]
        members = [{"_id": u.id, "username": u.username, "name": u.name, "status": "online"} for u in page]
        return ok(members=members, count=len(members), offset=offset, total=len(users))

    return handler


route("channels.members")(_members("c"))
route("groups.members")(_members("p"))
route("dm.members")(_members("d"))


@route("dm.create", "POST")
async def dm_create(call: Call) -> dict[str, Any]:
    """Open (or find) the direct-message room with a user, as Rocket.Chat's createDirectMessage does."""
    store = call.fake.store
    username = str(call.body.get("username") or "")
    other = store.find_user(username) if username else None
    if other is None:
        raise failure("Failed to create direct message", "error-invalid-user")
    room = store.dm(call.me.id, other.id)
    names = sorted(store.users[u].username for u in room.members)
    return ok(room={"_id": room.id, "rid": room.id, "t": "d", "usernames": names})


route("im.create", "POST")(dm_create)


@route("users.info")
async def users_info(call: Call) -> dict[str, Any]:
    ref = call.query.get("userId") or call.query.get("username")
    user = call.fake.store.find_user(ref or "")
    if user is None:
        raise failure("User not found.", "error-invalid-user")
    return ok(user=user.document())


@route("subscriptions.get")
async def subscriptions_get(call: Call) -> dict[str, Any]:
    store = call.fake.store
    me = call.me
    subscriptions = []
    for room in store.rooms.values():
        if me.id not in room.members:
            continue
        subscriptions.append(
            {
                "_id": f"{room.id}{me.id}",
                "rid": room.id,
                "u": {"_id": me.id, "username": me.username},
                "name": store.room_label(room, me),
                "fname": store.room_label(room, me),
                "t": room.type,
                "open": True,
                "alert": False,
                "unread": 0,
                "ts": iso(room.created_ms),
                "ls": iso(room.updated_ms),
                "_updatedAt": iso(room.updated_ms),
                "roles": ["owner"] if room.members and room.members[0] == me.id else [],
            }
        )
    return ok(update=subscriptions, remove=[])
