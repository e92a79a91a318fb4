"""Typed access to raw TOML values; every failure names the key and, where it helps, an example."""

from __future__ import annotations

import difflib
import re
import unicodedata
from decimal import Decimal
from typing import Any

from chatbot.money import euros_to_cents, parse_euros

# The largest amount the configuration takes (10 million euros): far above any envelope, far below what the
# database's 64-bit cents or the formatting could trouble over. A bigger number is a typo, not a budget.
MAX_EUROS = Decimal(10_000_000)


class ConfigError(Exception):
    """A configuration mistake, described for the admin who wrote the file.

    `where` is the dotted key it is about (`budget.hourly_cap`, `circles[2].slug`): `load_settings` turns it into
    the line of the file, which `str()` then names first."""

    def __init__(self, message: str, where: str | None = None) -> None:
        message = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in _HIDDEN else c for c in message)
        super().__init__(message)
        self.message = message
        self.where = where if where is not None else _leading_key(message)
        self.file: str | None = None
        self.line: int | None = None

    def located(self, file: str, line: int | None) -> ConfigError:
        """The same error, naming the file and (when found) the line."""
        self.file, self.line = file, line
        return self

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        if self.line is None:
            return f"{self.file} : {self.message}"
        return f"{self.file}, ligne {self.line} : {self.message}"


# Characters of an echoed key or value that would break the one-line message or reorder it: shown as \uXXXX.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _leading_key(message: str) -> str | None:
    """The dotted key a message starts with (`consent.quorum doit…`, `[budget] doit…`), if any."""
    found = re.match(r"\[*([A-Za-z_][\w-]*(?:\[\d+\])?(?:\.[\w-]+(?:\[\d+\])?)*)", message)
    return found.group(1) if found else None


_KEY_PART = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_KEY_LINE = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]")


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(_KEY_PART, dotted)]


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each table and key of a TOML text starts (1-based line), the n-th `[[circles]]` being `circles[n]`.

    A line scan, not a parser: the file has already been parsed, this only finds lines to name in messages."""
    lines: dict[tuple[str, ...], int] = {}
    table: list[str] = []
    counts: dict[tuple[str, ...], int] = {}
    closing: str | None = None  # the delimiter of the multi-line string being read, if any
    for number, line in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if line.count(closing) % 2:
                closing = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _parts(header.group(2))
            if header.group(1) == "[[":
                counts[tuple(names)] = counts.get(tuple(names), 0) + 1
                names[-1] = f"{names[-1]}[{counts[tuple(names)]}]"
            lines.setdefault((*names[:-1], header.group(2).strip().rsplit(".", 1)[-1].strip("\"' ")), number)
            table = names
            lines.setdefault(tuple(table), number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            path = [*table, *_parts(key.group(1))]
            for end in range(len(table) + 1, len(path) + 1):
                lines.setdefault(tuple(path[:end]), number)
            value = line[key.end() :]
            for delimiter in ('"""', "'''"):
                if value.count(delimiter) % 2:
                    closing = delimiter
    return lines


def line_of(text: str, where: str | None) -> int | None:
    """The line of `where` (`circles[2].slug`), or of its nearest enclosing table or key found in the text."""
    if not where:
        return None
    path = where.split(".")
    lines = key_lines(text)
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in lines:
            return lines[tuple(path[:end])]
    return None


# What the configuration may hold: a key maps to None (a value), a table (dict), a list of one table (an array of
# tables, `[[circles]]`), and "*" stands for any name (`[consent.circles.<slug>]`).
Schema = dict[str, Any]
_UNKNOWN = object()


def check_known_keys(raw: dict[str, Any], schema: Schema) -> None:
    """Refuse any key or table the schema does not know, suggesting the closest known one."""
    _check_table(raw, schema, "", schema)


def _check_table(raw: dict[str, Any], schema: Schema, where: str, root: Schema) -> None:
    for key, value in raw.items():
        spec = schema[key] if key in schema else schema.get("*", _UNKNOWN)
        path = f"{where}.{key}" if where else key
        if spec is _UNKNOWN:
            raise ConfigError(_unknown(key, isinstance(value, dict | list), where, schema, root), path)
        if isinstance(spec, dict) and isinstance(value, dict):
            _check_table(value, spec, path, root)
        elif isinstance(spec, list) and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    _check_table(item, spec[0], f"{path}[{index + 1}]", root)


def _unknown(key: str, is_table: bool, where: str, schema: Schema, root: Schema) -> str:
    """What is unknown, where, and the closest known key: in this table, else anywhere in the file."""
    what = f"section inconnue « [{key}] »" if is_table and not where else f"clé inconnue « {key} »"
    item = re.fullmatch(r"(.+)\[(\d+)\]", where)
    place = f" dans le [[{item[1]}]] n° {item[2]}" if item else f" dans [{where}]" if where else ""
    known = sorted(k for k in schema if k != "*")
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        hint = f"[{close[0]}]" if not where and isinstance(schema[close[0]], dict | list) else close[0]
        return f"{what}{place} ; vouliez-vous dire `{hint}` ?"
    leaves = _leaves(root, "")
    elsewhere = difflib.get_close_matches(key, list(leaves), n=1, cutoff=0.75)
    if elsewhere:
        return f"{what}{place} ; vouliez-vous dire `{elsewhere[0]}` dans [{leaves[elsewhere[0]]}] ?"
    return f"{what}{place} ; clés possibles : {', '.join(known) or 'aucune'}."


def _leaves(schema: Schema, where: str) -> dict[str, str]:
    """Every value key of the schema and the table it belongs in (the first, for a name used twice)."""
    found: dict[str, str] = {}
    for key, spec in schema.items():
        if key == "*":
            continue
        if spec is None:
            found.setdefault(key, where or "racine")
        else:
            inner = spec[0] if isinstance(spec, list) else spec
            found = {**_leaves(inner, f"{where}.{key}" if where else key), **found}
    return found


class TomlReader:
    """Typed access to raw TOML values, each failure naming the key and an example."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def table(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] doit être une table TOML.")
        return value

    def table_list(self, key: str) -> list[dict[str, Any]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{key} doit être une liste de tables [[{key}]].")
        return value

    @staticmethod
    def _leaf(table: dict[str, Any], where: str) -> Any:
        return table.get(where.rsplit(".", 1)[-1])

    def string(self, table: dict[str, Any], where: str, default: str | None = None) -> str:
        value = self._leaf(table, where)
        if value is None:
            if default is None:
                raise ConfigError(f"{where} manque.")
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} doit être un texte non vide.")
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise ConfigError(f"{where} ne doit contenir ni retour à la ligne ni caractère de contrôle.")
        return value.strip()

    def optional_string(self, table: dict[str, Any], where: str) -> str | None:
        value = self._leaf(table, where)
        return None if value is None else self.string(table, where)

    def string_list(self, table: dict[str, Any], where: str) -> list[str]:
        value = self._leaf(table, where)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f'{where} doit être une liste de textes (ex. ["a", "b"]).')
        if any(unicodedata.category(c) == "Cc" for v in value for c in v):
            raise ConfigError(
                f"{where} : chaque texte de la liste doit tenir sur une ligne, sans caractère de contrôle "
                '(ex. ["camille", "dominique"]).'
            )
        return [v.strip() for v in value]

    def optional_int(self, table: dict[str, Any], where: str) -> int | None:
        value = self._leaf(table, where)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where} doit être un nombre entier.")
        return value

    def optional_money(self, table: dict[str, Any], where: str) -> Decimal | None:
        value = self._leaf(table, where)
        if value is None:
            return None
        return self.money(table, where)

    def money(self, table: dict[str, Any], where: str, default: Decimal | None = None) -> Decimal:
        value = self._leaf(table, where)
        if value is None:
            if default is None:
                raise ConfigError(f"{where} manque (un montant en euros, ex. 1500).")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f'{where} doit être un montant en euros (ex. 1500 ou "250,50").')
        try:
            amount = parse_euros(str(value))
            if amount.copy_abs() > MAX_EUROS:  # before counting cents (1e999999999), and exact (no context)
                raise ConfigError(f"{where} : {value} dépasse le plus grand montant accepté (10 000 000 €).")
            euros_to_cents(amount)
        except ValueError as exc:
            raise ConfigError(f"{where} : « {value} » n'est pas un montant au centime près (ex. 250,50).") from exc
        return amount
