"""Envelopes from the spreadsheet: one row per envelope and year (slug, name, amount, year, rate, circle, mode,
flat bounds), created or brought to what the file says, every change audited as `/budget` audits it. A row that
changes nothing writes nothing, so importing the file again is harmless."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.locks import ROW_LOCK
from chatbot.db.models import AuditEvent, BudgetYear, Circle, Envelope
from chatbot.directories import circle_directory
from chatbot.importer import ImportProblem
from chatbot.importer.cells import read_amount, read_rate
from chatbot.importer.table import Field, Row, Table
from chatbot.services.budget import BudgetService
from chatbot.services.limits import MAX_ENVELOPE_NAME
from chatbot.text import fold, slug
from chatbot.values import BUDGET_YEARS

FIELDS = (
    Field("slug", ("Identifiant", "Slug", "Enveloppe", "Code"), ("identifiant", "enveloppe")),
    Field("name", ("Nom", "Libellé", "Intitulé"), ("nom",)),
    Field("amount", ("Montant", "Montant (€)", "Budget", "Dotation"), ("montant",)),
    Field("year", ("Année", "Exercice", "An"), ("annee",)),
    Field("rate", ("Taux", "Taux horaire", "Taux (€/h)", "Taux plafond"), ("taux",)),
    Field("circle", ("Cercle",), ("cercle",)),
    Field("mode", ("Mode", "Type")),
    Field("flat_min", ("Forfait min", "Forfait minimum", "Minimum"), ("forfait_min",)),
    Field("flat_max", ("Forfait max", "Forfait maximum", "Maximum"), ("forfait_max",)),
)
REQUIRED = (("slug",), ("amount",))
MODES = {
    "hours": "hours",
    "heures": "hours",
    "heure": "hours",
    "flat": "flat",
    "forfait": "flat",
    "forfaits": "flat",
    "both": "both",
    "les deux": "both",
    "mixte": "both",
    "heures et forfaits": "both",
}
CREATE, UPDATE, SAME, ERROR = "create", "update", "same", "error"


@dataclass
class EnvelopeLine:
    line: int
    status: str = ERROR
    slug: str | None = None
    year: int | None = None
    values: dict[str, Any] = field(default_factory=dict)  # the envelope's columns the file sets
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # column → (before, after)
    problems: list[ImportProblem] = field(default_factory=list)


async def plan(
    session: AsyncSession, settings: Settings, clock: Clock, table: Table, default_year: int | None
) -> list[EnvelopeLine]:
    budget = BudgetService(session, settings, clock)
    await budget.sync_circles()
    circle_ids = dict((await session.execute(select(Circle.slug, Circle.id))).all())
    circle_names = circle_directory(settings)
    names = await budget.known_names()
    closed = set((await session.scalars(select(BudgetYear.year).where(BudgetYear.closed_at.is_not(None)))).all())
    lines = [_read_row(row, settings, names, circle_names, circle_ids, default_year) for row in table.rows]
    years = sorted({line.year for line in lines if line.year is not None})
    for year in years:
        await budget.ensure_configured_envelopes(year)
    rows = (
        await session.scalars(
            select(Envelope).where(Envelope.year.in_(years)).order_by(Envelope.id).with_for_update(**ROW_LOCK)
        )
    ).all()
    existing = {(e.slug, e.year): e for e in rows}
    seen: dict[tuple[str, int], int] = {}
    for line in lines:
        if line.slug is None or line.year is None:
            continue
        where = (line.slug, line.year)
        if where in seen:
            line.problems.append(ImportProblem("envelope_twice", first=seen[where]))
        seen.setdefault(where, line.line)
        if line.year in closed:
            line.problems.append(ImportProblem("year_closed", year=line.year))
        envelope = existing.get(where)
        values = line.values
        if envelope is None:
            values.setdefault("name", _default_name(settings, line.slug))
            values.setdefault("rate_cents", settings.budget.hourly_cap_cents)
            values.setdefault("mode", "both")
            if line.slug in circle_ids:  # a circle's envelope belongs to it unless the file says otherwise
                values.setdefault("circle_id", circle_ids[line.slug])
        else:
            for column, value in values.items():
                if getattr(envelope, column) != value:
                    line.changes[column] = (getattr(envelope, column), value)
        low = values.get("flat_min_cents", envelope.flat_min_cents if envelope else None)
        high = values.get("flat_max_cents", envelope.flat_max_cents if envelope else None)
        if low is not None and high is not None and low > high:
            line.problems.append(ImportProblem("flat_bounds_reversed", low=low, high=high))
        if line.problems:
            continue
        line.status = CREATE if envelope is None else UPDATE if line.changes else SAME
    for line in lines:
        if line.problems:
            line.status = ERROR
    return lines


def _default_name(settings: Settings, envelope_slug: str) -> str:
    configured = next((e for e in settings.envelopes if e.slug == envelope_slug), None)
    if configured is not None:
        return configured.name
    circle = settings.circle(envelope_slug)
    return circle.name if circle is not None else envelope_slug


def _read_row(
    row: Row,
    settings: Settings,
    names: Mapping[str, str],
    circle_names: Any,
    circle_ids: Mapping[str, int],
    default_year: int | None,
) -> EnvelopeLine:
    line = EnvelopeLine(row.line)
    cells = row.cells
    problems = line.problems

    def attempt(reader: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return reader(*args, **kwargs)
        except ImportProblem as problem:
            problems.append(problem)
            return None

    if row.overflow:
        problems.append(ImportProblem("row_too_wide", count=row.overflow))
    written = cells.get("slug", "")
    wanted = slug(written)
    if not wanted or len(wanted) > 64:
        problems.append(ImportProblem("envelope_slug_invalid", given=written))
    else:
        line.slug = names.get(wanted, wanted)
    year_text = cells.get("year", "")
    if year_text:
        if year_text.isdigit() and int(year_text) in BUDGET_YEARS:
            line.year = int(year_text)
        else:
            problems.append(
                ImportProblem("year_invalid", given=year_text, first=BUDGET_YEARS[0], last=BUDGET_YEARS[-1])
            )
    elif default_year is not None:
        line.year = default_year
    else:
        problems.append(ImportProblem("year_missing"))
    amount = cells.get("amount", "")
    if not amount:
        problems.append(ImportProblem("envelope_amount_missing"))
    elif amount.strip("0 €,.") == "":
        line.values["amount_cents"] = 0
    elif (cents := attempt(read_amount, amount)) is not None:
        line.values["amount_cents"] = cents
    if name := " ".join(cells.get("name", "").split()):
        if len(name) > MAX_ENVELOPE_NAME:
            problems.append(ImportProblem("envelope_name_too_long", length=len(name), limit=MAX_ENVELOPE_NAME))
        line.values["name"] = name
    if rate_text := cells.get("rate"):
        rate = attempt(read_rate, rate_text)
        cap = settings.budget.hourly_cap_cents
        if rate is not None and rate > cap:
            problems.append(ImportProblem("envelope_rate_above_cap", rate=rate, cap=cap))
        elif rate is not None:
            line.values["rate_cents"] = rate
    if circle_text := cells.get("circle"):
        circle_slug = circle_names.lookup(circle_text)
        if circle_slug is None or circle_slug not in circle_ids:
            known = ", ".join(c.slug for c in settings.circles)
            problems.append(ImportProblem("circle_unknown", given=circle_text, known=known))
        else:
            line.values["circle_id"] = circle_ids[circle_slug]
    if mode_text := cells.get("mode"):
        mode = MODES.get(" ".join(fold(mode_text).split()))
        if mode is None:
            problems.append(ImportProblem("mode_invalid", given=mode_text))
        else:
            line.values["mode"] = mode
    for column, key in (("flat_min", "flat_min_cents"), ("flat_max", "flat_max_cents")):
        if text := cells.get(column):
            if (cents := attempt(read_amount, text)) is not None:
                line.values[key] = cents
    return line


async def write(session: AsyncSession, settings: Settings, clock: Clock, lines: list[EnvelopeLine], reason: Any) -> int:
    """Create or change the envelopes the plan says; each change in the journal. The number of rows written."""
    now = clock.now()
    written = 0
    for line in lines:
        if line.status not in (CREATE, UPDATE):
            continue
        assert line.slug is not None and line.year is not None
        written += 1
        if line.status == CREATE:
            columns: dict[str, Any] = {"circle_id": None, "flat_min_cents": None, "flat_max_cents": None}
            columns.update(line.values)
            envelope = Envelope(
                year=line.year, slug=line.slug, spent_cents=0, committed_cents=0, created_at=now, **columns
            )
            session.add(envelope)
            await session.flush()
            _audit(session, now, "create", envelope, None, envelope.amount_cents, reason(line), "")
            continue
        envelope = (
            await session.scalars(select(Envelope).where(Envelope.slug == line.slug, Envelope.year == line.year))
        ).one()
        for column, (_before, after) in line.changes.items():
            setattr(envelope, column, after)
        if "amount_cents" in line.changes:
            before, after = line.changes["amount_cents"]
            _audit(session, now, "define", envelope, before, after, reason(line), "")
        if "rate_cents" in line.changes:
            before, after = line.changes["rate_cents"]
            _audit(session, now, "rate", envelope, before, after, reason(line), "")
        others = {c: v for c, v in line.changes.items() if c not in ("amount_cents", "rate_cents")}
        if others:
            detail = " ; ".join(f"{c} : {b} → {a}" for c, (b, a) in others.items())
            _audit(session, now, "import_envelope", envelope, None, None, reason(line), detail)
    await session.flush()
    return written


def _audit(
    session: AsyncSession,
    now: Any,
    action: str,
    envelope: Envelope,
    old: int | None,
    new: int | None,
    reason: str,
    detail: str,
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor_id=None,
            action=action,
            year=envelope.year,
            envelope_id=envelope.id,
            contribution_id=None,
            old_cents=old,
            new_cents=new,
            reason=reason,
            detail=detail,
        )
    )
