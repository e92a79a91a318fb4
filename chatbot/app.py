"""Composition root: settings, database, services, router and commands, and the handling of one message."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import Executable

from chatbot.clock import Clock, SystemClock
from chatbot.commandkit import Command, CommandGroup
from chatbot.config import ConfigError, Settings
from chatbot.context import Context, ReactionContext, UnitFields
from chatbot.db import migrate
from chatbot.db.engine import make_engine, make_session_factory, writes
from chatbot.db.models import AppliedReaction, Envelope, Member, ProcessedMessage
from chatbot.directories import circle_directory
from chatbot.errors import UserError
from chatbot.formatting import Formatter
from chatbot.grammar.arguments import EnvelopeConverter
from chatbot.grammar.base import EnvelopeDirectory, ParseContext
from chatbot.leadership import CoordinationState, Fenced, ensure_coordination_row, read_coordination
from chatbot.messages import Catalogue, load_catalogue
from chatbot.metrics import Metrics
from chatbot.router import Recognised, Router
from chatbot.scheduler import Deliver, Persist, Scheduler
from chatbot.services import Services
from chatbot.text import without_control_characters
from chatbot.transport.base import Author, IncomingMessage, MembersOf, Outgoing, ReactionChange, Room

log = logging.getLogger(__name__)
# One line per command handled (committed): message id, family, outcome, milliseconds; never the text.
command_log = logging.getLogger("chatbot.commands")

MEMBER_MEMORY = 10_000  # member rows kept between batches, at most
# The command families that may create envelopes or close years (`/cobudget financer` makes a funded project an
# envelope): after one of them, the envelope names and open years kept between messages are read again.
ENVELOPE_WRITERS = ("budget", "cobudget")


class _Refused(Exception):
    """A command run without a savepoint was refused: undo the transaction, reply with `replies`."""

    def __init__(self, replies: list[Outgoing]) -> None:
        super().__init__("refused")
        self.replies = replies
        self.index = -1


@dataclass(frozen=True)
class _Handled:
    """How a command went, reported once its transaction has committed: `outcome` is ok, refused (with the error's
    catalogue key as `detail`) or error (with the reference given to the member)."""

    family: str
    outcome: str
    detail: str
    seconds: float


class SchemaOutOfDate(Exception):
    def __init__(self, current: str | None, head: str) -> None:
        super().__init__(f"schema at {current}, code expects {head}")
        self.current = current
        self.head = head


def feature_modules() -> list[ModuleType]:
    """The command families. Each module has a `group` (its commands) and may have `TASKS`: the handlers of the
    scheduled tasks it creates, by kind (e.g. {"meeting_reminder": send_reminder}), and `REACTIONS`: a handler of
    reaction changes, `async (ReactionContext, ReactionChange) -> None`, `REACTIONS_READ`: a handler of a post
    read whole after start, `async (Services, post id, emoji → user ids) -> None`, and `WATCHED_POSTS`: the ids of
    the posts whose reactions it handles, `async (async_sessionmaker) -> list[str]` (see `Bot.watched_posts`)."""
    from commands import aide, budget, cobudget, consent, contrib, decisions, election, reunion, vote

    return [contrib, budget, reunion, consent, decisions, vote, election, cobudget, aide]


def command_groups() -> list[CommandGroup]:
    return [module.group for module in feature_modules()]


def check_names_against_commands(settings: Settings, router: Router) -> None:
    """Refuse (ConfigError) a configured circle or envelope slug or alias that is already a word of the commands
    (`journal`, `hier`, `mois`): `/budget journal` would show the journal, never that envelope."""
    today = SystemClock(settings.timezone).now()
    context = ParseContext(today=today.date(), now=today, circles=circle_directory(settings))
    named = [("circles", c.slug, n) for c in settings.circles for n in (c.slug, *c.aliases)]
    named += [("envelopes", e.slug, n) for e in settings.envelopes for n in (e.slug, *e.aliases)]
    for where, slug_, name in named:
        if router.taken_word(name, context, EnvelopeConverter):
            raise ConfigError(
                f"{where} (« {slug_} ») : « {name} » est déjà un mot des commandes (`/budget {name}` ne "
                "désignerait pas ce cercle ou cette enveloppe) ; choisissez un autre nom, ex. « cercle-{name} »."
            )


@dataclass
class Bot:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    t: Catalogue
    fmt: Formatter
    router: Router
    scheduler: Scheduler = field(init=False)
    # Where what the bot says on its own (reminders, deadlines) goes: set by the transport that runs the bot.
    outlet: Deliver | None = None
    # Who is in a room: set by the transport that runs the bot (Transport.room_members); None answers "unknown".
    members_of: MembersOf | None = None
    # Set by a transport with an outbox (see `use_outbox`); the console leaves it unset and prints replies itself.
    persist: Persist | None = None
    # Prometheus metrics of this bot (its own registry), served at /metrics; the transport counts into them too.
    metrics: Metrics = field(default_factory=Metrics)
    _envelope_names: dict[str, str] | None = field(default=None, init=False, repr=False)
    _circles: EnvelopeDirectory | None = field(default=None, init=False, repr=False)
    _mark: Executable | None = field(default=None, init=False, repr=False)  # the processed-mark insert, built once
    # Budget years known to be open, kept between messages; emptied after every /budget command (which may close
    # one). The only other writer of closings would be another bot process on the same database: not supported.
    _open_years: set[int] = field(default_factory=set, init=False, repr=False)
    # The coordination row as this process last read it; `epoch` is set once it is the active replica.
    coordination: CoordinationState = field(default_factory=CoordinationState, init=False, repr=False)
    on_fenced: Callable[[], None] | None = field(default=None, init=False, repr=False)
    # Member rows of the chat users seen lately (detached, as committed), so that a batch need not read them again.
    _members: dict[str, Member] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self.sessions, self.settings, self.clock, self.t, self.fmt, self._deliver)
        self.scheduler.members_of = self._room_members
        self.scheduler.metrics = self.metrics
        self.scheduler.fence = self.fence
        for module in feature_modules():
            for kind, handler in getattr(module, "TASKS", {}).items():
                self.scheduler.register(kind, handler)

    async def _room_members(self, room: Room) -> list[Author] | None:
        return None if self.members_of is None else await self.members_of(room)

    def use_outbox(self, persist: Persist) -> None:
        """Record replies and scheduled posts through `persist`, in the same transaction as their effects."""
        self.persist = persist
        self.scheduler.persist = persist

    async def _deliver(self, messages: list[Outgoing]) -> None:
        if self.outlet is None:
            log.warning("nowhere to deliver %d scheduled message(s)", len(messages))
            return
        await self.outlet(messages)

    @classmethod
    def create(cls, settings: Settings, *, clock: Clock | None = None, engine: AsyncEngine | None = None) -> Bot:
        engine = engine or make_engine(settings.database_url)
        t = load_catalogue(settings.language)
        fmt = Formatter(t("format.locale"))
        groups = command_groups()
        router = Router(groups, t, fmt)
        check_names_against_commands(settings, router)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            clock=clock or SystemClock(settings.timezone),
            t=t,
            fmt=fmt,
            router=router,
        )

    async def start(self, *, auto_migrate: bool | None = None, run_scheduler: bool = False) -> None:
        """Bring the schema up to date (embedded SQLite) or refuse an out-of-date one, then seed from config.

        `run_scheduler` wakes scheduled tasks on the real clock; tests leave it off and call `scheduler.run_due()`.
        """
        state = await migrate.schema_state(self.engine)
        if not state.up_to_date and (auto_migrate if auto_migrate is not None else self.settings.database_is_embedded):
            await migrate.upgrade(self.engine)  # Alembic is loaded only then (see chatbot.db.migrate)
            state = await migrate.schema_state(self.engine)
        if not state.up_to_date:
            raise SchemaOutOfDate(state.current, state.head)
        async with self.sessions.begin() as session:
            await ensure_coordination_row(await session.connection())
            services = Services.bind(session, self.settings, self.clock)
            await services.budget.sync_circles()
            await services.budget.ensure_configured_envelopes(services.budget.configured_year())
        if run_scheduler:
            await self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.shutdown()
        await self.engine.dispose()

    def parse_context(self) -> ParseContext:
        """What converters may know: now, and the circles (the envelopes' names are added once a session is open)."""
        now = self.clock.now()
        if self._circles is None:
            self._circles = circle_directory(self.settings)  # from the configuration, which does not change
        return ParseContext(today=now.date(), now=now, circles=self._circles)

    async def fence(self, session: AsyncSession) -> None:
        """At the start of a transaction: stop if another replica became the active one (Fenced, after telling
        `on_fenced`), and forget the envelope names and open years kept between messages when another process
        changed them (see chatbot.leadership)."""
        try:
            if await read_coordination(session, self.coordination):
                self._forget_budget_facts()
        except Fenced:
            log.error("another replica is now the active one: this one stops handling")
            if self.on_fenced is not None:
                self.on_fenced()
            raise

    def _forget_budget_facts(self) -> None:
        """Envelope names and open years are kept between messages; a /budget command may change them."""
        self._envelope_names = None
        self._open_years.clear()

    async def envelope_directory(self, services: Services) -> EnvelopeDirectory:
        """Envelope names change only through /budget and /cobudget financer: read once, read again after each."""
        if self._envelope_names is None:
            self._envelope_names = await services.budget.known_names()
        return EnvelopeDirectory(self._envelope_names)

    async def _unit_of_work(self, services: Services, author: Author) -> UnitFields:
        """The fields every handler context shares (see chatbot.context.UnitOfWork), for this author."""
        member = await services.members.ensure(author.id, author.username, author.display_name)
        return UnitFields(
            member=member,
            is_admin=services.members.is_admin(member),
            is_treasurer=services.members.is_treasurer(member),
            settings=self.settings,
            t=self.t,
            fmt=self.fmt,
            clock=self.clock,
            services=services,
            members_of=self._room_members,
        )

    async def _mark_processed(self, session: AsyncSession, messages: Sequence[IncomingMessage]) -> set[str]:
        """Record the messages as handled, in the transaction of their effects; the ids not recorded before."""
        if not messages:
            return set()
        now = self.clock.now()
        rows = {m.id: {"message_id": m.id, "room_id": m.room.id, "ts": m.ts, "processed_at": now} for m in messages}
        if self._mark is None:
            insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
            self._mark = (
                insert(ProcessedMessage)
                .on_conflict_do_nothing(index_elements=["message_id"])
                .returning(ProcessedMessage.message_id)
            )
        connection = await session.connection()  # Core: the ORM's bookkeeping costs more than the insert
        return set((await connection.execute(self._mark, list(rows.values()))).scalars())

    async def handle(self, message: IncomingMessage) -> list[Outgoing]:
        """Handle one chat message exactly once: its effects and its processed mark commit together."""
        return (await self.handle_many([message]))[0]

    async def handle_many(self, messages: Sequence[IncomingMessage]) -> list[list[Outgoing]]:
        """Handle messages in order, in one transaction: the replies to each, in the same order.

        Each command runs exactly once: its effects and its processed mark commit together, and a replay (a
        message already marked) does nothing. A command refused or failing has its effects undone and the others
        stand; an error of the transaction itself (the database is gone) records none of them.
        One commit for many messages is what lets a backlog (a burst, a catch-up) drain quickly.
        """
        recognised = [
            self.router.recognise(without_control_characters(m.text), direct=m.room.is_direct) for m in messages
        ]
        results: list[list[Outgoing]] = [[] for _ in messages]  # replies, in the order of `messages`
        commands = [m for m, r in zip(messages, recognised, strict=True) if r is not None and r.group is not None]
        unknown = [i for i, r in enumerate(recognised) if r is not None and r.group is None]
        for index in unknown:
            text = self.router.unknown_command(recognised[index].name, direct=messages[index].room.is_direct)  # type: ignore[union-attr]
            results[index] = [self._reply(messages[index], text)] if text else []
        if not commands and (self.persist is None or not any(results)):
            return results
        touches_envelopes = any(
            r is not None and r.group is not None and r.group.name in ENVELOPE_WRITERS for r in recognised
        )
        # Commands run without savepoints first: a refusal made before writing anything (nearly all of them) has
        # nothing to undo. A command refused after writing, or failing, undoes the whole transaction, which is done
        # again with its refusal as its reply, and every other command in a savepoint of its own.
        refused: dict[int, list[Outgoing]] = {}
        handled: dict[str, _Handled] = {}  # by message id: how each command run went, reported once committed
        try:
            try:
                services = await self._handle_in_transaction(
                    commands, messages, recognised, results, refused, False, handled
                )
            except _Refused as refusal:
                refused[refusal.index] = refusal.replies
                # The refused command keeps its first run's report (it is not run again); the others run again.
                kept = messages[refusal.index].id
                handled = {kept: handled[kept]} if kept in handled else {}
                self._forget_budget_facts()  # what the undone pass learnt (a year reopened there, say) may not hold
                services = await self._handle_in_transaction(
                    commands, messages, recognised, results, refused, True, handled
                )
        finally:
            if touches_envelopes:  # envelopes may have been created or renamed, years closed (or rolled back)
                self._forget_budget_facts()
        self._report(messages, handled)
        self.scheduler.watch(services.tasks.created)
        if len(self._members) > MEMBER_MEMORY:
            self._members.clear()
        self._members.update(services.members.known())  # committed: safe to reuse
        return results

    async def _handle_in_transaction(
        self,
        commands: Sequence[IncomingMessage],
        messages: Sequence[IncomingMessage],
        recognised: Sequence[Recognised | None],
        results: list[list[Outgoing]],
        refused: Mapping[int, list[Outgoing]],
        isolated: bool,
        handled: dict[str, _Handled],
    ) -> Services:
        """One pass over the batch in one transaction (see handle_many); `commands`: the messages that are ones."""
        async with self.sessions() as session, session.begin():
            await self.fence(session)
            fresh = await self._mark_processed(session, commands)
            services = Services.bind(
                session, self.settings, self.clock, open_years=self._open_years, reuse_locks=not isolated
            )
            await services.members.preload({m.author.id for m in commands if m.id in fresh}, self._members)
            for index, (message, command) in enumerate(zip(messages, recognised, strict=True)):
                if command is None or command.group is None:
                    continue
                if message.id not in fresh:
                    results[index] = []
                    continue  # a replay (or the same message twice in this batch): already done
                fresh.discard(message.id)
                if index in refused:
                    results[index] = refused[index]
                    continue
                try:
                    results[index] = await self._run_command(session, services, message, command, isolated, handled)
                except _Refused as refusal:
                    refusal.index = index
                    raise
            await services.budget.write_totals()  # what the last declarations kept back, before the commit
            if self.persist is not None:
                said = [(m.id, out) for m, out in zip(messages, results, strict=True) if out]
                await self.persist(session, said)
        return services

    async def _run_command(
        self,
        session: AsyncSession,
        services: Services,
        message: IncomingMessage,
        recognised: Recognised,
        isolated: bool,
        handled: dict[str, _Handled],
    ) -> list[Outgoing]:
        """One command inside the batch's transaction; its replies. Refused (or failing) with `isolated`, its
        effects are undone (a savepoint); without, a refusal that wrote nothing is simply the reply, and anything
        else raises `_Refused`, for the caller to undo the whole transaction."""
        assert recognised.group is not None
        started = time.perf_counter()
        outcome, detail = "ok", ""
        unit = await self._unit_of_work(services, message.author)
        ctx = Context(message=message, parse=self.parse_context(), router=self.router, **unit)
        command: Command | None = None
        scheduled = len(services.tasks.created)
        await session.flush()  # what earlier commands left pending is theirs: written before the count starts
        written = writes(await session.connection())
        try:
            async with session.begin_nested() if isolated else contextlib.nullcontext():
                command, arguments = recognised.group.select(recognised.arguments)
                # Envelope totals kept back by the declarations before this command are written first, unless it
                # is one of them too (see BudgetService.set_totals); never in a savepoint.
                services.budget.batch_totals = command.batched_totals and not isolated
                if not services.budget.batch_totals:
                    await services.budget.write_totals()
                    written = writes(await session.connection())
                self.router.check_permission(command, is_admin=ctx.is_admin, is_treasurer=ctx.is_treasurer)
                ctx.parse.directory = await self.envelope_directory(services)
                values = self.router.parse(command, arguments, ctx.parse)
                await command.handler(ctx, **values)
        except UserError as error:
            outcome, detail = "refused", error.key
            del services.tasks.created[scheduled:]
            replies = [self._reply(message, self.router.render_error(error, command))]
            clean = writes(await session.connection()) == written and not (
                session.new or session.dirty or session.deleted
            )
            if clean:
                return replies
        except Exception:
            del services.tasks.created[scheduled:]
            reference = uuid.uuid4().hex[:8]
            outcome, detail = "error", reference
            log.exception("command failed (ref %s) on message %s", reference, message.id)
            replies = [self._reply(message, self.t("errors.internal", reference=reference))]
        else:
            return ctx.outgoing
        finally:
            handled[message.id] = _Handled(recognised.group.name, outcome, detail, time.perf_counter() - started)
            if recognised.group.name == "budget":  # the next command of this batch reads them again
                self._forget_budget_facts()
                services.budget.forget_locks()
        if not isolated:
            raise _Refused(replies)
        # Its savepoint is undone; envelope totals written with Core statements are not tracked by the session,
        # so the envelopes it holds are read again at their next use.
        for held in [o for o in session.identity_map.values() if isinstance(o, Envelope)]:
            session.expire(held)
        return replies

    def _report(self, messages: Sequence[IncomingMessage], handled: Mapping[str, _Handled]) -> None:
        """The commands of a committed transaction: one log line each (never the text), and the metrics."""
        for message in messages:
            note = handled.get(message.id)
            if note is None:
                continue
            self.metrics.command(note.family, note.outcome, note.seconds, message.id, message.ts)
            if not command_log.isEnabledFor(logging.INFO):
                continue
            fields: dict[str, object] = {"message_id": message.id, "family": note.family, "outcome": note.outcome}
            if note.outcome == "refused":
                fields["error_key"] = note.detail
            elif note.outcome == "error":
                fields["reference"] = note.detail
            fields["ms"] = round(note.seconds * 1000, 2)
            command_log.info("command " + " ".join(f"{key}=%s" for key in fields), *fields.values(), extra=fields)

    async def handle_reaction(self, change: ReactionChange) -> list[Outgoing]:
        """A reaction added or removed: feature modules with `REACTIONS` turn it into state (a consent position).

        No exactly-once bookkeeping: a reaction change sets or unsets a state, so a replay changes nothing. A user
        error (the round is closed, the style refuses that position) is answered in the message's thread. The
        change is recorded as applied in the same transaction (see `AppliedReaction`, `applied_reactions`).
        """
        handlers = [module.REACTIONS for module in feature_modules() if hasattr(module, "REACTIONS")]
        if not handlers or not change.user.id:  # members are keyed by user id: an anonymous change is unusable
            return []
        async with self.sessions() as session, session.begin():
            await self.fence(session)
            services = Services.bind(session, self.settings, self.clock)
            ctx = ReactionContext(change=change, **await self._unit_of_work(services, change.user))
            await _record_applied(session, change)
            try:
                async with session.begin_nested():
                    for handler in handlers:
                        await handler(ctx, change)
            except UserError as error:
                text = self.router.render_error(error, None)
                room = change.room
                return [Outgoing(text=text, room_id=room.id, room_name=room.name, thread_id=change.message_id)]
            except Exception:
                log.exception("reaction %s on %s failed", change.emoji, change.message_id)
                return []
        self.scheduler.watch(services.tasks.created)
        return ctx.outgoing

    async def applied_reactions(self, post_id: str) -> dict[str, set[str]]:
        """The reactions on this post whose change was applied (emoji → usernames): what a transport compares the
        post's reactions with when it has no memory of them (after a start, or a takeover by another replica)."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(AppliedReaction.emoji, AppliedReaction.username).where(AppliedReaction.post_id == post_id)
            )
            applied: dict[str, set[str]] = {}
            for emoji, username in rows:
                applied.setdefault(emoji, set()).add(username)
            return applied

    async def watched_posts(self) -> list[str]:
        """The ids of the bot's posts whose reactions matter now, gathered from the feature modules' `WATCHED_POSTS`
        (the posts of open consent rounds, of meetings to come…): a transport reads them again after a catch-up, so
        that reactions changed while it was not listening are applied. Each id once, in the modules' order."""
        posts: dict[str, None] = {}
        for module in feature_modules():
            watched = getattr(module, "WATCHED_POSTS", None)
            if watched is not None:
                posts.update(dict.fromkeys(await watched(self.sessions)))
        return list(posts)

    async def handle_reactions_read(self, post_id: str, shown: Mapping[str, Collection[str]]) -> None:
        """A post read whole for the first time since start, `shown`: emoji → user ids of the users reacting with
        it. Feature modules with `REACTIONS_READ` drop the state whose reaction is gone (a consent position given
        by a reaction removed while the bot was not running). Idempotent; errors propagate, so that the transport
        tries again at the post's next reading."""
        handlers = [module.REACTIONS_READ for module in feature_modules() if hasattr(module, "REACTIONS_READ")]
        if not handlers:
            return
        async with self.sessions() as session, session.begin():
            services = Services.bind(session, self.settings, self.clock)
            for handler in handlers:
                await handler(services, post_id, shown)

    @staticmethod
    def _reply(message: IncomingMessage, text: str) -> Outgoing:
        return Outgoing(text=text, room_id=message.room.id, room_name=message.room.name, thread_id=message.thread_id)


async def _record_applied(session: AsyncSession, change: ReactionChange) -> None:
    """Remember (or forget, for a removal) that this reaction's change was applied."""
    await session.execute(
        delete(AppliedReaction).where(
            AppliedReaction.post_id == change.message_id,
            AppliedReaction.emoji == change.emoji,
            AppliedReaction.username == change.user.username,
        )
    )
    if change.added:
        session.add(AppliedReaction(post_id=change.message_id, emoji=change.emoji, username=change.user.username))
