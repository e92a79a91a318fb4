"""Prometheus metrics: one `Metrics` per bot, with its own registry (never the process-wide default one), served
at `/metrics` by the web app.

The places where things happen (the command handler, the transport, the outbox sender, the REST client, the
scheduler) each call one method here; what to count and how to name it stays in this module. Every name is in the
README's table (*Logs and metrics*).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.db.engine import read_only
from chatbot.db.models import OutboxMessage, OutboxStatus

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads (2.x and 3.x)
HANDLING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
END_TO_END_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
WEBSOCKET_STATES = ("disconnected", "connecting", "ready", "stopped")
ARRIVALS_KEPT = 10_000  # commands whose first reply is still awaited, at most (the oldest are forgotten)
API_PREFIX = "/api/v1/"
DATABASE_ERRORS = (DBAPIError, OSError, TimeoutError)  # what a database that fails or went away raises


class Metrics:
    """The bot's metrics. Every method is cheap; the REST client's calls come from its worker threads, which
    prometheus-client's values allow (they lock). The command timestamps kept for `replies_sent` stay on the loop."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.commands = Counter(
            "chatbot_commands", "Commands handled (committed), by family and outcome", ["family", "outcome"], registry=r
        )
        self.handling = Histogram(
            "chatbot_command_handling_seconds",
            "Time to run one command inside its transaction (parse, rules, writes), by family",
            ["family"],
            buckets=HANDLING_BUCKETS,
            registry=r,
        )
        self.end_to_end = Histogram(
            "chatbot_reply_latency_seconds",
            "From a command's timestamp on the chat server to its first reply accepted by the server",
            buckets=END_TO_END_BUCKETS,
            registry=r,
        )
        self.backlog = Gauge(
            "chatbot_outbox_backlog",
            "Outbox rows waiting to be sent (read from the database at scrape time)",
            registry=r,
        )
        self.websocket = Gauge(
            "chatbot_websocket_state",
            "1 for the realtime connection's current state, 0 for the others",
            ["state"],
            registry=r,
        )
        self.reconnects = Counter(
            "chatbot_websocket_reconnects",
            "Times the websocket got ready again after a connection was lost",
            registry=r,
        )
        self.rest = Counter(
            "chatbot_rest_requests",
            "REST requests to Rocket.Chat, by route and HTTP status (error: no answer)",
            ["route", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            "chatbot_rest_rate_limit_waits", "HTTP 429 answers waited out, by route", ["route"], registry=r
        )
        self.rate_limit_seconds = Counter(
            "chatbot_rest_rate_limit_wait_seconds", "Seconds spent waiting out HTTP 429 answers", registry=r
        )
        self.database_errors = Counter(
            "chatbot_database_errors",
            "Database failures (unreachable, refused), by component",
            ["component"],
            registry=r,
        )
        self.tasks = Counter(
            "chatbot_scheduled_tasks",
            "Scheduled tasks fired, by kind and outcome (on_time, late, skipped, failed)",
            ["kind", "outcome"],
            registry=r,
        )
        self.task_failures = Counter(
            "chatbot_scheduled_task_failures", "Firings of a scheduled task that failed (tried again later)", registry=r
        )
        self._arrivals: OrderedDict[str, float] = OrderedDict()  # command id → its timestamp (epoch seconds)

    # --- commands --------------------------------------------------------------------------------------------------

    def command(self, family: str, outcome: str, seconds: float, message_id: str, ts: datetime | None) -> None:
        """A command committed: `outcome` is ok, refused or error. Its timestamp is kept until its first reply is
        sent (`replies_sent`), for the end-to-end latency."""
        self.commands.labels(family, outcome).inc()
        self.handling.labels(family).observe(seconds)
        if ts is not None:
            self._arrivals[message_id] = ts.timestamp()
            while len(self._arrivals) > ARRIVALS_KEPT:
                self._arrivals.popitem(last=False)

    def replies_sent(self, outbox_ids: Iterable[str]) -> None:
        """Outbox rows accepted by the server: a reply's id is `<command id>-<n>`; the first one sent ends the
        command's end-to-end latency. Rows of other origins (scheduled posts, chosen ids) are not commands."""
        now = time.time()
        for outbox_id in outbox_ids:
            command_id = outbox_id.rpartition("-")[0]
            ts = self._arrivals.pop(command_id, None)
            if ts is not None:
                self.end_to_end.observe(max(now - ts, 0.0))

    # --- transport -------------------------------------------------------------------------------------------------

    def watch_websocket(self, state: Callable[[], str]) -> None:
        """The realtime connection's state, read at scrape time (`state()` gives one of WEBSOCKET_STATES)."""
        for name in WEBSOCKET_STATES:
            self.websocket.labels(name).set_function(_is(state, name))

    def websocket_ready(self, connections: int) -> None:
        """A connection got ready; every one after the first is a reconnection."""
        if connections > 1:
            self.reconnects.inc()

    def rest_answer(self, url: str, status: int | str) -> None:
        """One HTTP answer (or `error`: none came)."""
        self.rest.labels(rest_route(url), str(status)).inc()

    def rate_limit_wait(self, url: str, seconds: float) -> None:
        """An HTTP 429 about to be waited out, `seconds` long."""
        self.rate_limited.labels(rest_route(url)).inc()
        self.rate_limit_seconds.inc(seconds)

    def database_error(self, component: str) -> None:
        self.database_errors.labels(component).inc()

    def failed(self, component: str, error: BaseException) -> None:
        """Something failed and will be tried again: counted when it is the database's failure."""
        if isinstance(error, DATABASE_ERRORS):
            self.database_error(component)

    # --- scheduler -------------------------------------------------------------------------------------------------

    def task_fired(self, kind: str, status: str, late: bool) -> None:
        """A task fired (committed): its row's status says whether it was skipped, or failed for good."""
        outcome = (
            "skipped" if status == "skipped" else "failed" if status == "failed" else "late" if late else "on_time"
        )
        self.tasks.labels(kind, outcome).inc()

    def task_failed(self, error: BaseException) -> None:
        """A firing failed (its transaction undone; the task is tried again until it gives up)."""
        self.task_failures.inc()
        if isinstance(error, DATABASE_ERRORS):
            self.database_error("scheduler")

    # --- exposition ------------------------------------------------------------------------------------------------

    async def exposition(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        """The text format, the outbox backlog read first (one count on an index; NaN when the database fails)."""
        try:
            self.backlog.set(await outbox_backlog(sessions))
        except Exception:
            self.backlog.set(math.nan)
            self.database_error("metrics")
        return generate_latest(self.registry)


def _is(state: Callable[[], str], name: str) -> Callable[[], float]:
    return lambda: float(state() == name)


def rest_route(url: str) -> str:
    """The API method of a REST URL (`chat.sendMessage`), without the ids some routes carry in their path
    (`rooms.media/<room id>`) or the query; anything else as given (a method name when no URL is known)."""
    path = urlsplit(url).path
    if API_PREFIX in path:
        return path.split(API_PREFIX, 1)[1].split("/", 1)[0] or "?"
    return path or "?"


async def outbox_backlog(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Pending outbox rows (index `ix_outbox_message_status_id`)."""
    async with sessions() as session:
        await read_only(session)
        query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        return int(await session.scalar(query) or 0)
