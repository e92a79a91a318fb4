"""The bot on Rocket.Chat: realtime intake, catch-up, outbox delivery, and a pause while the database is away.

Messages from the realtime stream and from catch-up go through one queue to one worker, so each room's commands
are handled in order. When the database cannot record a message, the worker drops the queue (nothing of it was
recorded, so nothing is acknowledged), waits for the database, then catches up from the last processed instant:
intake stops without losing anything.

No message may fall between two connections. Catch-up resumes each room at the last instant recorded there (minus
an overlap), so nothing newer than a message not yet read back may be recorded before that catch-up has queued what
it read: live messages of a connection are held from its first frame until a catch-up that began once the
connection was subscribed has queued the history, and then go after it, merged in time order. A catch-up that
outlives its connection (or the database) queues nothing: the rooms were read at different instants, so what one
room holds may be newer than what another missed; the next connection's catch-up reads it all again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.engine import read_only
from chatbot.metrics import Metrics
from chatbot.text import slug
from chatbot.transport.base import Author, IncomingMessage, Outgoing, ReactionChange, Room, RoomKind
from chatbot.transport.rocketchat.catchup import Missed, read_missed
from chatbot.transport.rocketchat.ddp import DdpClient
from chatbot.transport.rocketchat.documents import (
    RoomInfo,
    parse_ts,
    reactions_of,
    room_kind,
    slim,
    to_incoming,
    why_ignored,
)
from chatbot.transport.rocketchat.outbox import Outbox, OutboxSender
from chatbot.transport.rocketchat.rest import RestClient, RestError, TransientError, backoff

log = logging.getLogger(__name__)

ReactionHandler = Callable[[ReactionChange], Awaitable[Any]]
# The ids of the bot's posts whose reactions still matter (Bot.watched_posts: what the feature modules watch, e.g.
# the posts of open consent rounds): after every catch-up they are read again, so that reactions changed while the
# bot was not listening are applied.
ReactablePosts = Callable[[], Awaitable[list[str]]]
# One of those posts read whole for the first time since start: post id, emoji → user ids of the users showing it
# (Bot.handle_reactions_read), so that what a reaction removed while the bot was not running gave goes.
ReactionsRead = Callable[[str, dict[str, list[str]]], Awaitable[Any]]
# The reactions on a post whose change was applied before, emoji → usernames (Bot.applied_reactions): what the post
# is compared with when this process has no memory of it, so that a restart applies only what changed meanwhile.
AppliedReactions = Callable[[str], Awaitable[dict[str, set[str]]]]
# A post read back by catch-up, with how many live messages were held when it was read (older emissions of it
# among those are superseded by this reading).
ReadPost = tuple[dict[str, Any], RoomInfo, int]
TokenProvider = Callable[[bool], Awaitable[str]]
DATABASE_DOWN = (DBAPIError, OSError, TimeoutError)
# Errors that say something about the statement, not about the connection: pausing would not help.
NOT_AN_OUTAGE = (IntegrityError, ProgrammingError, DataError)
MAX_STRIKES = 3  # database errors on one message while the database answers: it is the message, not an outage
RECENT_IDS = 5000
BATCH = 32  # commands handled in one transaction, at most, when a backlog has built up
BUSY_GAP = 0.005  # seconds between commands, on average, below which the stream is busy (over 200 a second)…
# …and a lone command waits this long for others to share its transaction: about what a transaction costs beyond
# its commands (measured: ~1 ms on SQLite, ~2.5 ms on PostgreSQL, whose commit waits for the disk).
LINGER = {"sqlite": 0.001, "postgresql": 0.003}
_END: Any = object()  # marks the end of a batch of queue items in _process
BatchHandler = Callable[[Sequence[IncomingMessage]], Awaitable[Any]]


def configured_rooms(settings: Settings) -> set[str]:
    """The channel names the bot listens to (compared as slugs): circles, contribution channel, governance
    channels (consent rounds open there), the co-budget's room, extra rooms."""
    names: list[str | None] = [
        settings.budget.contribution_channel,
        *settings.consent.governance_channels,
        settings.cobudget.room,
        *settings.rocketchat.extra_rooms,
    ]
    for circle in settings.circles:
        names += [circle.public_channel, circle.private_channel]
    return {slug(n.lstrip("#")) for n in names if n}


class RocketChatTransport:
    def __init__(
        self,
        settings: Settings,
        rest: RestClient,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        outbox: Outbox,
        token: TokenProvider,
        *,
        on_reaction: ReactionHandler | None = None,
        reactable_posts: ReactablePosts | None = None,
        on_reactions_read: ReactionsRead | None = None,
        applied_reactions: AppliedReactions | None = None,
        ping_interval: float = 20.0,
        linger: float | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        dialect = sessions.kw["bind"].dialect.name if sessions.kw.get("bind") is not None else ""
        self.linger = LINGER.get(dialect, 0.002) if linger is None else linger
        self.metrics = metrics or Metrics()
        self.rest = rest
        rest.metrics = self.metrics
        self.sessions = sessions
        self.clock = clock
        self.outbox = outbox
        self.on_reaction = on_reaction
        self.reactable_posts = reactable_posts
        self.on_reactions_read = on_reactions_read
        self.applied_reactions = applied_reactions
        self._users: dict[str, Author] = {}  # username → the user, as users.info knows them
        self.wanted = configured_rooms(settings)
        self.user_id: str | None = rest.credentials.user_id
        self.rooms: dict[str, RoomInfo] = {}
        self.by_name: dict[str, str] = {}
        self.queue: asyncio.Queue[tuple[dict[str, Any], RoomInfo] | None] = asyncio.Queue()
        # Set once everything missed before the first connection has been handled (None marks it in the queue):
        # deadlines and reminders wait for it, so that a message sent before a deadline counts before it closes.
        self.caught_up = asyncio.Event()
        self.database_ok = True
        self.handled = 0
        # Seconds from arrival to reply committed, for the last 1,000 handled messages (/healthz).
        self.timings: deque[float] = deque(maxlen=1000)
        self.started_at: datetime = clock.now()
        self.ddp = DdpClient(
            settings.rocketchat.url,
            token,
            self._on_event,
            self._on_ready,
            ping_interval=ping_interval,
            metrics=self.metrics,
        )
        self.sender = OutboxSender(outbox, rest, self.room_id_for, metrics=self.metrics)
        # Post id → emoji → usernames, as last applied (posts without reactions are not kept).
        self._reactions: dict[str, dict[str, frozenset[str]]] = {}
        # Posts whose applied reactions were recalled from the database (or needed not be): memory holds them now.
        self._recalled: set[str] = set()
        # Posts whose last emission seen on the stream showed reactions (applied or still queued).
        self._shown_reactions: set[str] = set()
        # Posts whose reactions matter, not yet read whole since start (see _reactions_read), and those that were.
        self._unread: set[str] = set()
        self._read: set[str] = set()
        # Ids handled recently: a thread reply makes Rocket.Chat re-emit its parent, and catch-up re-reads its
        # boundary message. Only a shortcut: the processed_message table is what guarantees exactly once.
        self._recent: dict[str, None] = {}
        self._strikes: dict[Any, int] = {}
        # Live messages wait here until the catch-up of their connection has queued what it read (see the module's
        # docstring): the connection (DdpClient.connections) whose messages go straight to the queue, if any.
        self._live_connection: int | None = None
        self._held: list[tuple[dict[str, Any], RoomInfo]] = []
        self._catchup_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._epoch = 0  # bumped when the database goes away: what was taken from the queue before is dropped
        # Command id → when it arrived (perf_counter), while it is held or queued: until handled, or dropped with
        # the queue. Catch-up leaves these out of what it reads back.
        self._received: dict[str, float] = {}
        self._last_arrival = 0.0
        self._arrival_gap = 1.0  # seconds between live commands, averaged

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def run(self, handler: BatchHandler) -> None:
        await self.refresh_rooms()
        self._tasks = [
            asyncio.create_task(self._work(handler), name="intake"),
            asyncio.create_task(self.sender.run(), name="outbox"),
            asyncio.create_task(self.ddp.run(), name="ddp"),
        ]
        try:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            await self.stop()

    async def stop(self) -> None:
        await self.ddp.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- rooms -----------------------------------------------------------------------------------------------------

    def _remember(self, info: RoomInfo) -> None:
        self.rooms[info.id] = info
        if info.name:
            self.by_name[slug(info.name)] = info.id

    def listens_to(self, info: RoomInfo) -> bool:
        return info.kind is RoomKind.DIRECT or (info.name is not None and slug(info.name) in self.wanted)

    async def refresh_rooms(self) -> None:
        """The rooms the bot is in, from its subscriptions."""
        reply = await self.rest.subscriptions()
        for sub in reply.get("update", []) if isinstance(reply, dict) else []:
            kind = room_kind(sub.get("t"))
            if kind is not None and isinstance(sub.get("rid"), str):
                self._remember(RoomInfo(sub["rid"], None if kind is RoomKind.DIRECT else sub.get("name"), kind))

    async def room_id_for(self, name: str) -> str | None:
        """Room name → id, from the subscriptions, else `rooms.info`; `@username` is the direct-message room with
        that member, opened with `dm.create` (which finds it when it exists)."""
        if name.startswith("@"):
            return await self._direct_room(name[1:])
        key = slug(name.lstrip("#"))
        if key in self.by_name:
            return self.by_name[key]
        try:
            reply = await self.rest.room_info(room_name=name.lstrip("#"))
        except RestError:
            return None
        room = reply.get("room") if isinstance(reply, dict) else None
        if not isinstance(room, dict) or room_kind(room.get("t")) is None:
            return None
        info = RoomInfo(room["_id"], room.get("name"), RoomKind(room["t"]))
        self._remember(info)
        return info.id

    async def _direct_room(self, username: str) -> str | None:
        key = "@" + username.lower()  # usernames differ by more than case only on no Rocket.Chat server
        if key in self.by_name:
            return self.by_name[key]
        try:
            reply = await self.rest.direct_room(username)
        except RestError:
            return None
        room = reply.get("room") if isinstance(reply, dict) else None
        room_id = (room.get("rid") or room.get("_id")) if isinstance(room, dict) else None
        if not isinstance(room_id, str):
            return None
        self.by_name[key] = room_id
        return room_id

    async def room_members(self, room: Room) -> list[Author] | None:
        """Who is in a room, without the bot; None when the server cannot tell. A room known by its name only (a
        circle's channel, named in the configuration) is looked up first, and its kind is the server's."""
        if not room.id and room.name:
            room_id = await self.room_id_for(room.name)
            info = self.rooms.get(room_id) if room_id else None
            if info is None:
                return None
            room = Room(info.id, info.name, info.kind)
        endpoint = {RoomKind.CHANNEL: "channels.members", RoomKind.GROUP: "groups.members"}.get(room.kind)
        if endpoint is None:
            return None
        members: list[Author] = []
        offset = 0
        while True:
            reply = await self.rest.get(endpoint, roomId=room.id, count="100", offset=str(offset))
            page = reply.get("members", []) if isinstance(reply, dict) else []
            members += [Author(m["_id"], m.get("username", ""), m.get("name")) for m in page if m.get("_id")]
            if len(page) < 100:
                return [m for m in members if m.id != self.user_id]
            offset += len(page)

    # --- outgoing --------------------------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> None:
        await self.deliver([message])

    async def deliver(self, messages: list[Outgoing]) -> None:
        """`Bot.outlet`: what the bot says outside a handled message goes through the outbox too."""
        await self.outbox.enqueue(f"out-{uuid.uuid4().hex}", messages)

    # --- realtime --------------------------------------------------------------------------------------------------

    def _on_event(self, collection: str, fields: dict[str, Any]) -> None:
        args = fields.get("args") or []
        if collection == "stream-notify-user":
            if str(fields.get("eventName", "")).endswith("/subscriptions-changed") and len(args) >= 2:
                sub = args[1] if isinstance(args[1], dict) else {}
                kind = room_kind(sub.get("t"))
                if kind is not None and isinstance(sub.get("rid"), str):
                    self._remember(RoomInfo(sub["rid"], None if kind is RoomKind.DIRECT else sub.get("name"), kind))
            return
        if collection != "stream-room-messages" or not args or not isinstance(args[0], dict):
            return
        document = args[0]
        meta = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        info = self._room_of(document, meta)
        if info is None or not self.listens_to(info):
            return
        if not self.database_ok:
            return  # nothing can be recorded: the catch-up after recovery reads it back
        # Drop at once what will never be work, so that a backlog holds only commands (and slim ones).
        reason = why_ignored(document, self.user_id)
        if reason == "own message" and not self._reactions_may_have_changed(document):
            return
        if (reason is not None and reason != "own message") or document["_id"] in self._recent:
            return
        document = slim(document)
        if reason is None:
            now = time.perf_counter()
            self._received.setdefault(document["_id"], now)
            # A moving average of the time between commands: small means a busy stream (see _work).
            self._arrival_gap += (min(now - self._last_arrival, 1.0) - self._arrival_gap) / 8
            self._last_arrival = now
        if self._is_live():
            self.queue.put_nowait((document, info))
        else:
            self._held.append((document, info))  # until this connection's catch-up has queued what it read

    def _reactions_may_have_changed(self, document: dict[str, Any]) -> bool:
        """Whether a (re-)emission of one of the bot's posts can carry a reaction change worth queueing: not for a
        post that shows no reaction and had none (every reply the bot posts comes back once like that)."""
        if self.on_reaction is None:
            return False
        post_id = str(document.get("_id"))
        shown, before = bool(document.get("reactions")), post_id in self._shown_reactions
        # What the previous emission showed counts: it may still be queued, not yet applied to _reactions.
        if shown:
            self._shown_reactions.add(post_id)
        else:
            self._shown_reactions.discard(post_id)
        return shown or before or post_id in self._reactions or post_id in self._unread

    def _room_of(self, document: dict[str, Any], meta: dict[str, Any]) -> RoomInfo | None:
        rid = document.get("rid")
        if not isinstance(rid, str):
            return None
        if rid in self.rooms:
            return self.rooms[rid]
        kind = room_kind(meta.get("roomType"))
        if kind is None:
            return None
        info = RoomInfo(rid, None if kind is RoomKind.DIRECT else meta.get("roomName"), kind)
        self._remember(info)
        return info

    async def _on_ready(self) -> None:
        if self.ddp.user_id:
            self.user_id = self.ddp.user_id
        await self.catch_up()

    def _is_live(self) -> bool:
        """Whether live messages go straight to the queue: the current connection's catch-up has run."""
        return self.ddp.connected and self._live_connection == self.ddp.connections

    async def catch_up(self) -> int:
        """Read back every listened room and queue what was missed; on failure, try again with backoff (while the
        connection lasts). Returns how many messages were queued.

        Run once a connection is subscribed (and after a database outage). If the connection is still the one it
        began on once the history is read, the messages held meanwhile go after it, merged in time order, and the
        connection's messages go straight to the queue from then on. Otherwise (the connection dropped, or the
        database went away) it queues nothing: the next catch-up reads from the same resume point, and the held
        messages wait for it.
        """
        async with self._catchup_lock:
            began = time.perf_counter()
            connection = self.ddp.connections if self.ddp.connected else None
            epoch = self._epoch
            missed, posts = await self._catch_up_with_retries()
            if self._epoch != epoch or not self.database_ok:
                return 0  # the database went away meanwhile: the catch-up after its recovery reads this again
            if connection is None or not self.ddp.connected or self.ddp.connections != connection:
                # Rooms were read at different instants, some perhaps after the drop: what one of them holds may be
                # newer than what another missed. The next connection's catch-up reads it all again.
                log.info("catch-up outlived its connection: nothing queued")
                return 0
            held = len(self._held)
            fed = self._release(missed, posts)
            self._live_connection = connection
            log.info(
                "catch-up done in %.0f ms: %d missed command(s), %d post(s) read back, %d held message(s) released",
                (time.perf_counter() - began) * 1000,
                len(missed),
                len(posts),
                held,
            )
            if not self.caught_up.is_set():
                self.queue.put_nowait(None)
            return fed

    async def _catch_up_with_retries(self) -> tuple[list[Missed], list[ReadPost]]:
        attempt = 0
        while True:
            try:
                await self.refresh_rooms()
                rooms = [r for r in self.rooms.values() if self.listens_to(r)]
                missed = await read_missed(
                    self.rest,
                    self.sessions,
                    rooms,
                    is_command=lambda document: why_ignored(document, self.user_id) is None,
                    known=lambda message_id: message_id in self._received or message_id in self._recent,
                    started_at=self.started_at,
                    now=self.clock.now(),
                    max_age=timedelta(hours=self.settings.rocketchat.catchup_max_hours),
                    overlap=timedelta(seconds=self.settings.rocketchat.catchup_overlap_seconds),
                )
                return missed, await self._read_reactable_posts()
            except Exception as error:  # live messages wait for this: never give up while the connection lasts
                attempt += 1
                self.metrics.failed("catchup", error)
                unexpected = not isinstance(error, (TransientError, RestError, *DATABASE_DOWN))
                log.warning("catch-up failed (%s); retrying", error, exc_info=unexpected)
                await asyncio.sleep(backoff(min(attempt, 6), 0.2, 10.0))

    def _release(self, missed: list[Missed], posts: list[ReadPost]) -> int:
        """Queue, without a pause: the missed commands and the held ones, merged in time order; then the posts read
        back; then the held emissions of the bot's posts that came after those readings."""
        held = self._held
        commands = {m.id: (m.ts, m.document, m.room) for m in missed}
        read_at = {document["_id"]: mark for document, _info, mark in posts}
        emissions: list[tuple[dict[str, Any], RoomInfo]] = []
        for index, (document, info) in enumerate(held):
            ts = parse_ts(document.get("ts"))
            if why_ignored(document, self.user_id) is None and ts is not None:
                commands.setdefault(document["_id"], (ts, document, info))
            elif read_at.get(document["_id"], -1) <= index:
                emissions.append((document, info))
        in_order = [(d, i) for _ts, d, i in sorted(commands.values(), key=lambda c: (c[0], c[1]["_id"]))]
        now = time.perf_counter()
        for document, _info in in_order:
            self._received.setdefault(document["_id"], now)
        self._held = []
        queued = [*in_order, *((document, info) for document, info, _mark in posts), *emissions]
        for item in queued:
            self.queue.put_nowait(item)
        return len(queued)

    async def _read_reactable_posts(self) -> list[ReadPost]:
        """Reactions change a post without a new message, so history from the last processed instant misses
        those made while the bot was not listening: read the posts whose reactions matter again, to be queued
        after the missed messages like a realtime re-emission."""
        if self.on_reaction is None or self.reactable_posts is None:
            return []
        read: list[ReadPost] = []
        for post_id in await self.reactable_posts():
            if post_id not in self._read:
                self._unread.add(post_id)
            mark = len(self._held)
            try:
                reply = await self.rest.get_message(post_id)
            except RestError as error:  # deleted, or in a room the bot left: nothing to apply
                log.info("post %s not read back (%s)", post_id, error)
                continue
            document = reply.get("message") if isinstance(reply, dict) else None
            if not isinstance(document, dict) or not isinstance(document.get("rid"), str):
                continue
            info = self.rooms.get(document["rid"])
            if info is None or not self.listens_to(info):
                continue
            read.append((slim(document), info, mark))
        return read

    # --- intake ----------------------------------------------------------------------------------------------------

    async def _work(self, handler: BatchHandler) -> None:
        """Take what is queued, up to BATCH messages, and handle it: one transaction for a backlog's commands.

        While commands arrive close together (a burst), a lone one waits `linger` seconds for company: one
        transaction for two costs much less than two transactions (on PostgreSQL, each commit waits for the disk),
        which keeps up with the arrivals. At a calmer pace nothing waits."""
        while True:
            items = [await self.queue.get()]
            if self._arrival_gap < BUSY_GAP and self.queue.empty() and self.linger:
                await asyncio.sleep(self.linger)
            while len(items) < BATCH and not self.queue.empty():
                items.append(self.queue.get_nowait())
            await self._process(handler, items)

    async def _process(self, handler: BatchHandler, items: list[tuple[dict[str, Any], RoomInfo] | None]) -> None:
        """Items in queue order: runs of commands go to the handler together; the bot's own posts (reaction
        changes) and the caught-up marker keep their place between them. After a database outage the rest is
        dropped: the catch-up that follows reads it again, from the last message recorded."""
        epoch = self._epoch
        batch: list[tuple[dict[str, Any], RoomInfo]] = []
        for item in [*items, _END]:
            if self._epoch != epoch:
                return
            if item is not _END and item is not None and why_ignored(item[0], self.user_id) != "own message":
                batch.append(item)
                continue
            if batch:
                await self._handle_batch(handler, batch)
                batch = []
            if self._epoch != epoch:
                return
            if item is None:
                self.caught_up.set()
            elif item is not _END:
                await self._guarded(handler, [item])

    async def _handle_batch(self, handler: BatchHandler, batch: list[tuple[dict[str, Any], RoomInfo]]) -> None:
        """Commands in one transaction; if that fails, one by one, so that a message the database refuses costs
        only itself (an outage stops at the first)."""
        if len(batch) > 1 and await self._guarded(handler, batch, alone=False):
            return
        epoch = self._epoch
        for item in batch:
            if self._epoch != epoch:
                return
            await self._guarded(handler, [item])

    async def _guarded(
        self, handler: BatchHandler, items: list[tuple[dict[str, Any], RoomInfo]], *, alone: bool = True
    ) -> bool:
        """Handle; True if done. A failure of a lone message is dealt with here (logged and skipped, or an outage
        waited out); a failed batch (`alone=False`) only reports it, for the caller to retry one by one."""
        try:
            await self._handle_many(handler, items)
            return True
        except Exception as error:
            if not alone:
                log.warning("a batch of %d messages failed (%s); handling them one by one", len(items), error)
                return False
            document = items[0][0]
            if isinstance(error, NOT_AN_OUTAGE) or not isinstance(error, DATABASE_DOWN):
                log.exception("message %s could not be handled", document.get("_id"))
                self._received.pop(document["_id"], None)  # not recorded: a later catch-up may try it again
                return False
            strikes = self._strikes[document.get("_id")] = self._strikes.get(document.get("_id"), 0) + 1
            if strikes > MAX_STRIKES and await self.database_reachable():
                log.error("message %s keeps failing with a reachable database: skipped", document.get("_id"))
                self._received.pop(document["_id"], None)
                return False
            self.metrics.database_error("intake")
            log.warning("database unavailable (%s): intake paused", type(error).__name__)
            await self._wait_for_database()
            return False

    async def _handle_many(self, handler: BatchHandler, items: list[tuple[dict[str, Any], RoomInfo]]) -> None:
        if len(items) == 1 and why_ignored(items[0][0], self.user_id) == "own message":
            await self._reaction_changes(*items[0])
            return
        fresh = [
            (document, info)
            for document, info in items
            if why_ignored(document, self.user_id) is None and document["_id"] not in self._recent
        ]
        if len(fresh) < len(items):
            kept = {document["_id"] for document, _info in fresh}
            for document, _info in items:
                if document["_id"] not in kept:
                    self._received.pop(document["_id"], None)
        if not fresh:
            return
        thread_replies = self.settings.rocketchat.thread_replies
        async with self.outbox.write_lock:
            await handler([to_incoming(document, info, thread_replies=thread_replies) for document, info in fresh])
        done = time.perf_counter()
        for document, _info in fresh:
            # From arrival to the reply committed (queueing included): the bot-side latency /healthz reports.
            received = self._received.pop(document["_id"], done)
            self.timings.append(done - received)
            self._recent[document["_id"]] = None
        self.handled += len(fresh)
        while len(self._recent) > RECENT_IDS:
            del self._recent[next(iter(self._recent))]

    async def _wait_for_database(self) -> None:
        """Drop what is queued (none of it was recorded), wait for the database, then catch up."""
        self.database_ok = False
        self._epoch += 1  # what the worker still holds of the queue is dropped too
        self._live_connection = None  # live messages are held again until the recovery's catch-up has run
        self._held.clear()
        self._received.clear()
        while not self.queue.empty():
            self.queue.get_nowait()
        attempt = 0
        while True:
            attempt += 1
            await asyncio.sleep(backoff(min(attempt, 6), 0.2, 5.0))
            if await self.database_reachable():
                break
        log.warning("database back: catching up")
        self._epoch += 1  # a catch-up begun during the outage read while live messages were dropped: it queues nothing
        self.database_ok = True
        self._tasks.append(asyncio.create_task(self.catch_up(), name="catch-up"))

    async def database_reachable(self) -> bool:
        try:
            async with asyncio.timeout(5), self.sessions() as session:
                await (await read_only(session)).execute(text("SELECT 1"))
            return True
        except DATABASE_DOWN:
            return False

    async def _user(self, username: str) -> Author | None:
        """Reactions name users by username only; the bot keys members by user id, so ask the server once.

        None when the server does not know the user (a deleted account); TransientError when it could not say.
        """
        if username in self._users:
            return self._users[username]
        try:
            reply = await self.rest.user_info(username)
        except RestError as error:
            log.warning("reaction by %s ignored: users.info failed (%s)", username, error)
            return None
        user = (reply.get("user") if isinstance(reply, dict) else None) or {}
        if not user.get("_id"):
            log.warning("reaction by %s ignored: users.info returned no user", username)
            return None
        author = Author(user["_id"], user.get("username") or username, user.get("name"))
        self._users[username] = author
        return author

    async def _reaction_changes(self, document: dict[str, Any], info: RoomInfo) -> None:
        """A reaction on one of the bot's posts re-emits the post: the difference is the change.

        The state kept is what was applied: a change whose user could not be looked up for now (server
        unreachable) or whose handling failed (database down) stays a difference, tried again at the post's next
        re-emission or re-reading. A user the server does not know is skipped for good.
        """
        if self.on_reaction is None:
            return
        post_id = document["_id"]
        now = reactions_of(document)
        if post_id not in self._recalled:
            if post_id not in self._reactions and self.applied_reactions is not None:
                recalled = await self.applied_reactions(post_id)
                self._reactions[post_id] = {emoji: frozenset(users) for emoji, users in recalled.items() if users}
            self._recalled.add(post_id)
        applied = {emoji: set(users) for emoji, users in self._reactions.get(post_id, {}).items()}
        postponed = False
        try:
            for emoji in sorted(set(now) | set(applied)):
                for username in sorted(now.get(emoji, frozenset()) ^ applied.get(emoji, set())):
                    added = username in now.get(emoji, frozenset())
                    try:
                        user = await self._user(username)
                    except TransientError as error:
                        log.warning("reaction by %s postponed: users.info failed (%s)", username, error)
                        postponed = True
                        continue
                    if user is not None:
                        change = ReactionChange(post_id, info.as_room(), user, emoji, added)
                        replies = await self.on_reaction(change)
                        if isinstance(replies, list) and replies:
                            await self.deliver(replies)
                    if added:
                        applied.setdefault(emoji, set()).add(username)
                    else:
                        applied[emoji].discard(username)
            if post_id in self._unread and not postponed:
                await self._reactions_read(post_id, now)
        finally:
            state = {emoji: frozenset(users) for emoji, users in applied.items() if users}
            if state:
                self._reactions[post_id] = state
            else:
                self._reactions.pop(post_id, None)

    async def _reactions_read(self, post_id: str, now: dict[str, frozenset[str]]) -> None:
        """The first whole reading of a post whose reactions matter, once its changes are applied: the memory was
        empty at start, so a reaction removed while the bot was not running made no change; the bot compares what
        the post shows with what it recorded instead. Not done while a reactor could not be looked up (the post's
        next reading tries again): a member missing from what is shown would lose their position."""
        if self.on_reactions_read is None:
            self._unread.discard(post_id)
            return
        shown: dict[str, list[str]] = {}
        for emoji, usernames in now.items():
            for username in sorted(usernames):
                try:
                    user = await self._user(username)
                except TransientError as error:
                    log.warning("reactions on %s compared later: users.info failed (%s)", post_id, error)
                    return
                if user is not None:
                    shown.setdefault(emoji, []).append(user.id)
        await self.on_reactions_read(post_id, shown)
        self._unread.discard(post_id)
        self._read.add(post_id)
