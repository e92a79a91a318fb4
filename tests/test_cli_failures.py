"""A bad database URL, in every command: one French line on stderr, an exit code other than 0, no traceback, no
secret. `-v` adds the traceback, masked too."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from chatbot.cli import Redactor, main, mask_url
from tests.conftest import PG_SKIP_REASON, plain
from tests.helpers import run_cli

PASSWORD = "Super-Secret-PW5"
SECRET_PARTS = ("Super", "Secret", "PW5")
COMMANDS = [("db", "status"), ("db", "upgrade"), ("console",), ("export", "decisions"), ("run",)]
BAD_URLS = {
    "port": (f"postgresql+asyncpg://bot:{PASSWORD}@127.0.0.1:99999/x", 2, "Port 99999 invalide"),
    "mysql": (f"mysql://bot:{PASSWORD}@localhost/x", 2, "Base de données « mysql » non prise en charge"),
    "sync-driver": (f"postgresql://bot:{PASSWORD}@localhost/x", 2, "« postgresql » non prise en charge"),
    "unparsable": ("pas une URL", 2, "URL de base de données illisible : « pas une URL »"),
    "ipv6": (f"postgresql+asyncpg://bot:{PASSWORD}@[::1/x", 2, "URL de base de données illisible"),
    "password-with-@": (
        "postgresql+asyncpg://bot:Super@Secret:PW5@127.0.0.1:abc/x",
        2,
        "« postgresql+asyncpg://bot:***@127.0.0.1:abc/x »",
    ),
    "closed-port": (f"postgresql+asyncpg://bot:{PASSWORD}@127.0.0.1:1/x", 3, "aucun serveur ne répond sur 127.0.0.1:1"),
    "no-directory": ("sqlite+aiosqlite:////nonexistent/dir/bot.db", 3, "« /nonexistent/dir/bot.db » ne peut pas"),
}


def chatbot(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatbot ARGS` in `cwd` with this environment (DATABASE_URL included), nothing on stdin."""
    return run_cli(cwd, *args, env=env)


def environment(url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ROCKETCHAT_"))}
    # `run` needs credentials to reach the database step; they are secrets too.
    return {**env, "DATABASE_URL": url, "ROCKETCHAT_USER": "bot", "ROCKETCHAT_PASSWORD": "RcPass-9876", **more}


def assert_one_french_line(output: str, expected: str) -> None:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert expected in lines[0], output
    assert_no_secret(output)


def assert_no_secret(output: str) -> None:
    for secret in (*SECRET_PARTS, "RcPass-9876", "DbPass-4321"):
        assert secret not in output, output


@pytest.mark.parametrize("case", list(BAD_URLS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_bad_database_url_is_one_french_line(tmp_path: Path, case: str, command: tuple[str, ...]) -> None:
    url, code, expected = BAD_URLS[case]
    result = chatbot(tmp_path, *command, env=environment(url))
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert_one_french_line(result.stderr, expected)


@pytest.fixture
def server() -> str:
    """TEST_DATABASE_URL: a PostgreSQL server to be refused by (a database or a role it does not have)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip(PG_SKIP_REASON)
    return url


def test_unknown_database(tmp_path: Path, server: str) -> None:
    url = make_url(server).set(drivername="postgresql+asyncpg", database="chatbot_no_such_base_x7")
    for command in COMMANDS:
        result = chatbot(tmp_path, *command, env=environment(url.render_as_string(hide_password=False)))
        assert result.returncode == 3, result.stderr
        assert_one_french_line(result.stderr, "la base « chatbot_no_such_base_x7 » n'existe pas")


def test_refused_login_masks_the_password(tmp_path: Path, server: str) -> None:
    url = make_url(server).set(drivername="postgresql+asyncpg", username="no_such_role_x7", password=PASSWORD)
    result = chatbot(tmp_path, "db", "status", env=environment(url.render_as_string(hide_password=False)))
    assert result.returncode == 3
    assert_one_french_line(result.stderr, "le serveur refuse l'utilisateur « no_such_role_x7 »")
    assert "no_such_role_x7:***@" in result.stderr


def test_password_from_the_environment_is_masked(tmp_path: Path) -> None:
    """DATABASE_PASSWORD is inserted into the URL: it never shows, not even with -v."""
    env = environment("postgresql+asyncpg://bot@127.0.0.1:1/x", DATABASE_PASSWORD="DbPass-4321")
    result = chatbot(tmp_path, "db", "status", env=env)
    assert result.returncode == 3
    assert_one_french_line(result.stderr, "postgresql+asyncpg://bot:***@127.0.0.1:1/x")
    verbose = chatbot(tmp_path, "db", "status", "-v", env=env)
    assert verbose.returncode == 3
    assert_no_secret(verbose.stderr)


def test_an_unreadable_url_with_a_password_from_the_environment_is_refused_in_french(tmp_path: Path) -> None:
    """DATABASE_PASSWORD is inserted only into a URL that can be read; an unreadable one is refused as such."""
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "coop.toml"
    broken = 'url = "postgresql+asyncpg://bot@127.0.0.1:abc/x"'
    config.write_text(example.replace('url = "sqlite+aiosqlite:///chatbot.db"', broken, 1), encoding="utf-8")
    env = environment("", DATABASE_PASSWORD="DbPass-4321")
    env.pop("DATABASE_URL", None)
    result = chatbot(tmp_path, "db", "status", "--config", str(config), env=env)
    assert result.returncode == 2
    assert_one_french_line(result.stderr, "postgresql+asyncpg://bot@127.0.0.1:abc/x")
    assert "DbPass" not in result.stderr and "ValueError" not in result.stderr


@pytest.mark.parametrize("case", ["password-with-@", "port", "closed-port"])
def test_verbose_adds_the_traceback_masked(tmp_path: Path, case: str) -> None:
    url, code, expected = BAD_URLS[case]
    result = chatbot(tmp_path, "db", "status", "-v", env=environment(url))
    assert result.returncode == code
    assert "Traceback (most recent call last)" in result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]  # the French line still comes last
    assert_no_secret(result.stderr)


# --- the masking itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://bot:Super@Secret:PW5@127.0.0.1:abc/x", "postgresql+asyncpg://bot:***@127.0.0.1:abc/x"),
        ("postgresql+asyncpg://bot:pw@[::1/x", "postgresql+asyncpg://bot:***@[::1/x"),
        (
            "postgresql+asyncpg://bot@127.0.0.1/coop?password=Secret",
            "postgresql+asyncpg://bot@127.0.0.1/coop?password=***",
        ),
        ("postgresql+asyncpg://bot@127.0.0.1:5432/coop", "postgresql+asyncpg://bot@127.0.0.1:5432/coop"),
        ("sqlite+aiosqlite:///chatbot.db", "sqlite+aiosqlite:///chatbot.db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_parser_message_quoting_part_of_the_password_is_masked() -> None:
    redact = Redactor(["postgresql+asyncpg://bot:Super@Secret:PW5@127.0.0.1:abc/x"])
    message = "invalid literal for int() with base 10: 'PW5@127.0.0.1:abc'"
    assert redact(message) == "invalid literal for int() with base 10: '***@127.0.0.1:abc'"


# --- fuzzing: any URL, in process ------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MARK = "Zk7q"  # every fuzzed password starts with it: any piece of the start that shows is a leak
URL_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
schemes = st.one_of(
    st.sampled_from(["postgresql+asyncpg", "sqlite+aiosqlite", "mysql", "postgresql", "sqlite", "", "http"]), URL_TEXT
)
passwords = URL_TEXT.map(lambda rest: MARK + rest)
hosts = st.one_of(st.sampled_from(["127.0.0.1", "[::1]", "[::1", "::1]", "localhost", "", "@", "[", "]:"]), URL_TEXT)
ports = st.one_of(st.just(""), st.integers(-5, 10**6).map(lambda p: f":{p}"), URL_TEXT.map(lambda p: f":{p}"))


@st.composite
def database_urls(draw: st.DrawFn) -> tuple[str, str]:
    password = draw(passwords)
    user = draw(st.sampled_from(["bot", "", "a:b", "x@y"]))
    url = f"{draw(schemes)}://{user}:{password}@{draw(hosts)}{draw(ports)}/{draw(URL_TEXT)}"
    return url, password


@FUZZ
@given(case=database_urls(), command=st.sampled_from([["db", "status"], ["export", "decisions"]]))
def test_fuzzed_database_urls(
    case: tuple[str, str],
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, password = case
    monkeypatch.chdir(tmp_path)  # a SQLite URL makes its file here
    for name in [n for n in os.environ if n.startswith(("DATABASE_", "ROCKETCHAT_"))]:
        monkeypatch.delenv(name)
    code = main([*command, f"--database={url}"])
    out, err = capsys.readouterr()
    if code == 0 or (command == ["db", "status"] and code == 1 and "version attendue" in out):
        return  # a URL that works (a SQLite file made here): nothing went wrong
    assert code in (2, 3), (url, err)
    assert out == ""
    lines = [line for line in plain(err).splitlines() if line.strip()]
    assert len(lines) == 1, (url, err)
    assert "Traceback" not in err
    assert not re.search(r"Erreur inattendue", err), (url, err)
    assert MARK not in err and password not in err, (url, err)


# --- other failures of the system: files, ports, Ctrl-C -------------------------------------------------------


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return environment(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "/nonexistent/dir/decisions.md",
            "Impossible d'utiliser « /nonexistent/dir/decisions.md » : ce fichier ou son",
        ),
        (".", "c'est un dossier, pas un fichier."),
    ],
)
def test_export_to_a_path_that_cannot_be_written(tmp_path: Path, output: str, expected: str) -> None:
    result = chatbot(tmp_path, "export", "decisions", "--output", output, env=sqlite_env(tmp_path))
    assert result.returncode == 1
    assert_one_french_line(result.stderr, expected)


def test_web_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = chatbot(tmp_path, "console", "--web", f"127.0.0.1:{port}", env=sqlite_env(tmp_path))
    assert result.returncode == 1
    assert_one_french_line(result.stderr, "adresse déjà utilisée par un autre programme")


def test_ctrl_c_in_the_console_is_no_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "console"],
        cwd=tmp_path,
        env={**sqlite_env(tmp_path), "PYTHONUTF8": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("/budget\n")
    process.stdin.flush()
    assert "Budget contributif" in process.stdout.readline()  # started and answering: now interrupt it
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    _, err = process.communicate(timeout=30)  # closes stdin, which the reading thread waits on
    assert process.returncode == 130, err
    assert_one_french_line(err, "Interrompu.")
