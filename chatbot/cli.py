"""The `chatbot` command: console, Rocket.Chat (run, check), database migrations, exports."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from chatbot.app import Bot, SchemaOutOfDate
from chatbot.config import ConfigError, Settings, load_settings
from chatbot.db import migrate
from chatbot.db.engine import make_engine
from chatbot.messages import load_catalogue
from chatbot.transport.console import ConsoleTransport
from chatbot.web import start_web

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatbot", description="A Rocket.Chat bot for cooperatives.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="TOML configuration (default: the embedded example)")
        p.add_argument("--database", help="SQLAlchemy URL, overrides the configuration and DATABASE_URL")
        p.add_argument("-v", "--verbose", action="store_true", help="log debug information on stderr")

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
    decisions.add_argument("--format", choices=("csv", "markdown"), default="markdown")
    decisions.add_argument("--output", type=Path, help="file to write (default: standard output)")
    return parser


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:8080, got {value!r}")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        settings = load_settings(args.config, args.database)
    except ConfigError as error:
        print(load_catalogue("fr")("cli.config_error", error=error), file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "console":
        return asyncio.run(_console(settings, args.user, args.room, args.web))
    if args.command == "run":
        return asyncio.run(_run(settings))
    if args.command == "check":
        return asyncio.run(_check(settings))
    if args.command == "export":
        return asyncio.run(_export_decisions(settings, args.format, args.output))
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
    except (OperationalError, OSError) as error:
        print(bot.t("cli.database_unreachable", error=error), file=sys.stderr)
        return False
    return True


async def _console(settings: Settings, user: str | None, room: str | None, web: tuple[str, int] | None = None) -> int:
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


async def _export_decisions(settings: Settings, form: str, output: Path | None) -> int:
    from chatbot.export_decisions import decisions_csv, decisions_markdown
    from chatbot.services import Services

    bot = Bot.create(settings)
    try:
        if not await _started(bot):
            return EXIT_DATABASE
        async with bot.sessions() as session:
            entries = await Services.bind(session, settings, bot.clock).decisions.register()
        if form == "csv":
            content = decisions_csv(entries, settings, bot.t, bot.fmt)
        else:
            content = decisions_markdown(entries, settings, bot.t, bot.fmt, bot.clock.now().date())
        if output is None:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
        else:
            await asyncio.to_thread(output.write_bytes, content)
            print(bot.t("cli.exported", path=str(output), count=len(entries)), file=sys.stderr)
        return 0
    finally:
        await bot.close()


async def _run(settings: Settings) -> int:
    from chatbot.transport.rocketchat import credentials, service

    t = load_catalogue(settings.language)
    secrets = credentials.from_environment()
    if not secrets.present:
        print(t("rocketchat.no_credentials"), file=sys.stderr)
        return EXIT_CONFIG
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
    except (OperationalError, OSError) as error:
        print(t("cli.database_unreachable", error=error), file=sys.stderr)
        return EXIT_DATABASE
    finally:
        await engine.dispose()


async def _db_status(settings: Settings) -> int:
    t = load_catalogue(settings.language)
    engine = make_engine(settings.database_url)
    try:
        state = await migrate.schema_state(engine)
    except (OperationalError, OSError) as error:
        print(t("cli.database_unreachable", error=error), file=sys.stderr)
        return EXIT_DATABASE
    finally:
        await engine.dispose()
    current = state.current or t("cli.schema_empty")
    flag = t("cli.status_ok") if state.up_to_date else t("cli.status_behind")
    print(t("cli.status", current=current, head=state.head, state=flag))
    return 0 if state.up_to_date else 1
