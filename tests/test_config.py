"""Configuration: the example file is valid, and every mistake is named for the admin who made it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import ConfigError, Settings, example_config_path, load_settings, parse_settings
from tests.conftest import Chat, started_bot


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
        (lambda c: c["consent"].update(quorum=10**30), "consent.quorum doit être un nombre entier entre 1 et 10000"),
        (lambda c: c["consent"].update(reminder_hours=10**9), "consent.reminder_hours doit être un nombre d'heures"),
        (lambda c: c["rocketchat"].update(catchup_overlap_seconds=7200), "entre 0 et 3600 (ex. 60)"),
        (lambda c: c["rocketchat"].update(catchup_max_hours=10**30), "rocketchat.catchup_max_hours"),
        (lambda c: c["budget"].update(max_hours_per_declaration=0), "budget.max_hours_per_declaration"),
        (lambda c: c["budget"].update(max_hours_per_intention=10**20), "au plus 8784"),
        (lambda c: c["budget"].update(hourly_cap=3000), "au plus 1000 € de l'heure"),
        (lambda c: c["envelopes"][0].update(amount="1e999999999"), "plus grand montant accepté"),
        (lambda c: c["envelopes"][0].update(amount=10**12), "plus grand montant accepté"),
        (lambda c: c["meetings"].update(default_minutes=10**9), "meetings.default_minutes"),
        (lambda c: c["meetings"].update(reminders=[10**12]), "meetings.reminders"),
        (lambda c: c["circles"][0].update(meeting_announce_days=10**6), "circles[1].meeting_announce_days"),
        (lambda c: c["circles"][0].update(name="Tech\nnique"), "caractère de contrôle"),
        (lambda c: c["bot"].update(timezone="../../../etc/passwd"), "fuseau horaire inconnu"),
        (lambda c: c["bot"].update(timezone="Europe"), "fuseau horaire inconnu"),
        (lambda c: c["bot"].update(language="xx"), "pas de catalogue de messages pour « xx »"),
        (lambda c: c["bot"].update(language="../fr"), "langues disponibles : fr"),
        (lambda c: c["bot"].update(language="/etc/passwd"), "bot.language"),
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
    broken.write_text('[bot]\nadmins = ["camille"]\n[bot\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(broken)
    assert str(raised.value).startswith(f"{broken}, ligne 3 : ce n'est pas un fichier TOML valide")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="illisible"):
        load_settings(folder)


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


# --- every mistake names the file and its line (the file as an admin writes it) --------------------------------


def written(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The example file with `old` replaced by `new`, and the line of the last line of `new` that is not a
    table header (the key a message is about), or of its first line."""
    text = example_config_path().read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "coop.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    keys = [i for i, line in enumerate(new.splitlines()) if not line.startswith(("[", "#"))]
    return path, text[: text.index(old)].count("\n") + 1 + (keys[-1] if keys else 0)


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'overrun_policy = "warn"',
            'overrun_polcy = "refuse"',
            "clé inconnue « overrun_polcy » dans [budget] ; vouliez-vous dire `overrun_policy` ?",
        ),
        ("[budget]", "[budjet]", "section inconnue « [budjet] » ; vouliez-vous dire `[budget]` ?"),
        ('timezone = "Europe/Paris"', 'timzone = "Europe/Paris"', "vouliez-vous dire `timezone` ?"),
        ("[bot]", 'timzone = "Europe/Paris"\n[bot]', "« timzone » ; vouliez-vous dire `timezone` dans [bot] ?"),
        ("port = 8080", "prot = 8080", "clé inconnue « prot » dans [web] ; vouliez-vous dire `port` ?"),
        ("# [consent.circles.sante]", "[consent.circles.sante]\nquorom = 3", "dans [consent.circles.sante]"),
        ('aliases = ["com", "comm"]', 'alias = ["com", "comm"]', "dans le [[circles]] n° 2 ; vouliez-vous dire"),
        ('mode = "flat"', 'mod = "flat"', "clé inconnue « mod » dans le [[envelopes]] n° 6"),
        ('style = "s3"', 'style = "s3"\nbudget = 3', "clé inconnue « budget » dans [consent]"),
        ("[web]", "[wbe]\n[web]", "section inconnue « [wbe] »"),
        ("[web]", "[web.tls]\n[web]", "clé inconnue « tls » dans [web]"),
        ("[web]", "[[orga]]\n[web]", "section inconnue « [orga] »"),
    ],
)
def test_unknown_keys_stop_start_up(tmp_path: Path, old: str, new: str, message: str) -> None:
    path, line = written(tmp_path, old, new)
    error = refused(path)
    assert error.startswith(f"{path}, ligne {line} : "), error
    assert message in error


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'public_channel = "cercle-communication"',
            'public_channel = "cercle-tech"',
            "circles[2].public_channel : le canal « cercle-tech » est déjà celui du cercle « tech »",
        ),
        (
            'private_channel = "cercle-communication-prive"',
            'private_channel = "#Cercle-Tech-Prive"',
            "est déjà celui du cercle « tech »",
        ),
        (
            'private_channel = "cercle-communication-prive"',
            'private_channel = "cercle-communication"',
            "est déjà celui de ce cercle",
        ),
        (
            'public_channel = "cercle-communication"\nprivate_channel = "cercle-communication-prive"',
            "# no channel",
            "circles[2] (« communication ») n'a aucun canal",
        ),
        ("# year = 2026", "year = 99999", "budget.year doit être une année entre 2000 et 2099"),
        ("# year = 2026", "year = 2100", "budget.year doit être une année entre 2000 et 2099"),  # no command reads it
        (
            'url = "http://localhost:3000"',
            'url = "http://admin:Secr3tPW@localhost:3000"',
            "rocketchat.url ne doit pas contenir d'identifiants",
        ),
        ('language = "fr"', 'language = "xx"', "bot.language : pas de catalogue de messages pour « xx »"),
        ('language = "fr"', 'language = "../../etc"', "bot.language"),
        ("hourly_cap = 30", "hourly_cap = 3000", "budget.hourly_cap doit être positif et au plus 1000 €"),
        (
            'circle = "tech"\namount = 3000',
            'circle = "tech"\namount = 3000\nrate = 31',
            "envelopes[1].rate doit être positif et au plus",
        ),
        ('admins = ["camille"]', 'admins = ["camille martin"]', "« camille martin » n'est pas un nom d'utilisateur"),
    ],
)
def test_contradictions_name_their_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path, line = written(tmp_path, old, new)
    error = refused(path)
    if new.startswith("#"):  # a circle left with no channel: named by its [[circles]] header
        line = example_config_path().read_text(encoding="utf-8").split(old)[0].rsplit("[[circles]]", 1)[0]
        line = line.count("\n") + 1  # type: ignore[assignment]
    assert error.startswith(f"{path}, ligne {line} : "), error
    assert message in error


def test_a_cap_above_thirty_is_the_cooperative_s_choice(tmp_path: Path) -> None:
    """30 €/h is Optéos's agreed cap; another cooperative may agree on more, and envelopes follow it."""
    path, _ = written(tmp_path, "hourly_cap = 30", "hourly_cap = 45")
    text = path.read_text(encoding="utf-8").replace('circle = "tech"\n', 'circle = "tech"\nrate = 45\n')
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path)
    assert settings.budget.hourly_cap_cents == 4500
    assert settings.envelopes[0].rate_cents == 4500


def test_a_file_not_in_utf8_names_its_first_bad_line(tmp_path: Path) -> None:
    text = example_config_path().read_text(encoding="utf-8")
    path = tmp_path / "latin1.toml"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    lines = text.encode("latin-1", errors="replace").splitlines()
    first = next(n for n, line in enumerate(lines, start=1) if not line.isascii())
    assert refused(path) == (
        f"{path}, ligne {first} : le fichier n'est pas encodé en UTF-8 ; "
        "enregistrez-le en UTF-8 (sans BOM de préférence)."
    )


@pytest.mark.parametrize("command", [["console"], ["run"], ["check"], ["db", "status"], ["db", "upgrade"]])
def test_every_command_stops_on_a_bad_configuration_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    from chatbot.cli import main

    path, line = written(tmp_path, 'overrun_policy = "warn"', 'overrun_polcy = "refuse"')
    assert main([*command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"Configuration invalide : {path}, ligne {line} : clé inconnue « overrun_polcy » dans [budget] ; "
        "vouliez-vous dire `overrun_policy` ?"
    )


def test_echoed_keys_and_values_stay_on_one_visible_line() -> None:
    raw = example()
    raw["consent"]["style"] = "s3\u202e\nsofa"
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw)
    assert "« s3\\u202e\\u000asofa »" in str(raised.value)
    raw = example()
    raw["bot"]["\n"] = 0
    with pytest.raises(ConfigError, match=r"clé inconnue « \\u000a » dans \[bot\]"):
        parse_settings(raw)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('slug = "inter-cae"', 'slug = "journal"'),  # /budget journal shows the journal
        ('circle = "tech"\namount = 3000', 'circle = "tech"\namount = 3000\naliases = ["hier"]'),  # a work date
        ('circle = "communication"\namount = 2500', 'circle = "communication"\namount = 2500\naliases = ["mois"]'),
    ],
)
def test_a_configured_name_that_is_a_command_word_stops_start_up(tmp_path: Path, old: str, new: str) -> None:
    path, _ = written(tmp_path, old, new)
    with pytest.raises(ConfigError, match="est déjà un mot des commandes"):
        Bot.create(load_settings(path, "sqlite+aiosqlite:///:memory:"))
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "console", "--config", str(path)],
        input="",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        timeout=60,
    )
    assert result.returncode == 2 and "est déjà un mot des commandes" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# -- bot.source_url: where members get the source (AGPL-3.0 §13), the last line of /aide ------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://forge.exemple.org/opteos/coop-chatbot", "http://git.opteos.fr:3000/bot", "https://exemple.org/a?b=c#d"],
)
def test_the_source_url_is_an_http_address(url: str) -> None:
    raw = example()
    raw["bot"]["source_url"] = url
    assert parse_settings(raw).source_url == url


def test_without_a_source_url_none_is_set() -> None:
    assert "source_url" not in example()["bot"]  # the example leaves it to the admin (commented out)
    assert load_settings().source_url is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("forge.exemple.org/coop-chatbot", "bot.source_url doit être une adresse web en http:// ou https://"),
        ("ftp://forge.exemple.org/coop-chatbot", "pas « ftp://forge.exemple.org/coop-chatbot »"),
        ("https://", "bot.source_url doit être une adresse web"),
        ("https://forge exemple.org/", "bot.source_url doit être une adresse web"),
        ("https://forge.exemple.org:port/", "bot.source_url doit être une adresse web"),
        ("javascript:alert(1)", "bot.source_url doit être une adresse web"),
        ("https://camille:s3cret@forge.exemple.org/bot", "ni identifiant ni mot de passe"),
        ("https://jeton@forge.exemple.org/bot", "ni identifiant ni mot de passe"),
        ("", "bot.source_url doit être un texte non vide"),
        ("https://forge.exemple.org/\nbot", "caractère de contrôle"),
    ],
)
def test_a_wrong_source_url_is_named(url: str, message: str) -> None:
    raw = example()
    raw["bot"]["source_url"] = url
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw)
    assert message in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize("url", [None, "https://forge.exemple.org/opteos/coop-chatbot"])
async def test_aide_ends_with_where_the_source_is(settings: Settings, clock: FixedClock, url: str | None) -> None:
    async with started_bot(dataclasses.replace(settings, source_url=url), clock) as bot:
        last = (await Chat(bot)("/aide")).splitlines()[-1]
    assert last.startswith("Code source du bot (logiciel libre, licence AGPL-3.0) : ")
    if url:
        assert last.endswith(url)
    else:
        assert "un administrateur doit la renseigner (réglage `bot.source_url`)" in last


def test_a_control_character_in_a_list_of_names_is_refused_in_french() -> None:
    """Found by the configuration fuzz: an escape character in `meeting_keepers` is refused with what is
    expected."""
    raw = {
        "bot": {"timezone": "Europe/Paris"},
        "circles": [{"slug": "tech", "public_channel": "c", "meeting_keepers": ["\x1b"]}],
    }
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)
    assert "doit tenir sur une ligne" in str(refused.value) and "ex." in str(refused.value)
