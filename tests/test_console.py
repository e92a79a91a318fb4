"""End to end: the real `chatbot console` (and `chatbot db …`) as a subprocess, a script on stdin, stdout checked."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PG_SKIP_REASON
from tests.helpers import run_cli

EXIT_CONFIG = 2
EXIT_DATABASE = 3
CSV_HEADER = [
    "n°",
    "date",
    "membre",
    "enveloppe",
    "durée (h)",
    "taux (€/h)",
    "montant (€)",
    "description",
    "statut",
    "signalement",
    "intention (n°)",
    "référence facture",
    "facturée le",
    "payée le",
    "durée (min)",
]


def chatbot(
    cwd: Path, *args: str, script: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatbot ARGS` in `cwd` with `script` on stdin, DATABASE_URL left out of the environment."""
    environment = dict(os.environ if env is None else env)
    environment.pop("DATABASE_URL", None)
    return run_cli(cwd, *args, env=environment, script=script)


def console(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = chatbot(cwd, "console", *args, script=script)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def lines(*commands: str) -> str:
    return "".join(f"{c}\n" for c in commands)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# --- the embedded default -------------------------------------------------------------------------------------


def test_embedded_default_creates_migrates_and_answers_in_french(tmp_path: Path) -> None:
    result = console(tmp_path, lines("/budget", "/contrib 2h tech Relecture du wiki", "/aide"))

    assert (tmp_path / "chatbot.db").is_file()  # the configuration's relative SQLite URL, in the working directory
    out = result.stdout
    assert "Budget contributif" in out
    assert "• Technique (`tech`) : 3 000 € / 3 000 €" in out
    assert "Total : reste 15 000 € / 15 000 €" in out
    assert "✅ Contribution n°1 enregistrée : 2 h × 30 €/h = 60 €, enveloppe Technique" in out
    assert "Description : Relecture du wiki" in out
    assert "reste 2 940 € sur 3 000 €" in out
    assert "Commandes du bot" in out
    assert result.stderr == ""


def test_end_of_input_and_quit_end_the_session(tmp_path: Path) -> None:
    empty = console(tmp_path, "")
    assert empty.stdout == ""

    result = console(tmp_path, lines("", "   ", "/contrib 1h tech", ":q", "/contrib 5h tech Jamais lu"))
    assert "Contribution n°1 enregistrée" in result.stdout
    assert "Jamais lu" not in result.stdout
    assert "n°2" not in result.stdout


def test_unknown_meta_command_and_plain_chat_outside_direct_messages(tmp_path: Path) -> None:
    result = console(tmp_path, lines(":help", ":room cercle-tech", "bonjour à tous", ":room @bot", "budget"))
    out = result.stdout.splitlines()
    assert out[0] == "Commandes de la console : `:as NOM`, `:room SALON` (ou `@bot`), `:q`."
    assert out[1] == "(vous êtes maintenant dans #cercle-tech)"
    # An ordinary chat message in a channel gets no answer; in a direct message, any message is a command.
    assert out[2] == "(vous êtes maintenant dans @bot)"
    assert out[3].startswith("**Budget contributif")


# --- :as and :room --------------------------------------------------------------------------------------------


def test_switching_user_and_room(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        lines(
            "/budget definir tech 5000",
            ":as alice",
            "/budget definir tech 9000",
            "/contrib 2h Relecture",
            ":room cercle-tech",
            "/contrib 2h Relecture",
            "/contrib liste",
        ),
        "--database",
        sqlite_url(tmp_path / "x.db"),
    )
    out = result.stdout
    # camille is the configured console user and an admin.
    assert re.search(r"Enveloppe Technique \d{4} fixée à 5 000 €\.", out)
    assert "(vous êtes maintenant alice)" in out
    # alice is a plain member.
    assert "Cette commande est réservée aux administrateurs du budget : `/budget definir" in out
    assert "9 000" not in out
    # In a direct message the circle is needed…
    assert "Pour quel cercle ou quelle enveloppe ?" in out
    assert "(vous êtes maintenant dans #cercle-tech)" in out
    # …in the circle's channel it is not.
    assert "✅ Contribution n°1 enregistrée : 2 h × 30 €/h = 60 €, enveloppe Technique" in out
    assert "Description : Relecture" in out
    assert "reste 4 940 € sur 5 000 €" in out
    assert "Contributions (de alice · " in out


def test_user_and_room_given_on_the_command_line(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        lines("/contrib 1h Maquette", "/budget definir communication 100", "/contrib liste"),
        "--as",
        "Bob",
        "--room",
        "#cercle-communication",
    )
    assert "enveloppe Communication" in result.stdout
    assert "Description : Maquette" in result.stdout
    assert "réservée aux administrateurs" in result.stdout
    assert "Contributions (de Bob · " in result.stdout


def test_as_option_accepts_an_at_sign_like_the_meta_command(tmp_path: Path) -> None:
    result = console(
        tmp_path, lines("/budget definir tech 4000", "/contrib 1h tech", "/contrib liste"), "--as", "@camille"
    )
    assert "fixée à 4 000 €" in result.stdout
    assert "Contributions (de camille · " in result.stdout


def test_posts_to_other_rooms_are_printed_with_the_room_name(tmp_path: Path) -> None:
    result = console(tmp_path, lines(":as alice", ":room cercle-tech", "/contrib 11h Migration du serveur"))
    out = result.stdout.splitlines()
    reply = [line for line in out if not line.startswith("[#")]
    mirrored = [line for line in out if line.startswith("[#")]

    assert any("Contribution n°1 enregistrée : 11 h × 30 €/h = 330 €" in line for line in reply)
    assert any("Au-delà de 300 €, annoncez le travail avant avec `/contrib prevoir`" in line for line in reply)
    assert "(Signalé dans #budget-contributif.)" in reply
    assert mirrored, result.stdout
    assert all(line.startswith("[#budget-contributif] ") for line in mirrored)
    assert mirrored[0].startswith(
        "[#budget-contributif] 🔎 alice a déclaré la contribution n°1 : 11 h × 30 €/h = 330 €"
    )
    assert "[#budget-contributif] Description : Migration du serveur" in mirrored
    assert "[#budget-contributif] Montant au-delà du seuil d'annonce, sans intention annoncée." in mirrored
    assert any("reste 2 670 € sur 3 000 €" in line for line in mirrored)


def test_small_declaration_is_not_mirrored(tmp_path: Path) -> None:
    result = console(tmp_path, lines("/contrib 2h tech"))
    assert "[#" not in result.stdout
    assert "Signalé" not in result.stdout


# --- export ---------------------------------------------------------------------------------------------------


def test_export_writes_a_french_csv(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        lines(
            "/contrib 2h tech Relecture",
            "/contrib 1h30 25€/h communication Affiche; « AG »",
            "/contrib 250,50€ formation =Atelier Nextcloud",
            "/contrib prevoir 10h tech Refonte du site",
            "/contrib annuler 1",
            "/contrib export",
        ),
    )
    match = re.search(r"Export des contributions (\d{4}) : 3 lignes, total déclaré 288 €", result.stdout)
    assert match, result.stdout
    year = match.group(1)
    written = re.search(r"📎 Fichier écrit : (\S+)", result.stdout)
    assert written, result.stdout
    path = tmp_path / written.group(1)
    assert path == tmp_path / "exports" / f"contributions-{year}.csv"

    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so that spreadsheet software reads the accents right
    decoded = content.decode("utf-8-sig")
    assert "\r\n" in decoded
    rows = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=";"))
    assert rows[0] == CSV_HEADER
    body = rows[1:]
    assert len(body) == 3  # declarations only: the intention is not exported
    for row in body:
        assert re.fullmatch(rf"\d\d/\d\d/{year}", row[1])
    assert [r[0] for r in body] == ["1", "2", "3"]
    first, second, third = (row[2:9] + row[-1:] for row in body)  # up to the status, and the exact minutes last
    assert first == ["camille", "Technique", "2,00", "30,00", "60,00", "Relecture", "annulée", "120"]
    assert second == ["camille", "Communication", "1,50", "25,00", "37,50", "Affiche; « AG »", "déclarée", "90"]
    assert third == ["camille", "Formation", "", "", "250,50", "'=Atelier Nextcloud", "déclarée", ""]
    assert body[1][9:-1] == ["", "", "", "", ""]  # no flag, intention, invoice reference, billing or payment date
    assert decoded.splitlines()[0] == ";".join(CSV_HEADER)


# --- persistence ----------------------------------------------------------------------------------------------


def test_data_persists_across_runs(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "x.db")
    first = console(
        tmp_path,
        lines("/contrib 2h tech Premier passage", "/budget creer inter-coop Inter-coop 800"),
        "--database",
        url,
    )
    assert "Contribution n°1 enregistrée" in first.stdout
    assert "Enveloppe Inter-coop (`inter-coop`) créée" in first.stdout

    second = console(tmp_path, lines("/contrib liste", "/contrib 1h tech Second passage", "/budget"), "--database", url)
    out = second.stdout
    assert "Contributions (de camille · " in out and ") : 1, total déclaré 60 €" in out
    assert "Premier passage" in out
    assert "Contribution n°2 enregistrée" in out
    assert "reste 2 910 € sur 3 000 €" in out
    assert "• Inter-coop (`inter-coop`) : 800 € / 800 €" in out
    assert not (tmp_path / "chatbot.db").exists()  # --database was used, not the configuration's file


# --- errors at start ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("this is [not toml\n", "n'est pas un fichier TOML valide"),
        ('[budget]\noverrun_policy = "peut-etre"\n', "budget.overrun_policy : « peut-etre » inconnu"),
        ('[[envelopes]]\ncircle = "jardin"\namount = 100\n', "le cercle « jardin » n'est pas déclaré"),
        (None, "Fichier de configuration introuvable"),
    ],
    ids=["not-toml", "bad-policy", "unknown-circle", "missing-file"],
)
def test_bad_config_is_a_french_error_and_exit_2(tmp_path: Path, content: str | None, expected: str) -> None:
    config = tmp_path / "bot.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = chatbot(tmp_path, "console", "--config", str(config), script="/budget\n")
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.startswith("Configuration invalide : ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "chatbot.db").exists()


# --- PostgreSQL: an out-of-date schema -------------------------------------------------------------------------


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server, dropped afterwards."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip(PG_SKIP_REASON)
    base = make_url(server)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+asyncpg")
    name = f"chatbot_helper_console_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_postgres_schema_must_be_upgraded_first(tmp_path: Path, fresh_postgres_url: str) -> None:
    url = fresh_postgres_url

    refused = chatbot(tmp_path, "console", "--database", url, script="/budget\n")
    assert refused.returncode == EXIT_DATABASE, refused.stderr
    assert "La base de données n'est pas à jour (version aucune" in refused.stderr
    assert "Lancez d'abord : chatbot db upgrade" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.stdout == ""
    assert not (tmp_path / "chatbot.db").exists()

    behind = chatbot(tmp_path, "db", "status", "--database", url)
    assert behind.returncode == 1
    assert "à mettre à jour avec `chatbot db upgrade`" in behind.stdout

    upgraded = chatbot(tmp_path, "db", "upgrade", "--database", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Base de données à jour (version " in upgraded.stdout

    status = chatbot(tmp_path, "db", "status", "--database", url)
    assert status.returncode == 0, status.stderr
    assert "; à jour." in status.stdout

    result = console(tmp_path, lines("/contrib 2h tech Sur PostgreSQL", "/budget"), "--database", url)
    assert "Contribution n°1 enregistrée" in result.stdout
    assert "reste 2 940 € sur 3 000 €" in result.stdout


@pytest.mark.parametrize("name", ["camille_", "_Camille-", "@camille__", "camillé"])
def test_a_look_alike_typing_in_the_console_is_not_the_admin(tmp_path: Path, name: str) -> None:
    """The console names its user as typed: a look-alike of an admin is another account, with no right."""
    result = chatbot(tmp_path, "console", "--as", name, script="/budget definir tech 5000\n")
    assert "réservée aux administrateurs" in result.stdout, result.stdout
    switched = chatbot(tmp_path, "console", script=f":as {name}\n/budget definir tech 5000\n")
    assert "réservée aux administrateurs" in switched.stdout, switched.stdout


def test_the_admin_in_the_console_is_the_admin_in_any_case(tmp_path: Path) -> None:
    result = chatbot(tmp_path, "console", "--as", "Camille", script="/budget definir tech 5000\n")
    assert "réservée aux administrateurs" not in result.stdout and "5 000" in result.stdout, result.stdout
