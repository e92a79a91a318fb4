"""Contributions from the spreadsheet: every row checked against the database as `/contrib` would check it, then
written as declarations in one transaction, each with a stable key so that importing the file again adds nothing.

A row's key is `import:` + the first 40 hex digits of the SHA-256 of what the row *says* once read (the member's
account, the envelope, the date, the duration in minutes, the rate and the amount as written in the file, the
description): the same sheet exported again, even with `3h30` become `3,5`, gives the same keys; nothing that the
database decides (an envelope's rate today) enters it. It is stored as `contribution.source_message_id` (unique)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings, account_key, is_username
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import (
    AuditEvent,
    BudgetYear,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
)
from chatbot.grammar.base import EnvelopeDirectory
from chatbot.importer import ImportProblem
from chatbot.importer.cells import read_amount, read_date, read_duration, read_minutes, read_rate
from chatbot.importer.table import DELIMITERS, Field, Row, Table, header_key, read_text
from chatbot.money import amount_for_minutes
from chatbot.services.budget import BudgetService, EnvelopeStatus
from chatbot.services.limits import MAX_DESCRIPTION
from chatbot.services.members import IMPORTED_PREFIX
from chatbot.text import fold, slug, without_control_characters
from chatbot.values import BUDGET_YEARS

KEY_PREFIX = "import:"
SYNTHETIC_USER = IMPORTED_PREFIX  # a member created by the import: `import:<account key of the username>`
MAX_IMPORTED_USERNAME = 64 - len(SYNTHETIC_USER)
BATCH = 1000  # rows per INSERT (one transaction for them all)

FIELDS = (
    Field("date", ("Date", "Jour", "Date du travail", "Date de la contribution", "Date de contribution")),
    Field(
        "member",
        ("Membre", "Nom", "Personne", "Contributeur", "Contributrice", "Entrepreneur", "Entrepreneuse", "Qui"),
        ("membre", "nom"),
    ),
    Field(
        "envelope",
        ("Cercle", "Enveloppe", "Cercle / Enveloppe", "Cercle ou enveloppe", "Budget", "Circle"),
        ("enveloppe", "cercle", "circle"),
    ),
    Field(
        "duration",
        ("Durée", "Heures", "Temps", "Temps passé", "Nombre d'heures", "Nb heures", "Durée (h)", "Heures (h)"),
        ("duree", "heures"),
    ),
    Field("minutes", ("Minutes", "Durée (min)", "Durée en minutes", "Temps (min)", "Min")),
    Field("rate", ("Taux", "Taux horaire", "Taux (€/h)", "€/h", "Taux €/h"), ("taux",)),
    Field("amount", ("Montant", "Montant (€)", "Montant €", "Total", "Rétribution", "Somme"), ("montant",)),
    Field("description", ("Description", "Objet", "Libellé", "Tâche", "Détail", "Intitulé", "Commentaire")),
)
REQUIRED = (("date",), ("member",), ("envelope",), ("duration", "minutes", "amount"))

CREATE, EXISTS, ERROR = "create", "exists", "error"


@dataclass
class Line:
    """One row of the file: what it would create, or why it cannot."""

    line: int
    status: str = ERROR
    username: str | None = None
    member_name: str = ""
    envelope_slug: str | None = None
    envelope_name: str | None = None
    work_date: date | None = None
    minutes: int | None = None
    rate_cents: int | None = None
    amount_cents: int | None = None
    description: str = ""
    key: str | None = None
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return self.work_date.year if self.work_date else None


@dataclass
class Plan:
    lines: list[Line]
    new_members: dict[str, str]  # account key → username, members the import creates
    envelopes: dict[tuple[str, int], EnvelopeStatus]  # (slug, year) → the row, locked
    member_ids: dict[str, int]  # account key → existing member id

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    def creating(self) -> list[Line]:
        return [line for line in self.lines if line.status == CREATE]


# --- members ---------------------------------------------------------------------------------------------------

_USERNAME_HEADERS = {"username", "identifiant", "pseudo", "compte", "utilisateur", "login", "nom d utilisateur"}


def read_member_map(path: Any) -> dict[str, str]:
    """`--members FILE`: `nom,username` lines (header optional) → {folded name: username}."""
    import csv
    import io

    text = read_text(path)
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max(DELIMITERS, key=first.count)
    out: dict[str, str] = {}
    where: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if number == 1 and len(cells) >= 2 and header_key(cells[1]) in _USERNAME_HEADERS:
                continue
            if len(cells) < 2 or not cells[0] or not cells[1]:
                raise ImportProblem("members_line_malformed", path=str(path), line=reader.line_num)
            username = cells[1].removeprefix("@")
            if not is_username(username) or len(username) > MAX_IMPORTED_USERNAME:
                raise ImportProblem(
                    "members_username_invalid",
                    path=str(path),
                    line=reader.line_num,
                    given=cells[1][:80],
                    limit=MAX_IMPORTED_USERNAME,
                )
            name = _name_key(cells[0])
            if name in out and account_key(out[name]) != account_key(username):
                raise ImportProblem(
                    "members_name_twice", path=str(path), line=reader.line_num, name=cells[0], first=where[name]
                )
            out[name] = username
            where.setdefault(name, reader.line_num)
    except csv.Error as error:
        raise ImportProblem("file_unreadable", path=str(path), line=reader.line_num, error=str(error)) from error
    return out


def _name_key(name: str) -> str:
    """How a name in the sheet is compared with the mapping file's: case, accents and spacing ignored."""
    return " ".join(fold(name).split())


class Members:
    """Who a name in the sheet is: through the mapping file, else an account the bot already knows by that
    username (`camille`, `@camille`). An account named only by the mapping file and unknown so far is created."""

    def __init__(self, mapping: Mapping[str, str], rows: Sequence[tuple[int, str, str]]) -> None:
        self.mapping = dict(mapping)
        self.mapped_keys = {account_key(u): u for u in mapping.values()}
        self.ids: dict[str, int] = {}
        self.usernames: dict[str, str] = {}
        # A real account wins over one the import created (`import:…`), and the oldest over the newer.
        for member_id, _user_id, username in sorted(rows, key=lambda r: (r[1].startswith(SYNTHETIC_USER), r[0])):
            key = account_key(username)
            if key not in self.ids:
                self.ids[key] = member_id
                self.usernames[key] = username
        self.new: dict[str, str] = {}

    def resolve(self, name: str) -> str:
        """The account key of the sheet's name, or ImportProblem."""
        mapped = self.mapping.get(_name_key(name))
        if mapped is not None:
            key = account_key(mapped)
            if key not in self.ids:
                self.new.setdefault(key, mapped)
            return key
        key = account_key(name.removeprefix("@"))
        if key in self.ids:
            return key
        if key in self.mapped_keys:  # the sheet names the account the mapping file gives someone
            self.new.setdefault(key, self.mapped_keys[key])
            return key
        raise ImportProblem("member_unknown", name=name, example=f"{name},{_suggested_username(name)}")

    def username(self, key: str) -> str:
        return self.usernames.get(key) or self.new[key]


def _suggested_username(name: str) -> str:
    return ".".join(slug(name).split("-")) or "prenom.nom"


# --- planning --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    year: int | None = None


async def plan(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    table: Table,
    mapping: Mapping[str, str],
    options: Options,
) -> Plan:
    """Every row checked; nothing written but the configured envelopes of a year that had none yet (as the bot
    itself would create them), and the envelopes of the years concerned locked until the transaction ends."""
    budget = BudgetService(session, settings, clock)
    lines = [_read_row(row, options) for row in table.rows]

    years = sorted({y for line in lines if (y := line.year) is not None and y in BUDGET_YEARS})
    for year in years:
        await budget.ensure_configured_envelopes(year)
    directory = EnvelopeDirectory(await budget.known_names())
    locked = (
        await session.scalars(
            select(Envelope).where(Envelope.year.in_(years)).order_by(Envelope.id).with_for_update(**ROW_LOCK)
        )
    ).all()
    envelopes = {(e.slug, e.year): EnvelopeStatus.of(e) for e in locked}
    closed = set((await session.scalars(select(BudgetYear.year).where(BudgetYear.closed_at.is_not(None)))).all())
    member_rows = (await session.execute(select(Member.id, Member.user_id, Member.username))).all()
    members = Members(mapping, [tuple(r) for r in member_rows])  # type: ignore[misc]

    for line, row in zip(lines, table.rows, strict=True):
        _identify(line, row, members, directory)
    keys = [line.key for line in lines if line.key]
    existing = await _existing_keys(session, keys)
    seen: dict[str, int] = {}
    today = clock.now().date()
    for line in lines:
        if line.key is not None:
            if line.key in seen:
                line.problems.append(ImportProblem("duplicate_in_file", first=seen[line.key]))
            else:
                seen[line.key] = line.line
                if line.key in existing and not line.problems:
                    line.status = EXISTS
                    continue
        _check(line, settings, envelopes, closed, today, options)
        line.status = ERROR if line.problems else CREATE
    used = {k for line in lines if line.status == CREATE and (k := _member_key(line))}
    new_members = {k: u for k, u in members.new.items() if k in used}
    return Plan(lines, new_members, envelopes, members.ids)


def _member_key(line: Line) -> str | None:
    return account_key(line.username) if line.username else None


def _read_row(row: Row, options: Options) -> Line:
    """The cells read on their own (no database)."""
    line = Line(row.line)
    cells = row.cells
    if row.overflow:
        line.problems.append(ImportProblem("row_too_wide", count=row.overflow))

    def attempt(reader: Any, *args: Any) -> Any:
        try:
            return reader(*args)
        except ImportProblem as problem:
            line.problems.append(problem)
            return None

    if cells.get("date"):
        line.work_date = attempt(read_date, cells["date"], options.year)
    else:
        line.problems.append(ImportProblem("date_missing"))
    duration = attempt(read_duration, cells["duration"]) if cells.get("duration") else None
    minutes = attempt(read_minutes, cells["minutes"]) if cells.get("minutes") else None
    if duration is not None and minutes is not None and duration != minutes:
        line.problems.append(ImportProblem("duration_conflict", duration=cells["duration"], minutes=cells["minutes"]))
    line.minutes = duration if duration is not None else minutes
    line.rate_cents = attempt(read_rate, cells["rate"]) if cells.get("rate") else None
    line.amount_cents = attempt(read_amount, cells["amount"]) if cells.get("amount") else None
    if not any(cells.get(f) for f in ("duration", "minutes", "amount")):
        line.problems.append(ImportProblem("quantity_missing"))
    description = " ".join(without_control_characters(cells.get("description", "")).split())
    if len(description) > MAX_DESCRIPTION:
        line.problems.append(ImportProblem("description_too_long", length=len(description), limit=MAX_DESCRIPTION))
    line.description = description
    line.member_name = cells.get("member", "")
    return line


def _identify(line: Line, row: Row, members: Members, directory: EnvelopeDirectory) -> None:
    """Who and which envelope; then the row's key, once everything it is made of was read."""
    name = line.member_name
    if not name:
        line.problems.append(ImportProblem("member_missing"))
    else:
        try:
            line.username = members.username(members.resolve(name))
        except ImportProblem as problem:
            line.problems.append(problem)
    written = row.cells.get("envelope", "")
    if not written:
        line.problems.append(ImportProblem("envelope_missing"))
    else:
        line.envelope_slug = directory.lookup(written)
        if line.envelope_slug is None:
            close = directory.suggestions(written) or sorted(set(directory.names.values()))
            line.problems.append(ImportProblem("envelope_unknown", given=written, known=", ".join(close)))
    if line.problems or line.username is None or line.envelope_slug is None or line.work_date is None:
        return
    parts = (
        account_key(line.username),
        line.envelope_slug,
        line.work_date.isoformat(),
        str(line.minutes),
        str(line.rate_cents),
        str(line.amount_cents),
        line.description,
    )
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    line.key = KEY_PREFIX + digest[:40]


def _check(
    line: Line,
    settings: Settings,
    envelopes: Mapping[tuple[str, int], EnvelopeStatus],
    closed: set[int],
    today: date,
    options: Options,
) -> None:
    """What `/contrib` would refuse, and what the import adds: a closed year, a date outside `--year`."""
    if line.work_date is not None:
        year = line.work_date.year
        if year not in BUDGET_YEARS:
            line.problems.append(
                ImportProblem("year_out_of_range", year=year, first=BUDGET_YEARS[0], last=BUDGET_YEARS[-1])
            )
            return
        if options.year is not None and year != options.year:
            line.problems.append(ImportProblem("date_outside_year", date=line.work_date, year=options.year))
        if line.work_date > today:
            line.problems.append(ImportProblem("date_in_future", date=line.work_date))
        if year in closed:
            line.problems.append(ImportProblem("year_closed", year=year))
    if line.envelope_slug is None or line.work_date is None:
        return
    envelope = envelopes.get((line.envelope_slug, line.work_date.year))
    if envelope is None:
        line.problems.append(ImportProblem("envelope_missing_for_year", slug=line.envelope_slug, year=line.year))
        return
    line.envelope_name = envelope.name
    _price(line, settings, envelope)


def _price(line: Line, settings: Settings, envelope: EnvelopeStatus) -> None:
    """The amount, as `/contrib` computes it: duration × rate (at most the envelope's), or a flat amount."""
    if line.minutes is not None:
        if envelope.mode == "flat":
            line.problems.append(ImportProblem("envelope_flat_only", slug=envelope.slug, name=envelope.name))
            return
        limit = settings.budget.max_minutes_per_declaration
        if line.minutes > limit:
            line.problems.append(ImportProblem("duration_too_long", minutes=line.minutes, limit_minutes=limit))
        cap = min(envelope.rate_cents, settings.budget.hourly_cap_cents)
        rate = line.rate_cents if line.rate_cents is not None else cap
        if rate > cap:
            line.problems.append(ImportProblem("rate_above_cap", rate=rate, cap=cap, slug=envelope.slug))
            return
        expected = amount_for_minutes(line.minutes, rate)
        if expected <= 0:
            line.problems.append(ImportProblem("amount_zero"))
        elif line.amount_cents is not None and line.amount_cents != expected:
            line.problems.append(
                ImportProblem(
                    "amount_mismatch" if line.rate_cents is not None else "amount_mismatch_envelope_rate",
                    amount=line.amount_cents,
                    expected=expected,
                    minutes=line.minutes,
                    rate=rate,
                    slug=envelope.slug,
                )
            )
        line.rate_cents, line.amount_cents = rate, expected
        return
    if line.amount_cents is None:
        return  # no quantity: already said
    if line.rate_cents is not None:
        line.problems.append(ImportProblem("rate_without_duration"))
    if envelope.mode == "hours":
        line.problems.append(ImportProblem("envelope_hours_only", slug=envelope.slug, name=envelope.name))
    low, high = envelope.flat_min_cents, envelope.flat_max_cents
    if (low is not None and line.amount_cents < low) or (high is not None and line.amount_cents > high):
        line.problems.append(
            ImportProblem("flat_out_of_bounds", amount=line.amount_cents, low=low, high=high, slug=envelope.slug)
        )


async def _existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    connection = await session.connection()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        query = select(Contribution.source_message_id).where(Contribution.source_message_id.in_(chunk))
        found.update((await connection.execute(query)).scalars())
    return found


# --- writing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    created: int
    members: int


async def write(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    the_plan: Plan,
    reason: Any,
    progress: Any = None,
) -> Written:
    """Insert the rows to create (members first), audit each one, and move the envelopes' running totals by what
    was added; then check the totals against a recomputation. `reason(line)` is the journal's text."""
    connection = await session.connection()
    now = clock.now()
    member_ids = dict(the_plan.member_ids)
    for key, username in sorted(the_plan.new_members.items()):
        statement = insert(Member).returning(Member.id)
        member = {"user_id": SYNTHETIC_USER + key, "username": username, "display_name": None, "created_at": now}
        member_ids[key] = (await connection.execute(statement, member)).scalar_one()
    rows = the_plan.creating()
    added: dict[int, int] = {}
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        values: list[dict[str, Any]] = []
        for line in batch:
            assert line.work_date is not None and line.envelope_slug is not None and line.amount_cents is not None
            envelope = the_plan.envelopes[(line.envelope_slug, line.work_date.year)]
            added[envelope.id] = added.get(envelope.id, 0) + line.amount_cents
            values.append(
                {
                    "member_id": member_ids[_member_key(line) or ""],
                    "envelope_id": envelope.id,
                    "kind": ContributionKind.DECLARATION,
                    "status": ContributionStatus.DECLARED,
                    "minutes": line.minutes,
                    "rate_cents": line.rate_cents if line.minutes is not None else None,
                    "amount_cents": line.amount_cents,
                    "work_date": line.work_date,
                    "description": line.description,
                    "intention_id": None,
                    "realized_cents": 0,
                    "flagged": False,
                    "source_message_id": line.key,
                    "created_at": now,
                }
            )
        statement = insert(Contribution).returning(Contribution.id, sort_by_parameter_order=True)
        ids = (await connection.execute(statement, values)).scalars().all()
        audits = [
            {
                "at": now,
                "actor_id": None,
                "action": "import",
                "year": value["work_date"].year,
                "envelope_id": value["envelope_id"],
                "contribution_id": contribution_id,
                "old_cents": None,
                "new_cents": value["amount_cents"],
                "reason": reason(line),
                "detail": "",
            }
            for value, contribution_id, line in zip(values, ids, batch, strict=True)
        ]
        await connection.execute(insert(AuditEvent), audits)
        if progress is not None:
            progress(start + len(batch))
    for envelope_id, cents in sorted(added.items()):
        await connection.execute(
            update(Envelope).where(Envelope.id == envelope_id).values(spent_cents=Envelope.spent_cents + cents)
        )
    await _check_totals(BudgetService(session, settings, clock), sorted(added))
    return Written(len(rows), len(the_plan.new_members))


async def _check_totals(budget: BudgetService, envelope_ids: Sequence[int]) -> None:
    """The running totals equal what the contributions add up to, or nothing is committed."""
    for envelope_id in envelope_ids:
        stored = (
            await budget.session.execute(
                select(Envelope.spent_cents, Envelope.committed_cents).where(Envelope.id == envelope_id)
            )
        ).one()
        if tuple(stored) != await budget.recomputed_totals(envelope_id):
            raise ImportProblem("totals_mismatch", envelope_id=envelope_id)
