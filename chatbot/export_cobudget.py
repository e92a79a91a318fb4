"""The CSV of a co-budget round for the accounts: one line per project (what it received, whether it is funded,
its envelope), or with `events` the whole journal of gifts, withdrawals and returns. French spreadsheet
conventions: `;`-separated, decimal commas, UTF-8 with a BOM, member text guarded against formulas."""

from __future__ import annotations

import csv
import io
from datetime import tzinfo

from chatbot.db.models import CobudgetEvent, CobudgetProject, CobudgetRound, Envelope
from chatbot.formatting import Formatter
from chatbot.messages import Catalogue
from chatbot.money import CENTS_PER_EURO
from chatbot.text import spreadsheet_cell


def euros(cents: int | None) -> str:
    """Exact euros with a decimal comma: `1234,50`, `-20,00`; empty for no amount."""
    if cents is None:
        return ""
    whole, rest = divmod(abs(cents), CENTS_PER_EURO)
    return f"{'-' if cents < 0 else ''}{whole},{rest:02d}"


def projects_csv(
    round_: CobudgetRound,
    projects: list[tuple[CobudgetProject, str, int, Envelope | None]],
    t: Catalogue,
) -> bytes:
    """`projects`: each project, its author's username, what it received during the vote, and its envelope."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(t.strings("cobudget.export.project_columns"))
    for project, author, received, envelope in projects:
        writer.writerow(
            [
                round_.id,
                spreadsheet_cell(round_.name),
                project.id,
                spreadsheet_cell(project.title),
                spreadsheet_cell(author),
                euros(project.target_cents),
                euros(project.min_cents),
                euros(received),
                t(f"cobudget.status_{project.status}"),
                euros(project.funded_cents),
                envelope.slug if envelope else "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def events_csv(
    round_: CobudgetRound,
    events: list[tuple[CobudgetEvent, str]],
    titles: dict[int, str],
    t: Catalogue,
    fmt: Formatter,
    timezone: tzinfo,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(t.strings("cobudget.export.columns"))
    for event, username in events:
        writer.writerow(
            [
                event.id,
                fmt.datetime_short(event.at.astimezone(timezone)),
                spreadsheet_cell(username),
                event.project_id,
                spreadsheet_cell(titles.get(event.project_id, "")),
                t(f"cobudget.export.{event.kind}"),
                euros(event.delta_cents),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
