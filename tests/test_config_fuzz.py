"""Fuzzed configuration files: random keys, types and values. Whatever an admin writes, the bot either starts with
valid settings or stops with a ConfigError in French naming the file: never an internal error or a traceback."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.config import SCHEMA, ConfigError, Settings, example_config_path, load_settings, parse_settings
from chatbot.messages import load_catalogue

EXAMPLE_TEXT = example_config_path().read_text(encoding="utf-8")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
RUNS = {"raw": 0, "text": 0, "unknown": 0}
# Every ConfigError says one of these: a message without any is an English or internal one that slipped through.
FRENCH = (
    "doit",
    "inconnu",
    "manque",
    "n'est pas",
    "dépasse",
    "apparaît deux fois",
    "désigne deux",
    "aucun canal",
    "déjà celui",
    "pas de catalogue",
    "encodé en UTF-8",
    "indiquez",
    "ne peut pas",
    "plus grand que",
    "introuvable",
    "illisible",
    "ne doit contenir",
)

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12) | st.sampled_from(
    ["year", "slug", "amount", "circles", "admins", "budget", "x", "overrun_polcy", "timzone", "*"]
)
scalars = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "fr", "xx", "../fr", "Europe/Paris", "Mars/Olympus", "warn", "refuse", "12,345", "1e999"]
    ),
    st.sampled_from(["camille", "Camille", "camille_", "@camille", "ｃａｍｉｌｌｅ", "cercle-tech", "#cercle-tech"]),
    st.dates(),
    st.datetimes(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_TEXT)


def known_paths(schema: dict[str, Any], raw: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place of the example where a known key may be set: (table path…, key)."""
    found = []
    for key, spec in schema.items():
        if key == "*":
            continue
        found.append((*prefix, key))
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(spec, dict):
            found += known_paths(spec, value if isinstance(value, dict) else {}, (*prefix, key))
        elif isinstance(spec, list) and isinstance(value, list):
            for index, item in enumerate(value):
                found += known_paths(spec[0], item, (*prefix, key, index))
    return found


PATHS = known_paths(SCHEMA, example())


def put(raw: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set `value` at `path`, creating tables on the way when they are missing or not tables."""
    node: Any = raw
    for step in path[:-1]:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return
            node = node[step]
            continue
        if not isinstance(node.get(step), dict | list):
            node[step] = {}
        node = node[step]
    if isinstance(node, dict):
        node[path[-1]] = value


def assert_valid_or_french(outcome: Settings | ConfigError, file: Path | None = None) -> None:
    if isinstance(outcome, ConfigError):
        text = str(outcome)
        assert text.strip() and "Traceback" not in text and "\n" not in text.rstrip(), text
        assert any(word in outcome.message for word in FRENCH), text
        if file is not None:
            assert text.startswith(str(file)), text
        return
    load_catalogue(outcome.language)  # the language is one the bot speaks
    assert outcome.timezone.utcoffset(dt.datetime(2026, 6, 1)) is not None
    assert all(c.public_channel or c.private_channel for c in outcome.circles)


def parsed(raw: dict[str, Any]) -> Settings | ConfigError:
    try:
        return parse_settings(raw)
    except ConfigError as error:
        return error


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4))
def test_random_values_at_known_keys(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    RUNS["raw"] += 1
    raw = example()
    for path, value in changes:
        put(raw, path, value)
    assert_valid_or_french(parsed(raw))


@FUZZ
@given(where=st.sampled_from([p[:-1] for p in PATHS]), key=names, value=values)
def test_random_keys_are_refused(where: tuple[Any, ...], key: str, value: Any) -> None:
    RUNS["unknown"] += 1
    raw = example()
    known = {p[-1] for p in PATHS if p[:-1] == where or (len(p) > 1 and p[:-2] == where[:-1] and where)}
    if key in known or key == "*":
        return
    put(raw, (*where, key), value)
    outcome = parsed(raw)
    if where[-2:] == ("consent", "circles"):  # a circle name there: refused unless it is a declared circle
        assert isinstance(outcome, ConfigError)
        return
    assert isinstance(outcome, ConfigError) and "inconnue" in str(outcome), (where, key, outcome)


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


line_edits = st.one_of(
    st.tuples(st.just("value"), st.integers(0, 200), scalars.map(toml_literal)),
    st.tuples(st.just("insert"), st.integers(0, 200), st.tuples(names, scalars).map(lambda kv: f"{kv[0]} = {kv[1]}")),
    st.tuples(st.just("insert"), st.integers(0, 200), names.map(lambda n: f"[{n}]")),
    st.tuples(st.just("delete"), st.integers(0, 200), st.just("")),
    st.tuples(st.just("raw"), st.integers(0, 200), st.text(max_size=20)),
)


@FUZZ
@given(edits=st.lists(line_edits, min_size=1, max_size=3), garbage=st.none() | st.binary(min_size=1, max_size=4))
def test_random_files(tmp_path: Path, edits: list[tuple[str, int, str]], garbage: bytes | None) -> None:
    RUNS["text"] += 1
    lines = EXAMPLE_TEXT.splitlines()
    for action, index, text in edits:
        index %= len(lines)
        if action == "value" and "=" in lines[index]:
            lines[index] = f"{lines[index].split('=', 1)[0]}= {text}"
        elif action in ("insert", "raw"):
            lines.insert(index, text)
        elif action == "delete":
            del lines[index]
    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    if garbage is not None:
        data = data[: len(data) // 2] + garbage + data[len(data) // 2 :]
    path = tmp_path / "fuzzed.toml"
    path.write_bytes(data)
    try:
        outcome: Settings | ConfigError = load_settings(path)
    except ConfigError as error:
        outcome = error
    assert_valid_or_french(outcome, path)


def test_the_fuzz_ran() -> None:
    assert min(RUNS.values()) >= 100, RUNS
