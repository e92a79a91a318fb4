"""`chatbot import contributions|envelopes`: read the file, check every row in one transaction, report, and write
only when asked and when nothing is in error (or `--skip-errors`). A dry run goes through the very same
transaction and rolls it back, so what it reports is what the real run does."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from chatbot.app import Bot
from chatbot.importer import ImportProblem, contributions, envelopes
from chatbot.importer.table import parse_map, read_table
from chatbot.messages import Catalogue
from chatbot.services.limits import MAX_BUDGET_REASON
from chatbot.text import without_control_characters
from chatbot.values import BUDGET_YEARS

EXIT_OK = 0
EXIT_ROWS = 1  # rows in error (nothing written unless --skip-errors)
EXIT_INPUT = 2  # the file itself, an option: one French line
SHOWN_TEXT = 60  # characters of a cell echoed in a report line
_MONEY = {"amount", "expected", "rate", "cap", "low", "high"}
_DURATIONS = {"minutes", "limit_minutes"}


@dataclass(frozen=True)
class ContributionOptions:
    csv: Path
    dry_run: bool = False
    year: int | None = None
    maps: tuple[str, ...] = ()
    members: Path | None = None
    skip_errors: bool = False


def read_contribution_files(options: ContributionOptions) -> tuple[Any, dict[str, str]]:
    """The table and the member mapping, read before any database is opened. Raises ImportProblem."""
    overrides = parse_map(options.maps, contributions.FIELDS)
    table = read_table(_existing(options.csv), contributions.FIELDS, contributions.REQUIRED, overrides)
    mapping = contributions.read_member_map(_existing(options.members)) if options.members else {}
    return table, mapping


def check_year(year: int | None) -> None:
    if year is not None and year not in BUDGET_YEARS:
        raise ImportProblem("bad_year", given=year, first=BUDGET_YEARS[0], last=BUDGET_YEARS[-1])


def fatal_line(t: Catalogue, problem: ImportProblem) -> str:
    """The one French line that refuses the file (or an option)."""
    values = {k: text(v, 200) if isinstance(v, str) else v for k, v in problem.data.items()}
    return t(f"import.fatal.{problem.key}", **values)


def _existing(path: Path) -> Path:
    if not path.exists():
        raise ImportProblem("file_missing", path=str(path))
    if path.is_dir():
        raise ImportProblem("file_directory", path=str(path))
    return path


class Progress:
    """A bar redrawn in place on a terminal; plain lines, one per batch, when stdout is a file or a pipe."""

    WIDTH = 30

    def __init__(self, out: TextIO, total: int, label: str, plain_every: int) -> None:
        self.out, self.total, self.label, self.plain_every = out, total, label, plain_every
        self.tty = out.isatty()
        self.drawn = False

    def __call__(self, done: int) -> None:
        if self.tty:
            filled = self.WIDTH * done // max(self.total, 1)
            percent = 100 * done // max(self.total, 1)
            bar = "█" * filled + "░" * (self.WIDTH - filled)
            self.out.write(f"\r{self.label} [{bar}] {percent:3d} % ({done}/{self.total})")
            self.drawn = True
        elif self.total > self.plain_every:
            self.out.write(f"{self.label} : {done}/{self.total}\n")
        self.out.flush()

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


class Reporter:
    def __init__(self, bot: Bot, out: TextIO) -> None:
        self.t, self.fmt, self.out = bot.t, bot.fmt, out

    def say(self, key: str, **data: Any) -> None:
        self.out.write(self.t(f"import.{key}", **data) + "\n")

    def problem(self, problem: ImportProblem) -> str:
        return self.t(f"import.problem.{problem.key}", **self.values(problem.data))

    def values(self, data: dict[str, Any]) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name, value in data.items():
            if value is None:
                shown[name] = "…"
            elif isinstance(value, bool):
                shown[name] = value
            elif isinstance(value, date):
                shown[name] = self.fmt.date_short(value)
            elif isinstance(value, int) and name in _MONEY:
                shown[name] = self.fmt.money(value)
            elif isinstance(value, int) and name in _DURATIONS:
                shown[name] = self.fmt.duration(value)
            elif isinstance(value, str):
                shown[name] = text(value)
            else:
                shown[name] = value
        return shown


def text(value: str, limit: int = SHOWN_TEXT) -> str:
    """A cell echoed on one line: no control character, shortened."""
    flat = " ".join(without_control_characters(value).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- contributions ---------------------------------------------------------------------------------------------


async def import_contributions(
    bot: Bot, options: ContributionOptions, table: Any, mapping: dict[str, str], out: TextIO = sys.stdout
) -> int:
    started = time.perf_counter()
    report = Reporter(bot, out)
    source = options.csv.name

    def reason(line: contributions.Line) -> str:
        return bot.t("import.audit_reason", file=text(source, 200), line=line.line)[:MAX_BUDGET_REASON]

    async with bot.sessions() as session:
        try:
            the_plan = await contributions.plan(
                session, bot.settings, bot.clock, table, mapping, contributions.Options(options.year)
            )
            _report_lines(report, the_plan, every=options.dry_run)
            errors = the_plan.count(contributions.ERROR)
            writing = not options.dry_run and (errors == 0 or options.skip_errors)
            if writing and the_plan.creating():
                progress = Progress(
                    out, len(the_plan.creating()), bot.t("import.progress_writing"), contributions.BATCH
                )
                try:
                    await contributions.write(session, bot.settings, bot.clock, the_plan, reason, progress)
                finally:
                    progress.close()
                await session.commit()
            else:
                await session.rollback()
        except BaseException:
            await session.rollback()
            raise
    _summary(report, the_plan, table, options, writing, time.perf_counter() - started)
    if errors and not writing:
        return EXIT_ROWS
    return EXIT_OK


def _report_lines(report: Reporter, the_plan: contributions.Plan, *, every: bool) -> None:
    for line in the_plan.lines:
        if line.status == contributions.ERROR:
            for problem in line.problems:
                report.say("row_error", line=line.line, problem=report.problem(problem))
        elif every:
            key = "row_create" if line.status == contributions.CREATE else "row_exists"
            report.say(key, line=line.line, what=_described(report, line))


def _described(report: Reporter, line: contributions.Line) -> str:
    fmt = report.fmt
    if line.minutes is not None and line.rate_cents is not None:
        quantity = report.t(
            "import.quantity_hours", duration=fmt.duration(line.minutes), rate=fmt.rate(line.rate_cents)
        )
    else:
        quantity = report.t("import.quantity_flat")
    return report.t(
        "import.row_what",
        username=text(line.username or "", 40),
        envelope=line.envelope_slug or "",
        date=fmt.date_short(line.work_date) if line.work_date else "",
        quantity=quantity,
        amount=fmt.money(line.amount_cents or 0),
        description=text(line.description) if line.description else "—",
    )


def _summary(
    report: Reporter,
    the_plan: contributions.Plan,
    table: Any,
    options: ContributionOptions,
    written: bool,
    seconds: float,
) -> None:
    created = the_plan.count(contributions.CREATE)
    errors = the_plan.count(contributions.ERROR)
    report.say(
        "summary_written" if written else "summary_planned",
        read=len(the_plan.lines),
        created=created,
        exists=the_plan.count(contributions.EXISTS),
        errors=errors,
    )
    per_envelope: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for line in the_plan.creating():
        assert line.envelope_slug is not None and line.year is not None and line.amount_cents is not None
        entry = per_envelope[(line.envelope_slug, line.year)]
        entry[0] += 1
        entry[1] += line.amount_cents
    for (slug_, year), (count, cents) in sorted(per_envelope.items()):
        envelope = the_plan.envelopes[(slug_, year)]
        used_after = envelope.spent_cents + envelope.committed_cents + cents  # the rows as read before the import
        report.say(
            "summary_envelope",
            name=envelope.name,
            slug=slug_,
            year=year,
            count=count,
            amount=report.fmt.money(cents),
            used=report.fmt.money(used_after),
            total=report.fmt.money(envelope.amount_cents),
        )
        if used_after > envelope.amount_cents:
            report.say(
                "summary_overrun", slug=slug_, year=year, over=report.fmt.money(used_after - envelope.amount_cents)
            )
    if the_plan.new_members:
        names = ", ".join(f"@{u}" for _k, u in sorted(the_plan.new_members.items()))
        report.say("summary_members_created" if written else "summary_members_planned", names=names)
    if table.ignored:
        report.say("summary_ignored_columns", columns=", ".join(f"« {text(c, 40)} »" for c in table.ignored))
    if options.dry_run:
        report.say("dry_run_done")
    elif written:
        report.say("done", created=created, seconds=report.fmt.number(Decimal(f"{seconds:.1f}")))
        if errors:
            report.say("done_skipped", errors=errors)
    elif errors:
        report.say("not_written", errors=errors)


# --- envelopes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeOptions:
    csv: Path
    dry_run: bool = False
    year: int | None = None
    maps: tuple[str, ...] = ()
    skip_errors: bool = False


def read_envelope_file(options: EnvelopeOptions) -> Any:
    overrides = parse_map(options.maps, envelopes.FIELDS)
    required = envelopes.REQUIRED if options.year is not None else (*envelopes.REQUIRED, ("year",))
    return read_table(_existing(options.csv), envelopes.FIELDS, required, overrides)


async def import_envelopes(bot: Bot, options: EnvelopeOptions, table: Any, out: TextIO = sys.stdout) -> int:
    report = Reporter(bot, out)
    source = options.csv.name

    def reason(line: envelopes.EnvelopeLine) -> str:
        return bot.t("import.audit_reason", file=text(source, 200), line=line.line)[:MAX_BUDGET_REASON]

    async with bot.sessions() as session:
        try:
            lines = await envelopes.plan(session, bot.settings, bot.clock, table, options.year)
            errors = sum(1 for line in lines if line.status == envelopes.ERROR)
            for line in lines:
                _report_envelope(report, line)
            writing = not options.dry_run and (errors == 0 or options.skip_errors)
            if writing:
                await envelopes.write(session, bot.settings, bot.clock, lines, reason)
                await session.commit()
            else:
                await session.rollback()
        except BaseException:
            await session.rollback()
            raise
    counts = {
        s: sum(1 for line in lines if line.status == s) for s in (envelopes.CREATE, envelopes.UPDATE, envelopes.SAME)
    }
    report.say(
        "envelopes_summary_written" if writing else "envelopes_summary_planned",
        read=len(lines),
        created=counts[envelopes.CREATE],
        updated=counts[envelopes.UPDATE],
        same=counts[envelopes.SAME],
        errors=errors,
    )
    if table.ignored:
        report.say("summary_ignored_columns", columns=", ".join(f"« {text(c, 40)} »" for c in table.ignored))
    if options.dry_run:
        report.say("dry_run_done")
    elif errors and not writing:
        report.say("not_written", errors=errors)
    return EXIT_ROWS if errors and not writing else EXIT_OK


_ENVELOPE_COLUMNS: dict[str, Callable[[Reporter, Any], str]] = {
    "amount_cents": lambda r, v: r.fmt.money(v),
    "rate_cents": lambda r, v: r.fmt.rate(v),
    "flat_min_cents": lambda r, v: r.fmt.money(v) if v is not None else "—",
    "flat_max_cents": lambda r, v: r.fmt.money(v) if v is not None else "—",
    "mode": lambda r, v: r.t(f"import.mode.{v}"),
}


def _report_envelope(report: Reporter, line: envelopes.EnvelopeLine) -> None:
    if line.status == envelopes.ERROR:
        for problem in line.problems:
            report.say("row_error", line=line.line, problem=report.problem(problem))
        return
    where = {"line": line.line, "slug": line.slug, "year": line.year}
    if line.status == envelopes.CREATE:
        report.say(
            "envelope_create",
            **where,
            name=text(str(line.values.get("name", ""))),
            amount=report.fmt.money(line.values.get("amount_cents", 0)),
            rate=report.fmt.rate(line.values["rate_cents"]),
        )
    elif line.status == envelopes.UPDATE:
        changes = " ; ".join(
            report.t(
                "import.envelope_change",
                column=report.t(f"import.column.{column}"),
                before=_ENVELOPE_COLUMNS.get(column, lambda r, v: text(str(v)))(report, before),
                after=_ENVELOPE_COLUMNS.get(column, lambda r, v: text(str(v)))(report, after),
            )
            for column, (before, after) in line.changes.items()
        )
        report.say("envelope_update", **where, changes=changes)
    else:
        report.say("envelope_same", **where)
