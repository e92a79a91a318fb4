"""What a fresh clone needs: Rocket.Chat's OpenAPI files found (or their absence said), the locked versions installed,
and the private internals of SQLAlchemy and aiosqlite that chatbot/db/sqlite_inloop.py relies on still there."""

from __future__ import annotations

import inspect
import re
import sqlite3
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.sqlite import aiosqlite as sqlalchemy_aiosqlite

from chatbot.db.engine import make_engine
from chatbot.db.sqlite_inloop import InLoopConnection
from tests.fakerc import openapi

# -- the suite stands alone: where Rocket.Chat's OpenAPI files are found --------------------------------------------


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty stand-ins for the cache and the copy beside the clone, no override, nothing required."""
    found = {name: tmp_path / name for name in ("override", "cache", "beside")}
    for directory in found.values():
        directory.mkdir()
    monkeypatch.setattr(openapi, "CACHE_DIR", found["cache"])
    monkeypatch.setattr(openapi, "BESIDE_DIR", found["beside"])
    for name in ("ROCKETCHAT_OPENAPI_DIR", *openapi.REQUIRE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return found


def _spec_file(directory: Path) -> None:
    (directory / "messaging.yaml").write_text("openapi: 3.0.0\n", encoding="utf-8")


def test_the_override_comes_first_then_the_cache_then_the_copy_beside(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert openapi.spec_dir() is None
    _spec_file(places["beside"])
    assert openapi.spec_dir() == places["beside"]
    _spec_file(places["cache"])
    assert openapi.spec_dir() == places["cache"]
    (places["cache"] / "COMMIT").write_text("c9aec5ab1008b88aaf66f13f34f4fb74becb4b4a\n", encoding="utf-8")
    assert "make openapi` cache, commit c9aec5ab1008" in openapi.status_line()
    monkeypatch.setenv("ROCKETCHAT_OPENAPI_DIR", str(places["override"]))
    assert openapi.spec_dir() is None  # when set, the override is the only place looked at
    _spec_file(places["override"])
    assert openapi.spec_dir() == places["override"]
    assert "ROCKETCHAT_OPENAPI_DIR=" in openapi.status_line()


def test_without_files_the_fake_runs_unchecked_and_says_how_to_check(places: dict[str, Path]) -> None:
    assert openapi.shared_validator() is None
    line = openapi.status_line()
    assert "NOT validated" in line and "make openapi" in line and "ROCKETCHAT_OPENAPI_DIR" in line
    assert "\n" not in line


@pytest.mark.parametrize("variable", ["REQUIRE_OPENAPI", "REQUIRE_ROCKETCHAT_OPENAPI"])
def test_required_files_that_are_missing_fail(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "1")
    assert openapi.spec_required()
    assert "REQUIRED but not found" in openapi.status_line()
    with pytest.raises(FileNotFoundError, match="REQUIRE_OPENAPI is set"):
        openapi.shared_validator()
    monkeypatch.setenv(variable, "0")
    assert not openapi.spec_required()


# -- the lock: exact versions, and the private internals chatbot/db/sqlite_inloop.py relies on ------------------------

ROOT = Path(__file__).resolve().parents[1]
LOCKS = (ROOT / "requirements.txt", ROOT / "requirements-test.txt")
PINNED = ("sqlalchemy", "aiosqlite")  # chatbot/db/sqlite_inloop.py reaches into their private attributes
RECHECK = (
    "chatbot/db/sqlite_inloop.py stands in for aiosqlite's connection behind SQLAlchemy's aiosqlite dialect, which "
    "uses private attributes (`_conn`, `_tx`, `_connection`, `stop`): before moving the pins in pyproject.toml and "
    "the lock files (make update-deps), re-read sqlalchemy/dialects/sqlite/aiosqlite.py and aiosqlite/core.py of "
    "the new versions, adapt InLoopConnection, and run tests/test_install.py and tests/test_sqlite_inloop.py"
)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    """`name==version` lines of a lock file (names normalized), hashes and comments left out."""
    found: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        matched = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if matched:
            found[_normalized(matched[1])] = matched[2]
    return found


def pyproject_pins() -> dict[str, str]:
    """The exact (`==`) pins among pyproject.toml's dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = (re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", d) for d in project["dependencies"])
    return {_normalized(m[1]): m[2] for m in pins if m}


def test_the_lock_files_pin_every_package_with_hashes() -> None:
    for lock in LOCKS:
        text = lock.read_text(encoding="utf-8")
        versions = locked_versions(lock)
        assert len(versions) > 20, f"{lock.name}: no `name==version` lines found"
        requirements = [line for line in text.splitlines() if line and not line[0].isspace() and line[0] != "#"]
        assert all("==" in line and line.endswith("\\") for line in requirements), f"{lock.name}: unpinned lines"
        assert text.count("--hash=sha256:") >= len(versions), f"{lock.name}: a requirement without its hashes"
    runtime, test = (locked_versions(lock) for lock in LOCKS)
    assert {name: test.get(name) for name in runtime} == runtime, "requirements-test.txt departs from requirements.txt"
    assert {"hatchling", "editables"} <= set(test)  # the build backend: `make` installs without build isolation


def test_the_lock_files_cover_what_pyproject_declares() -> None:
    """A dependency added to pyproject.toml without `make update-deps` would be missing from every install."""
    document = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = document["project"]

    def names(requirements: list[str]) -> set[str]:
        return {_normalized(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requirements}  # type: ignore[index]

    runtime, test = (locked_versions(lock) for lock in LOCKS)
    missing = names(project["dependencies"]) - set(runtime)
    missing |= names(project["optional-dependencies"]["test"] + document["build-system"]["requires"]) - set(test)
    assert not missing, f"not in the lock files: {sorted(missing)}; run `make update-deps`"


@pytest.mark.parametrize("package", PINNED)
def test_sqlalchemy_and_aiosqlite_are_the_locked_versions(package: str) -> None:
    installed = metadata.version(package)
    pinned = pyproject_pins().get(package)
    assert pinned is not None, f"pyproject.toml must pin {package} exactly (`==`): {RECHECK}"
    for lock in LOCKS:
        assert locked_versions(lock).get(package) == pinned, f"{lock.name} and pyproject.toml differ on {package}"
    assert installed == pinned, f"{package} {installed} is installed but the lock names {pinned}. {RECHECK}"


def test_the_dialect_still_reaches_into_the_connection_the_way_sqlite_inloop_expects() -> None:
    """Read the dialect's code: each private attribute it uses is one InLoopConnection provides."""
    adapter = sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_connection
    setter = inspect.getsource(adapter.isolation_level.fset)  # type: ignore[attr-defined]
    expected = {
        "isolation_level": (setter, ("self._connection._conn", "self._connection._tx.put_nowait((future, function))")),
        "commit": (inspect.getsource(adapter.commit), ("self._connection._connection",)),
        "rollback": (inspect.getsource(adapter.rollback), ("self._connection._connection",)),
        "_terminate_force_close": (inspect.getsource(adapter._terminate_force_close), ("self._connection.stop",)),
    }
    for method, (source, needles) in expected.items():
        for needle in needles:
            assert needle in source, f"SQLAlchemy's aiosqlite adapter no longer uses {needle} in {method}. {RECHECK}"
    for name in ("_connection", "stop", "cursor", "execute", "commit", "rollback", "close", "create_function"):
        assert hasattr(InLoopConnection, name), f"InLoopConnection lacks {name}"  # `_conn`, `_tx`: see below


async def test_aiosqlite_still_has_the_attributes_the_dialect_uses(tmp_path: Path) -> None:
    """The real aiosqlite connection: what InLoopConnection imitates (`_conn`, `_tx`, `_connection`, `stop`)."""
    connection = await aiosqlite.connect(str(tmp_path / "probe.db"))
    try:
        assert isinstance(connection._conn, sqlite3.Connection), f"aiosqlite's `_conn` changed. {RECHECK}"
        assert connection._connection is connection._conn, f"aiosqlite's `_connection` changed. {RECHECK}"
        assert callable(getattr(connection._tx, "put_nowait", None)), f"aiosqlite's `_tx` queue changed. {RECHECK}"
        assert callable(getattr(connection, "stop", None)), f"aiosqlite's `stop` is gone. {RECHECK}"
    finally:
        await connection.close()


async def test_the_dialect_drives_the_in_loop_connection(tmp_path: Path) -> None:
    """End to end: the isolation level set through `_tx`, commit and rollback checked on `_connection`, the driver
    connection, and a forced close through `stop`."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inloop.db'}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            adapted = raw.dbapi_connection
            assert isinstance(adapted, sqlalchemy_aiosqlite.AsyncAdapt_aiosqlite_connection)
            inloop = adapted._connection
            assert isinstance(inloop, InLoopConnection), f"the engine no longer opens InLoopConnection. {RECHECK}"
            assert engine.dialect.get_driver_connection(adapted) is inloop
            assert isinstance(inloop._conn, sqlite3.Connection) and inloop._connection is inloop._conn

            def set_isolation(_sync: Any) -> str | None:
                adapted.isolation_level = "DEFERRED"  # through InLoopConnection._tx
                level = adapted.isolation_level
                adapted.isolation_level = None
                return level

            assert await connection.run_sync(set_isolation) == "DEFERRED", RECHECK
            assert inloop._conn.isolation_level is None
            await connection.execute(text("CREATE TABLE probe (n INTEGER)"))
            await connection.commit()
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
            await connection.rollback()
            assert (await connection.execute(text("SELECT count(*) FROM probe"))).scalar_one() == 0
            await connection.commit()
            adapted._terminate_force_close()  # what SQLAlchemy does to a connection it drops outside the loop
            with pytest.raises(sqlite3.ProgrammingError):
                inloop._conn.execute("SELECT 1")
            await connection.invalidate()
    finally:
        await engine.dispose()
