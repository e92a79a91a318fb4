"""The `chatbot` command: console, Rocket.Chat (run, check), database migrations, exports, imports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from chatbot.app import Bot, SchemaOutOfDate
from chatbot.config import ConfigError, Settings, load_settings
from chatbot.db import migrate
from chatbot.db.engine import DatabaseUrlError, check_url, make_engine
from chatbot.db.models import Base
from chatbot.formatting import Formatter
from chatbot.leadership import FileLockBusy, SqliteFileLock
from chatbot.logs import FORMATS, LEVELS, JsonFormatter
from chatbot.masking import MASK, mask_known
from chatbot.messages import load_catalogue
from chatbot.transport.console import ConsoleTransport

if TYPE_CHECKING:
    from chatbot.transport.rocketchat.credentials import Secrets
from chatbot.web import start_web

EXIT_INTERNAL = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What a failing connection raises: the driver's errors (wrapped by SQLAlchemy), the network's, a port too large,
# a host name no resolver takes (UnicodeError) or a connection option the driver refuses (ValueError).
DATABASE_ERRORS = (DBAPIError, OSError, OverflowError, ValueError)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """The usage, then one French line (argparse's own ends in English)."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, load_catalogue("fr")("cli.usage_error", error=message, prog=self.prog) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chatbot", description="A Rocket.Chat bot for cooperatives.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="TOML configuration (default: the embedded example)")
        p.add_argument("--database", help="SQLAlchemy URL, overrides the configuration and DATABASE_URL")
        p.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="log debug information on stderr, and the traceback of an error",
        )
        p.add_argument(
            "--log-level",
            type=str.upper,
            choices=LEVELS,
            help="lowest level logged on stderr (default: LOG_LEVEL, else INFO for `run`, WARNING otherwise)",
        )
        p.add_argument(
            "--log-format",
            type=str.lower,
            choices=FORMATS,
            help="text, or json: one JSON object per line, for log shippers (default: LOG_FORMAT, else text)",
        )

    console = sub.add_parser("console", help="talk to the bot on this terminal (or pipe a script into it)")
    common(console)
    console.add_argument("--as", dest="user", help="username typing (default: console.user in the configuration)")
    console.add_argument("--room", help="channel name, or @bot for a direct message (default: console.room)")
    console.add_argument(
        "--web",
        metavar="HOST:PORT",
        type=_host_port,
        help="also serve the web app (calendar feeds), e.g. 127.0.0.1:8080",
    )

    common(sub.add_parser("run", help="run the bot on Rocket.Chat (credentials from ROCKETCHAT_* variables)"))
    common(sub.add_parser("check", help="tell what to fix before the bot can work on Rocket.Chat"))

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    common(db_sub.add_parser("upgrade", help="apply pending migrations"))
    common(db_sub.add_parser("status", help="show the schema version"))

    export = sub.add_parser("export", help="write a register to a file")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    decisions = export_sub.add_parser("decisions", help="the decision register (consent rounds adopted)")
    common(decisions)
    decisions.add_argument(
        "--format",
        choices=("csv", "markdown", "wikitext"),
        default="markdown",
        help="csv (spreadsheets), markdown (Markdown readers; MediaWiki does not render it) or wikitext (MediaWiki)",
    )
    decisions.add_argument("--output", type=Path, help="file to write (default: standard output)")
    decisions.add_argument(
        "--include-private",
        action="store_true",
        help="also the decisions adopted in private rooms (marked as private); left out by default",
    )
    cobudget = export_sub.add_parser("cobudget", help="a co-budget round, for the accounts (CSV)")
    common(cobudget)
    cobudget.add_argument("--round", type=int, required=True, metavar="N", help="the round's number")
    cobudget.add_argument(
        "--events", action="store_true", help="every gift, withdrawal and return instead of one line per project"
    )
    cobudget.add_argument("--output", type=Path, help="file to write (default: standard output)")
    publish = sub.add_parser("publish", help="publish a register on the cooperative's wiki")
    publish_sub = publish.add_subparsers(dest="publish_command", required=True)
    wiki = publish_sub.add_parser(
        "decisions",
        help="the decision register, public decisions only, on a MediaWiki page (MEDIAWIKI_USER, MEDIAWIKI_PASSWORD)",
    )
    common(wiki)
    wiki.add_argument("--wiki", metavar="URL", help="the wiki's api.php (default: url in [wiki])")
    wiki.add_argument("--page", help="the page's title (default: page in [wiki], else « Registre des décisions »)")
    _import_parsers(sub, common)
    return parser


def _import_parsers(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """`chatbot import contributions|envelopes`: the cooperative's spreadsheet, exported as CSV."""
    imports = sub.add_parser("import", help="import the cooperative's spreadsheet (a CSV export)")
    imports_sub = imports.add_subparsers(dest="import_command", required=True)
    contributions = imports_sub.add_parser("contributions", help="contributions, one per row (declarations)")
    envelopes = imports_sub.add_parser("envelopes", help="envelopes of a year: created or brought up to date")
    for p in (contributions, envelopes):
        common(p)
        p.add_argument("--csv", type=Path, required=True, help="the CSV file (comma or semicolon, UTF-8)")
        p.add_argument("--dry-run", action="store_true", help="check and report every row, write nothing")
        p.add_argument("--year", type=int, help="the budget year (dates without a year; rows of other years refused)")
        p.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN,…",
            help="name the file's columns, e.g. member=Nom,date=Jour",
        )
        p.add_argument("--skip-errors", action="store_true", help="write the rows without error, leave the others")
    contributions.add_argument("--members", type=Path, help="CSV `nom,username`: sheet names to chat accounts")


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:8080, got {value!r}")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    """Run a command. Whatever fails ends in one French line on stderr, secrets masked, and an exit code other
    than 0; `-v` adds the (masked) traceback before it."""
    args = build_parser().parse_args(argv)
    redact = Redactor([os.environ.get("DATABASE_URL"), args.database])  # the one in use last
    t = load_catalogue("fr")
    level = args.log_level or ("DEBUG" if args.verbose else "") or os.environ.get("LOG_LEVEL", "").strip().upper()
    level = level or ("INFO" if args.command == "run" else "WARNING")
    form = args.log_format or os.environ.get("LOG_FORMAT", "").strip().lower() or "text"
    if level not in LEVELS or form not in FORMATS:
        wrong = ("LOG_LEVEL", level, LEVELS) if level not in LEVELS else ("LOG_FORMAT", form, FORMATS)
        print(
            _one_line(t("cli.log_option_invalid", name=wrong[0], value=wrong[1], expected=", ".join(wrong[2]))),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if form == "json" else RedactingFormatter(redact, TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    try:
        return _command(args, redact)
    except DatabaseUrlError as error:
        return _fail(
            t(f"cli.{error.key}", url=redact.shown_url, **error.data), error, args.verbose, redact, EXIT_CONFIG
        )
    except ConfigError as error:  # found once the commands are known (a name that is a command word)
        print(t("cli.config_error", error=redact(str(error))), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print(t("cli.interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:  # a file or a port the system refuses (the database's are told where they occur)
        return _fail(_system_refusal(error, t, redact), error, args.verbose, redact, EXIT_INTERNAL)
    except Exception as error:
        detail = _first_line(redact(f"{type(error).__name__}: {error}"))
        return _fail(t("cli.internal_error", error=detail), error, args.verbose, redact, EXIT_INTERNAL)


_OS_REASONS = {
    errno.ENOENT: "cli.reason_missing",
    errno.EISDIR: "cli.reason_directory",
    errno.EACCES: "cli.reason_denied",
    errno.EPERM: "cli.reason_denied",
    errno.ENOSPC: "cli.reason_full",
    errno.EROFS: "cli.reason_read_only",
    errno.EADDRINUSE: "cli.reason_address_in_use",
    errno.EADDRNOTAVAIL: "cli.reason_address_unavailable",
}


def _system_refusal(error: OSError, t: Callable[..., str], redact: Redactor) -> str:
    key = _OS_REASONS.get(error.errno or 0)
    reason = t(key) if key else _first_line(redact(error.strerror or str(error)))
    if error.filename is not None:
        return t("cli.file_refused", path=redact(str(error.filename)), reason=reason)
    if error.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL) or "bind" in str(error):
        return t("cli.port_refused", reason=reason)
    return t("cli.system_refused", reason=reason)


def _fail(line: str, error: BaseException, verbose: bool, redact: Redactor, code: int) -> int:
    if verbose:
        print(redact("".join(traceback.format_exception(error))), file=sys.stderr, end="")
    print(_one_line(line), file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    """Control characters (a URL may hold a line break) escaped, so that an error stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _command(args: argparse.Namespace, redact: Redactor) -> int:
    if given := args.database or os.environ.get("DATABASE_URL"):
        check_url(given)  # before the configuration inserts DATABASE_PASSWORD into it
    try:
        settings = load_settings(args.config, args.database)
    except ConfigError as error:
        print(load_catalogue("fr")("cli.config_error", error=redact(str(error))), file=sys.stderr)
        return EXIT_CONFIG
    redact.add_url(settings.database_url)
    check_url(settings.database_url)
    if args.command == "console":
        return asyncio.run(_console(settings, args.user, args.room, args.web))
    if args.command == "run":
        return asyncio.run(_run(settings))
    if args.command == "check":
        return asyncio.run(_check(settings))
    if args.command == "import":
        return asyncio.run(_import(settings, args))
    if args.command == "publish":
        return asyncio.run(_publish_decisions(settings, args.wiki, args.page, redact))
    if args.command == "export" and args.export_command == "cobudget":
        return asyncio.run(_export_cobudget(settings, args.round, args.events, args.output))
    if args.command == "export":
        return asyncio.run(_export_decisions(settings, args.format, args.output, args.include_private))
    if args.db_command == "upgrade":
        return asyncio.run(_db_upgrade(settings))
    return asyncio.run(_db_status(settings))


async def _started(bot: Bot, *, run_scheduler: bool = False) -> bool:
    """Start the bot, or say in French why the database stops it (out-of-date schema, unreachable)."""
    try:
        await bot.start(run_scheduler=run_scheduler)
    except SchemaOutOfDate as error:
        current = error.current or bot.t("cli.schema_empty")
        print(bot.t("cli.schema_out_of_date", current=current, head=error.head), file=sys.stderr)
        return False
    except DATABASE_ERRORS as error:
        _unreachable(error, bot.settings.database_url, bot.t)
        return False
    return True


def _unreachable(error: BaseException, url: str, t: Callable[..., str]) -> None:
    """One French line on why the database cannot be opened; the traceback only with -v."""
    redact = Redactor([url])
    logging.getLogger(__name__).debug("database unreachable", exc_info=error)
    line = t("cli.database_unreachable", url=redact.shown_url, reason=_why(error, url, t, redact))
    print(_one_line(line), file=sys.stderr)


def _why(error: BaseException, url: str, t: Callable[..., str], redact: Redactor) -> str:
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    for cause in _causes(error):
        name = type(cause).__name__
        if name == "InvalidCatalogNameError":
            return t("cli.database_missing", database=parsed.database or "")
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return t("cli.database_denied", user=parsed.username or "")
        if isinstance(cause, socket.gaierror | UnicodeError):
            return t("cli.database_host_unknown", host=parsed.host or "")
        if isinstance(cause, TimeoutError):
            return t("cli.database_timeout", where=where)
        if isinstance(cause, ConnectionError) or "Connect call failed" in str(cause):
            return t("cli.database_refused", where=where)
    if parsed.drivername.startswith("sqlite"):
        return t("cli.database_file", path=parsed.database or "")
    innermost = list(_causes(error))[-1]
    return _first_line(redact(str(getattr(innermost, "orig", innermost)))) or type(innermost).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what caused it, and so on (SQLAlchemy wraps the driver's error, which wraps the network's)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# --- secrets ---------------------------------------------------------------------------------------------------

SECRET_VARIABLES = (
    "DATABASE_PASSWORD",
    "ROCKETCHAT_PASSWORD",
    "ROCKETCHAT_AUTH_TOKEN",
    "CALENDAR_TOKEN",
    "MEDIAWIKI_PASSWORD",
)
# `scheme://user:password@` in some text: the password runs to the last @ of the word.
_USERINFO = re.compile(r"(?P<head>(?:[A-Za-z][\w+.-]*)?://[^\s:/]*):(?P<password>\S*)@")
_PASSWORD_PARAMETER = re.compile(r"(?i)\b(?P<head>password|passwd|pwd)=(?P<password>[^&\s]+)")
_FRAGMENT = 3  # the parts of a password (between : @ / ? #) this long or longer are masked too, wherever they are


def mask_url(url: str) -> str:
    """The URL with its password shown as *** (`bot:***@host`), even a URL that cannot be parsed."""
    parts = _userinfo(url)
    if parts is not None:
        url = f"{parts[0]}{MASK}{parts[2]}"
    return _mask_in_text(url)


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """(up to the user's colon, the password, from the @ on): the password runs from the first colon after `://`
    to the URL's last @, whatever it holds (an unparsable URL may have several, or spaces)."""
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    at = url.rfind("@")
    colon = url.find(":", start, at)
    if at <= start or colon < 0:
        return None
    return url[: colon + 1], url[colon + 1 : at], url[at:]


def _mask_in_text(text: str) -> str:
    masked = _USERINFO.sub(lambda found: f"{found['head']}:{MASK}@", text)
    return _PASSWORD_PARAMETER.sub(lambda found: f"{found['head']}={MASK}", masked)


def _url_secrets(url: str) -> set[str]:
    found = {m["password"] for pattern in (_USERINFO, _PASSWORD_PARAMETER) for m in pattern.finditer(url)}
    if (parts := _userinfo(url)) is not None:
        found.add(parts[1])
    try:
        password = make_url(url).password
    except Exception:  # an unparsable URL: the patterns above found what it holds
        password = None
    if password:
        found.add(str(password))
    fragments = {part for secret in found for part in re.split(r"[:@/?#]", secret) if len(part) >= _FRAGMENT}
    return found | fragments


class Redactor:
    """Masks what must never reach the terminal or the logs: the database URLs' passwords (their parts too, as a
    parser's message may quote a piece) and the secrets of the environment."""

    def __init__(self, urls: Iterable[str | None]) -> None:
        self.urls: list[str] = []
        self.secrets: set[str] = {os.environ.get(name, "") for name in SECRET_VARIABLES} - {""}
        for url in urls:
            if url:
                self.add_url(url)

    def add_url(self, url: str) -> None:
        self.urls.append(url)
        self.secrets |= _url_secrets(url)

    @property
    def shown_url(self) -> str:
        """The URL in use, as it may be shown."""
        return self(self.urls[-1]) if self.urls else ""

    def __call__(self, text: str) -> str:
        for url in self.urls:
            text = text.replace(url, mask_url(url))
        return mask_known(_mask_in_text(text), self.secrets)


class RedactingFormatter(logging.Formatter):
    """Log lines (message, arguments, traceback) with the secrets masked."""

    def __init__(self, redact: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


async def _console(settings: Settings, user: str | None, room: str | None, web: tuple[str, int] | None = None) -> int:
    with _sole_sqlite_process(settings) as alone:
        if not alone:
            return EXIT_DATABASE
        return await _console_alone(settings, user, room, web)


async def _console_alone(settings: Settings, user: str | None, room: str | None, web: tuple[str, int] | None) -> int:
    bot = Bot.create(settings)
    runner = None
    try:
        if not await _started(bot, run_scheduler=True):
            return EXIT_DATABASE
        default_user = settings.console_user or next(iter(sorted(settings.admins)), "membre")
        transport = ConsoleTransport(settings, bot.t, user=user or default_user, room=room or settings.console_room)
        bot.outlet = transport.deliver
        bot.members_of = transport.room_members
        if web is not None:
            runner = await start_web(bot, *web)
        await transport.run(bot.handle)
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        await bot.close()


async def _export_decisions(settings: Settings, form: str, output: Path | None, include_private: bool) -> int:
    from chatbot.export_decisions import decisions_csv, decisions_markdown, decisions_wikitext
    from chatbot.services import Services

    bot = Bot.create(settings)
    try:
        if not await _started(bot):
            return EXIT_DATABASE
        async with bot.sessions() as session:
            register = await Services.bind(session, settings, bot.clock).decisions.register(include_private=True)
        entries = [e for e in register if include_private or not e.private]
        if form == "csv":
            content = decisions_csv(entries, settings, bot.t, bot.fmt)
        elif form == "wikitext":
            content = decisions_wikitext(entries, settings, bot.t, bot.fmt)
        else:
            content = decisions_markdown(entries, settings, bot.t, bot.fmt, bot.clock.now().date())
        if output is None:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
        else:
            await asyncio.to_thread(output.write_bytes, content)
            print(bot.t("cli.exported", path=str(output), count=len(entries)), file=sys.stderr)
        if len(entries) < len(register):
            print(bot.t("cli.private_left_out", count=len(register) - len(entries)), file=sys.stderr)
        return 0
    finally:
        await bot.close()


async def _export_cobudget(settings: Settings, number: int, events: bool, output: Path | None) -> int:
    """`chatbot export cobudget --round N`: one line per project, or `--events` the journal (exit 2: no such
    round)."""
    from chatbot.db.models import CobudgetRound, Envelope
    from chatbot.export_cobudget import events_csv, projects_csv
    from chatbot.services import Services
    from chatbot.services.cobudget import CobudgetService

    bot = Bot.create(settings)
    try:
        if not await _started(bot):
            return EXIT_DATABASE
        async with bot.sessions() as session:
            services = Services.bind(session, settings, bot.clock)
            cobudget = CobudgetService(session, settings, bot.clock, services.tasks)
            round_ = await session.get(CobudgetRound, number)
            if round_ is None:
                print(bot.t("cli.cobudget_unknown", number=number), file=sys.stderr)
                return 2
            projects = await cobudget.projects(round_)
            journal = await cobudget.events(round_)
            if events:
                titles = {p.id: p.title for p in projects}
                content = events_csv(round_, journal, titles, bot.t, bot.fmt, settings.timezone)
                lines = len(journal)
            else:
                received = await cobudget.received(round_)
                rows = [
                    (
                        p,
                        await cobudget.member_name(p.author_id),
                        received.get(p.id, 0),
                        await session.get(Envelope, p.envelope_id) if p.envelope_id else None,
                    )
                    for p in projects
                ]
                content = projects_csv(round_, rows, bot.t)
                lines = len(rows)
        if output is None:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
        else:
            await asyncio.to_thread(output.write_bytes, content)
            print(bot.t("cli.cobudget_exported", number=number, path=str(output), count=lines), file=sys.stderr)
        return 0
    finally:
        await bot.close()


async def _publish_decisions(settings: Settings, url: str | None, page: str | None, redact: Redactor) -> int:
    """Publish the public register on the wiki: one French line for what was done, or why not (exit 2: what to
    give is missing; 3: the database; 1: the wiki refused or could not be reached)."""
    from chatbot import wiki

    t = load_catalogue(settings.language)
    url = url or settings.wiki.url
    page = (page or settings.wiki.page).strip()
    if not url:
        print(t("wiki.cli.no_url"), file=sys.stderr)
        return EXIT_CONFIG
    credentials = wiki.Credentials.from_environment()
    if credentials is None:
        print(t("wiki.cli.no_credentials"), file=sys.stderr)
        return EXIT_CONFIG
    redact.secrets.add(credentials.password)
    try:
        wiki.api_location(url)
    except wiki.WikiProblem as problem:
        print(_one_line(redact(problem.line(t))), file=sys.stderr)
        return EXIT_CONFIG
    bot = Bot.create(settings)
    try:
        if not await _started(bot):
            return EXIT_DATABASE
        try:
            async with bot.sessions() as session, session.begin():
                outcome = await wiki.publish(
                    session, settings, bot.clock, bot.t, bot.fmt, url, page, credentials, skip_if_published=False
                )
                private = len(await _private_decisions(session, settings, bot))
        except wiki.WikiProblem as problem:
            print(_one_line(redact(problem.line(t))), file=sys.stderr)
            return EXIT_INTERNAL
        key = "wiki.cli.published" if outcome.edited else "wiki.cli.unchanged"
        print(_one_line(redact(t(key, url=url, page=page, count=outcome.count))), file=sys.stderr)
        if private:
            print(t("wiki.cli.private_never", count=private), file=sys.stderr)
        return 0
    finally:
        await bot.close()


async def _private_decisions(session: AsyncSession, settings: Settings, bot: Bot) -> list[object]:
    """The decisions of private rooms (never published), to say how many were left out."""
    from chatbot.services import Services

    register = await Services.bind(session, settings, bot.clock).decisions.register(include_private=True)
    return [entry for entry in register if entry.private]


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    """Read the file (refused in one French line, exit 2, before the database is opened), then import it."""
    from chatbot.importer import ImportProblem
    from chatbot.importer import run as importer

    t = load_catalogue(settings.language)
    contributions = args.import_command == "contributions"
    try:
        importer.check_year(args.year)
        if contributions:
            options = importer.ContributionOptions(
                args.csv, args.dry_run, args.year, tuple(args.map), args.members, args.skip_errors
            )
            table, mapping = importer.read_contribution_files(options)
        else:
            envelope_options = importer.EnvelopeOptions(
                args.csv, args.dry_run, args.year, tuple(args.map), args.skip_errors
            )
            table = importer.read_envelope_file(envelope_options)
    except ImportProblem as problem:
        print(_one_line(importer.fatal_line(t, problem)), file=sys.stderr)
        return EXIT_CONFIG
    bot = Bot.create(settings)
    try:
        if not await _started(bot):
            return EXIT_DATABASE
        try:
            if contributions:
                return await importer.import_contributions(bot, options, table, mapping)
            return await importer.import_envelopes(bot, envelope_options, table)
        except ImportProblem as problem:
            print(_one_line(importer.fatal_line(t, problem)), file=sys.stderr)
            return EXIT_INTERNAL
        except IntegrityError as error:  # another import wrote the same rows meanwhile: nothing of this one stays
            logging.getLogger(__name__).debug("import refused by the database", exc_info=error)
            print(t("import.interrupted_concurrent"), file=sys.stderr)
            return EXIT_DATABASE
    finally:
        await bot.close()


async def _run(settings: Settings) -> int:
    from chatbot.transport.rocketchat import credentials

    t = load_catalogue(settings.language)
    secrets = credentials.from_environment()
    if not secrets.present:
        print(t("rocketchat.no_credentials"), file=sys.stderr)
        return EXIT_CONFIG
    with _sole_sqlite_process(settings) as alone:
        if not alone:
            return EXIT_DATABASE
        return await _serve(settings, secrets)


async def _serve(settings: Settings, secrets: Secrets) -> int:
    from chatbot.transport.rocketchat import service

    bot = Bot.create(settings)
    try:
        if not await _started(bot):  # the scheduler starts once caught up (see service.serve)
            return EXIT_DATABASE
        # What start-up made (modules, mappings, the catalogue) lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it, which keeps its pauses out of message handling.
        gc.collect()
        gc.freeze()
        return await service.serve(bot, secrets)
    finally:
        await bot.close()


@contextlib.contextmanager
def _sole_sqlite_process(settings: Settings) -> Iterator[bool]:
    """On a SQLite file, this process holds its lock file for its whole life (False, said in French, when another
    `chatbot run` or console holds it). PostgreSQL elects its active replica instead (chatbot.leadership)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield True
        return
    lock = SqliteFileLock(Path(url.database).resolve())
    if not lock.path.parent.is_dir():  # the database cannot be opened either: its own error says why
        yield True
        return
    try:
        lock.acquire()
    except FileLockBusy:
        print(load_catalogue(settings.language)("cli.sqlite_busy", path=url.database), file=sys.stderr)
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


async def _check(settings: Settings) -> int:
    from chatbot.transport.rocketchat import check, credentials

    t = load_catalogue(settings.language)
    findings = await check.run_checks(settings, credentials.from_environment(), t)
    print(check.render(findings, t, settings.rocketchat.url))
    return 1 if any(f.level is check.Level.FAIL for f in findings) else 0


async def _db_upgrade(settings: Settings) -> int:
    t = load_catalogue(settings.language)
    engine = make_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        state = await migrate.schema_state(engine)
        print(t("cli.upgraded", head=state.head))
        return 0
    except DATABASE_ERRORS as error:
        _unreachable(error, settings.database_url, t)
        return EXIT_DATABASE
    finally:
        await engine.dispose()


async def _db_status(settings: Settings) -> int:
    """The schema's version against the code's, and the rows of every table (to check a restored backup). Exit
    code 0 when the schema is the code's, 1 when it is behind (or empty) or ahead (a newer version's)."""
    t = load_catalogue(settings.language)
    fmt = Formatter(t("format.locale"))
    engine = make_engine(settings.database_url)
    try:
        state = await migrate.schema_state(engine)
        async with engine.connect() as connection:
            counts = await _row_counts(connection)
    except DATABASE_ERRORS as error:
        _unreachable(error, settings.database_url, t)
        return EXIT_DATABASE
    finally:
        await engine.dispose()
    current = state.current or t("cli.schema_empty")
    flag = t("cli.status_ok") if state.up_to_date else t("cli.status_behind")
    if state.current is not None and not state.up_to_date and not _known_revision(state.current):
        flag = t("cli.status_ahead")
    lines = [t("cli.status", current=current, head=state.head, state=flag), t("cli.status_tables")]
    width = max((len(name) for name in counts), default=0)
    shown = {name: fmt.number(rows) for name, rows in counts.items() if rows is not None}
    digits = max((len(number) for number in shown.values()), default=0)
    for name, rows in counts.items():
        if rows is None:
            lines.append(t("cli.status_table_missing", table=name.ljust(width)))
        else:
            lines.append(t("cli.status_table_row", table=name.ljust(width), rows=shown[name].rjust(digits)))
    total = sum(rows for rows in counts.values() if rows is not None)
    lines.append(t("cli.status_total", rows=fmt.number(total), tables=len(shown)))
    print("\n".join(lines))
    return 0 if state.up_to_date else 1


async def _row_counts(connection: AsyncConnection) -> dict[str, int | None]:
    """Rows per table, by name: the tables the database has (but Alembic's own) and those the code expects (None
    for one that is missing)."""
    present = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    names = sorted((present | set(Base.metadata.tables)) - {"alembic_version"})
    counts: dict[str, int | None] = {}
    for name in names:
        if name in present:
            counts[name] = int(await connection.scalar(select(func.count()).select_from(table(name))) or 0)
        else:
            counts[name] = None
    return counts


def _known_revision(revision: str) -> bool:
    """Whether this code's migrations know the revision (an unknown one was written by a newer version)."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError as AlembicError

    try:
        return ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision) is not None
    except AlembicError:
        return False
