"""What a fresh clone needs: Rocket.Chat's OpenAPI files found (or their absence said), the locked versions installed,
and the private internals of SQLAlchemy and aiosqlite that chatbot/db/sqlite_inloop.py relies on still there."""

from __future__ import annotations

from pathlib import Path

import pytest

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
