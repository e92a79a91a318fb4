"""Reading a spreadsheet's CSV export: UTF-8 with or without BOM, `;`, `,` or tab separated, columns found by
their French names (case, accents and punctuation ignored) or named with `--map`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot.importer import ImportProblem
from chatbot.text import fold

DELIMITERS = (";", ",", "\t")
MAX_FILE_BYTES = 50 * 1024 * 1024  # a cooperative's sheet is a few megabytes; beyond, it is not one
MAX_CELL = 100_000  # csv's own limit is 131,072 characters


@dataclass(frozen=True)
class Field:
    """A value the import reads: its names in the file's header, and the names `--map` takes for it."""

    name: str
    headers: tuple[str, ...]
    map_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    line: int  # the file's line where the row starts (the header is line 1, as in the spreadsheet)
    cells: dict[str, str]  # field name → the cell as written, stripped
    overflow: int  # cells beyond the header's, not empty


@dataclass(frozen=True)
class Table:
    delimiter: str
    columns: dict[str, str]  # field name → the header as written
    ignored: list[str]  # headers of columns no field reads
    rows: list[Row]


def header_key(text: str) -> str:
    """`Durée (min)` → `duree min`, `Taux (€/h)` → `taux eur h`: what headers are compared on."""
    folded = fold(text.replace("€", " eur ")).replace("'", " ").replace("’", " ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


def parse_map(values: Sequence[str], fields: Sequence[Field]) -> dict[str, str]:
    """`--map member=Nom,date=Jour` (repeatable) → {field name: header key}."""
    by_name = {header_key(n): f.name for f in fields for n in (f.name, *f.map_names)}
    out: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            name, sign, column = part.partition("=")
            field = by_name.get(header_key(name))
            if not sign or not column.strip():
                raise ImportProblem("map_malformed", given=part.strip(), fields=", ".join(f.name for f in fields))
            if field is None:
                raise ImportProblem("map_unknown_field", given=name.strip(), fields=", ".join(f.name for f in fields))
            out[field] = header_key(column)
    return out


def read_text(path: Path) -> str:
    """The file's text: refused, with what to do, when it is empty, binary, too large or not UTF-8."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ImportProblem("file_too_large", path=str(path), megabytes=MAX_FILE_BYTES // (1024 * 1024))
    if b"\x00" in data:
        raise ImportProblem("file_binary", path=str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportProblem("file_not_utf8", path=str(path), line=line) from error
    if not text.strip():
        raise ImportProblem("file_empty", path=str(path))
    return text


def read_table(
    path: Path,
    fields: Sequence[Field],
    required: Sequence[tuple[str, ...]],
    overrides: Mapping[str, str] | None = None,
) -> Table:
    """The rows of the file, their cells named by field. `required`: each tuple is a set of fields of which at
    least one must have a column."""
    text = read_text(path)
    overrides = dict(overrides or {})
    delimiter, header = _choose_delimiter(text, fields, overrides)
    columns = _columns(header, fields, overrides)
    found = {f: header[i] for f, i in columns.items()}
    missing = [names for names in required if not any(n in columns for n in names)]
    for field, wanted in overrides.items():
        if field not in columns:
            raise ImportProblem("map_column_missing", field=field, column=wanted, columns=_listed(header))
    if missing:
        raise ImportProblem(
            "columns_missing",
            missing=" ; ".join(" ou ".join(_shown(fields, n) for n in names) for names in missing),
            columns=_listed(header),
            example=_example(fields, required),
        )
    used = set(columns.values())
    ignored = [h for i, h in enumerate(header) if i not in used and h.strip()]
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    width = len(header)
    try:
        next(reader)
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if any(len(cell) > MAX_CELL for cell in cells):
                    raise ImportProblem("cell_too_long", line=line, limit=MAX_CELL)
                named = {f: cells[i].strip() if i < len(cells) else "" for f, i in columns.items()}
                overflow = sum(1 for cell in cells[width:] if cell.strip())
                rows.append(Row(line, named, overflow))
            line = reader.line_num + 1
    except csv.Error as error:
        raise ImportProblem("file_unreadable", path=str(path), line=reader.line_num, error=str(error)) from error
    if not rows:
        raise ImportProblem("file_no_rows", path=str(path))
    return Table(delimiter, found, ignored, rows)


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []


def _choose_delimiter(text: str, fields: Sequence[Field], overrides: Mapping[str, str]) -> tuple[str, list[str]]:
    """The separator whose header names the most known columns (then: the most columns)."""
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        header = _first_record(text, delimiter)
        score = len(_columns(header, fields, overrides, strict=False))
        candidate = (score, len(header), delimiter, header)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    assert best is not None
    return best[2], best[3]


def _columns(
    header: Sequence[str], fields: Sequence[Field], overrides: Mapping[str, str], *, strict: bool = True
) -> dict[str, int]:
    """field name → column index. Two columns for one field is refused (`strict`): the treasurer says which."""
    keys = [header_key(h) for h in header]
    out: dict[str, int] = {}
    for field in fields:
        wanted = [overrides[field.name]] if field.name in overrides else [header_key(h) for h in field.headers]
        matches = [i for i, key in enumerate(keys) if key and key in wanted]
        if len(matches) > 1 and strict:
            raise ImportProblem(
                "column_twice",
                field=field.name,
                first=header[matches[0]],
                second=header[matches[1]],
            )
        if matches:
            out[field.name] = matches[0]
    if strict:
        taken: dict[int, str] = {}
        for field_name, index in out.items():
            if index in taken:
                raise ImportProblem("column_two_fields", column=header[index], first=taken[index], second=field_name)
            taken[index] = field_name
    return out


def _shown(fields: Sequence[Field], name: str) -> str:
    field = next(f for f in fields if f.name == name)
    return f"« {field.headers[0]} »"


def _listed(header: Sequence[str]) -> str:
    shown = [f"« {h.strip()[:40]} »" for h in header[:12] if h.strip()]
    return ", ".join(shown) + (" …" if len(header) > 12 else "") if shown else "aucune"


def _example(fields: Sequence[Field], required: Sequence[tuple[str, ...]]) -> str:
    names = [n for names in required for n in names[:1]]
    return ";".join(next(f for f in fields if f.name == n).headers[0] for n in names)
