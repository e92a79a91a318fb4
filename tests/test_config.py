"""Configuration: the example file is valid, and every mistake is named for the admin who made it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from chatbot.config import ConfigError, example_config_path, load_settings, parse_settings


def example() -> dict[str, Any]:
    return tomllib.loads(example_config_path().read_text(encoding="utf-8"))


def test_example_is_the_embedded_default() -> None:
    settings = load_settings()
    assert str(settings.timezone) == "Europe/Paris"
    assert settings.admins == frozenset({"camille"})
    assert settings.database_is_embedded
    assert [c.slug for c in settings.circles] == ["tech", "communication", "vie-coop", "sante", "orientation"]
    formation = next(e for e in settings.envelopes if e.slug == "formation")
    assert (formation.mode, formation.flat_min_cents, formation.flat_max_cents, formation.circle) == (
        "flat",
        20000,
        40000,
        None,
    )
    inter = next(e for e in settings.envelopes if e.slug == "inter-cae")
    assert inter.circle is None
    assert settings.budget.hourly_cap_cents == 3000
    assert settings.budget.overrun_policy == "warn"
    assert settings.rocketchat.catchup_overlap_seconds == 60


def test_circle_of_room() -> None:
    settings = load_settings()
    assert settings.circle_for_room("cercle-tech").slug == "tech"  # type: ignore[union-attr]
    assert settings.circle_for_room("#Cercle-Tech-Prive").slug == "tech"  # type: ignore[union-attr]
    assert settings.circle_for_room("general") is None
    assert settings.circle_for_room(None) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["bot"].update(timezone="Mars/Olympus"), "fuseau horaire inconnu"),
        (lambda c: c["budget"].update(overrun_policy="maybe"), "budget.overrun_policy"),
        (lambda c: c["budget"].update(hourly_cap=0), "budget.hourly_cap doit être positif"),
        (lambda c: c["budget"].update(warning_percent=150), "budget.warning_percent"),
        (lambda c: c["envelopes"][0].pop("amount"), "envelopes[1].amount manque"),
        (lambda c: c["envelopes"][0].update(amount="12,345"), "au centime près"),
        (lambda c: c["envelopes"][0].update(amount=-5), "ne peut pas être négatif"),
        (lambda c: c["envelopes"][0].update(circle="inconnu"), "« inconnu » n'est pas déclaré"),
        (lambda c: c["envelopes"][0].update(rate=45), "envelopes[1].rate"),
        (lambda c: c["envelopes"][5].update(flat_min=500), "flat_min est plus grand que flat_max"),
        (lambda c: c["envelopes"][5].update(mode="sometimes"), "envelopes[6].mode"),
        (lambda c: c["circles"].append(dict(c["circles"][0])), "circles.slug : « tech » apparaît deux fois"),
        (lambda c: c["circles"][1].update(aliases=["tech"]), "désigne deux enveloppes"),
        (lambda c: c["bot"].update(admins="camille"), "bot.admins doit être une liste"),
        (lambda c: c.update(circles={"slug": "x"}), "circles doit être une liste"),
        (lambda c: c["rocketchat"].update(catchup_overlap_seconds=-1), "catchup_overlap_seconds doit être compris"),
        (lambda c: c["rocketchat"].update(catchup_overlap_seconds=7200), "entre 0 et 3600 (ex. 60)"),
    ],
)
def test_mistakes_are_named(change: Any, message: str) -> None:
    raw = example()
    change(raw)
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw)
    assert message in str(raised.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="introuvable"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[bot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="n'est pas un fichier TOML valide"):
        load_settings(broken)


def test_database_url_precedence_and_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot@db.example/coop")
    monkeypatch.setenv("DATABASE_PASSWORD", "s3cr:et")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://bot:s3cr%3Aet@db.example/coop"
    assert not settings.database_is_embedded
    explicit = load_settings(None, "sqlite+aiosqlite:///other.db")
    assert explicit.database_url == "sqlite+aiosqlite:///other.db"


def test_envelopes_of_the_current_year_when_no_year_is_configured() -> None:
    raw = example()
    raw["budget"]["year"] = 2027
    assert parse_settings(raw).budget.year == 2027
    assert load_settings().budget.year is None
