"""Deployment: what the image does, done outside a container, and the files a tech circle deploys with.

No base image can be pulled where CI runs, so the Dockerfile keeps its steps in scripts that this test runs as they
are: `deploy/install.sh` builds a fresh venv from the lock (or pyproject), `deploy/entrypoint.sh` applies the
migrations to a fresh PostgreSQL database and runs `chatbot check` then `chatbot run` against the fake Rocket.Chat,
`deploy/healthcheck.py` probes `/healthz`, a command is answered, SIGTERM stops the bot cleanly.
`deploy/compose.yaml` is read and checked; `deploy/chatbot.service` goes through `systemd-analyze verify`.

DEPLOY_TEST_REUSE_VENV=1 runs the end-to-end test on the venv running pytest instead of building a fresh one from
the lock (about 15 s saved; the lock's installability is then not checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml
from sqlalchemy.engine import make_url

from chatbot.cli import SECRET_VARIABLES
from chatbot.config import load_settings
from chatbot.transport.rocketchat.check import room_names
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import READY_LINE, bot_replies, wait_for, write_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "chatbot.service"
ENV_EXAMPLE = DEPLOY / "env.example"
VENV_CHATBOT = "/opt/chatbot/venv/bin/chatbot"  # where the unit and the image install the bot
PASSWORD_VARIABLES = {*SECRET_VARIABLES, "POSTGRES_PASSWORD"}
# Read by deploy/compose.yaml for itself (interpolation), never by the bot: not secrets.
COMPOSE_ONLY = {"CHATBOT_DOMAIN", "TRAEFIK_ENTRYPOINT", "TRAEFIK_CERTRESOLVER", "ROCKETCHAT_NETWORK"}


def environment_names_read(*paths: Path) -> set[str]:
    """The environment variables that these files read (Python's os.environ / env.get, shell's ${NAME…})."""
    names: set[str] = set()
    for path in paths:
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            text = file.read_text(encoding="utf-8")
            names |= set(re.findall(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""", text))
            names |= set(re.findall(r"os\.getenv\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", text))
            if file.suffix == ".sh":
                names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))
    return names


# The bot's own reader (configuration, credentials, CLI), the entry point and the health probe.
KNOWN_VARIABLES = environment_names_read(ROOT / "chatbot", DEPLOY / "entrypoint.sh", DEPLOY / "healthcheck.py") - {
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
}


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- compose.yaml ---------------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_variables_read_are_found() -> None:
    """The scan that the checks below rely on sees what the configuration reader and the CLI read."""
    assert {"DATABASE_URL", "DATABASE_PASSWORD", "CALENDAR_TOKEN", "CHATBOT_CONFIG"} <= KNOWN_VARIABLES
    assert {"ROCKETCHAT_USER_ID", "ROCKETCHAT_AUTH_TOKEN", "ROCKETCHAT_USER", "ROCKETCHAT_PASSWORD"} <= KNOWN_VARIABLES


def test_compose_runs_the_bot_and_postgres() -> None:
    services = compose()["services"]
    assert set(services) == {"bot", "db"}
    bot, db = services["bot"], services["db"]
    assert (COMPOSE.parent / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["restart"] in ("unless-stopped", "always", "on-failure")
    config = bot["environment"]["CHATBOT_CONFIG"]
    assert f"./config.toml:{config}:ro" in bot["volumes"]

    assert db["image"].startswith("postgres:")
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in db["volumes"]}
    assert mounts["/var/lib/postgresql/data"] in compose()["volumes"]  # a named volume, kept across upgrades
    assert "pg_isready" in db["healthcheck"]["test"]
    url = make_url(bot["environment"]["DATABASE_URL"])
    assert (url.drivername, url.host, url.username, url.database) == (
        "postgresql+asyncpg",
        "db",
        db["environment"]["POSTGRES_USER"],
        db["environment"]["POSTGRES_DB"],
    )


def test_compose_health_check_and_traefik_reach_the_bot_s_web_server() -> None:
    bot = compose()["services"]["bot"]
    test = bot["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "/opt/chatbot/healthcheck.py"]
    health = test[3]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/healthz", health)
    assert health.endswith(load_healthcheck().PATH)
    labels = bot["labels"]
    assert labels["traefik.enable"] == "true"
    port = labels["traefik.http.services.chatbot-calendar.loadbalancer.server.port"]
    assert health == f"http://127.0.0.1:{port}/healthz"
    assert bot["expose"] == [port]
    rule = labels["traefik.http.routers.chatbot-calendar.rule"]
    assert "PathPrefix(`/calendar/`)" in rule
    assert "healthz" not in rule and "metrics" not in rule


def test_compose_environment_is_what_the_bot_reads_and_holds_no_secret() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    document = compose()
    bot_env = document["services"]["bot"]["environment"]
    assert set(bot_env) <= KNOWN_VARIABLES, set(bot_env) - KNOWN_VARIABLES
    assert {"DATABASE_URL", "DATABASE_PASSWORD", "ROCKETCHAT_USER_ID", "ROCKETCHAT_AUTH_TOKEN"} <= set(bot_env)
    assert make_url(bot_env["DATABASE_URL"]).password is None
    services = document["services"].values()
    for name, value in [(k, v) for service in services for k, v in service.get("environment", {}).items()]:
        if name in PASSWORD_VARIABLES or "TOKEN" in name or "PASSWORD" in name:
            # Only from deploy/.env: ${NAME:?…} (required) or ${NAME:-} (may be empty), never a written default.
            assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*|:-)\}", str(value)), f"{name} has a value in compose.yaml"
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated <= KNOWN_VARIABLES | COMPOSE_ONLY, interpolated - KNOWN_VARIABLES - COMPOSE_ONLY
    for value in strings_in(document):  # no address carries a password (user:password@host)
        for address in re.findall(r"[a-z][a-z0-9+.-]*://\S+", value):
            assert urlsplit(address).password is None, address


def strings_in(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [str(key), *strings_in(value)]]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return [str(node)]


def test_env_example_documents_every_variable_and_fills_no_secret() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assigned = dict(line.lstrip("# ").split("=", 1) for line in lines if re.match(r"#? ?[A-Z][A-Z0-9_]*=", line))
    assert set(assigned) <= KNOWN_VARIABLES | COMPOSE_ONLY, set(assigned) - KNOWN_VARIABLES - COMPOSE_ONLY
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    assert interpolated <= set(assigned), interpolated - set(assigned)
    for name in PASSWORD_VARIABLES & set(assigned):
        assert assigned[name] == "", f"{name} is filled in env.example"
    assert make_url(assigned["DATABASE_URL"]).password is None


def test_secrets_stay_out_of_git_and_of_the_image() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT, check=False)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, "deploy/.env is not ignored by git"
    assert "deploy/.env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_dockerfile_runs_the_deploy_scripts_as_a_user_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in re.sub(r"\\\n", " ", text).splitlines() if line[:1].isalpha()]
    assert [i for i, _ in instructions].count("FROM") >= 2  # multi-stage: no build tool in the final image
    assert "PYTHON_IMAGE=python:3.11-slim" in text
    assert any(i == "RUN" and "deploy/install.sh /opt/chatbot/venv" in rest for i, rest in instructions)
    users = [rest.strip() for i, rest in instructions if i == "USER"]
    assert users and not users[-1].startswith(("root", "0"))
    health = [rest for i, rest in instructions if i == "HEALTHCHECK"]
    assert health and '"/opt/chatbot/healthcheck.py"' in health[0]
    assert ("ENTRYPOINT", '["/opt/chatbot/entrypoint.sh"]') in [(i, rest.strip()) for i, rest in instructions]
    assert "CHATBOT_CONFIG=/etc/chatbot/config.toml" in text
    for script in ("install.sh", "entrypoint.sh"):
        assert os.access(DEPLOY / script, os.X_OK), f"deploy/{script} is not executable"


def test_healthcheck_address_comes_from_the_configuration(tmp_path: Path) -> None:
    health_url = load_healthcheck().health_url
    config = tmp_path / "config.toml"
    config.write_text('[web]\nhost = "0.0.0.0"\nport = 8081\n', encoding="utf-8")
    assert health_url(str(config)) == "http://127.0.0.1:8081/healthz"
    config.write_text('[web]\nhost = "::1"\n', encoding="utf-8")
    assert health_url(str(config)) == "http://[::1]:8080/healthz"
    assert health_url(str(tmp_path / "missing.toml")) == "http://127.0.0.1:8080/healthz"


# --- systemd ----------------------------------------------------------------------------------------------------


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_runs_hardened_as_its_own_user_with_its_state_directory() -> None:
    unit = unit_settings()
    assert unit["User"] == ["chatbot"]
    assert unit["EnvironmentFile"] == ["/etc/chatbot/env"]
    assert unit["Restart"] == ["on-failure"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert unit[key] == [value], key
    assert unit["WorkingDirectory"] == [f"/var/lib/{unit['StateDirectory'][0]}"]  # where chatbot.db is created
    assert unit["ExecStartPre"] == [f"{VENV_CHATBOT} db upgrade --config /etc/chatbot/config.toml"]
    assert unit["ExecStart"] == [f"{VENV_CHATBOT} run --config /etc/chatbot/config.toml"]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is absent (Debian package systemd): the unit file is not verified")
    # verify checks that the commands exist: point them at this venv's chatbot.
    chatbot = Path(sys.executable).parent / "chatbot"
    unit = tmp_path / "chatbot.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(VENV_CHATBOT, str(chatbot)), encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    # An unknown or misspelt setting is only a warning for systemd: any line about the unit fails the test too.
    about_unit = [line for line in result.stderr.splitlines() if "chatbot.service" in line]
    assert result.returncode == 0 and not about_unit, result.stderr


# --- the deployment, end to end ---------------------------------------------------------------------------------


def admin_postgres_url() -> str:
    """A database to connect to on the PostgreSQL server, to create and drop the test's own database."""
    if url := os.environ.get("DEPLOY_TEST_POSTGRES_URL"):
        return url
    if url := os.environ.get("TEST_DATABASE_URL"):
        return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    return "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (its URL, without a password), dropped afterwards."""
    import asyncpg

    admin = make_url(admin_postgres_url()).set(drivername="postgresql")
    try:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"REQUIRE_POSTGRES is set but PostgreSQL is not reachable: {error}")
        pytest.skip(f"PostgreSQL is not reachable ({error}): the deployment test is skipped")
    name = f"chatbot_deploy_{uuid.uuid4().hex[:12]}"
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(drivername="postgresql+asyncpg", password=None, database=name).render_as_string(
            hide_password=False
        )
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def run(*command: str | Path, env: dict[str, str], cwd: Path, within: float = 120) -> tuple[int, str, str]:
    """A command to its end, without blocking the event loop the fake server runs on."""
    process = await asyncio.create_subprocess_exec(
        *map(str, command), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{command} did not finish within {within} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ready_fake(fake: FakeRocketChat, config: Path) -> None:
    """Everything the configuration names exists on the fake, as on a server set up by the README's steps."""
    fake.settings["Message_AllowUnrecognizedSlashCommand"] = True
    for username in ("camille", "dominique"):  # the example's admin, treasurer and meeting keeper
        fake.add_user(username)
    for name in room_names(load_settings(config)):
        if fake.store.find_room(name) is None:
            fake.add_channel(name, ["bot"])


async def test_deployment_end_to_end(fake_rc: FakeRocketChat, tmp_path: Path) -> None:  # noqa: F811
    started = time.monotonic()
    async with fresh_database() as database_url:
        venv = await deploy_venv(tmp_path)
        installed = time.monotonic()
        state = tmp_path / "state"  # the unit's StateDirectory, the image's /var/lib/chatbot
        state.mkdir()
        config = write_config(tmp_path, fake_rc.url, "sqlite+aiosqlite:///chatbot.db")  # overridden: DATABASE_URL
        port = free_port()
        config.write_text(config.read_text(encoding="utf-8").replace("port = 0", f"port = {port}"), encoding="utf-8")
        ready_fake(fake_rc, config)
        secrets = {
            "DATABASE_PASSWORD": f"pw-{uuid.uuid4().hex}",  # PostgreSQL trusts here: inserted, never shown
            "ROCKETCHAT_USER_ID": fake_rc.store.user("bot").id,
            "ROCKETCHAT_AUTH_TOKEN": fake_rc.bot_token,
            "CALENDAR_TOKEN": f"cal-{uuid.uuid4().hex}",
        }
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env |= secrets | {
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "CHATBOT_CONFIG": str(config),
            "DATABASE_URL": database_url,
        }
        entrypoint = DEPLOY / "entrypoint.sh"
        outputs: list[str] = []

        code, out, err = await run(entrypoint, "db", "upgrade", env=env, cwd=state)
        outputs += [out, err]
        assert code == 0, err
        code, out, err = await run(entrypoint, "db", "status", env=env, cwd=state)
        outputs += [out, err]
        assert code == 0, out + err

        code, out, err = await run(entrypoint, "check", env=env, cwd=state)
        outputs += [out, err]
        assert code == 0, out + err
        assert out.strip().splitlines()[-1] == "Tout est prêt.", out

        stderr_file = tmp_path / "bot.err"
        with stderr_file.open("wb") as stderr:
            bot = await asyncio.create_subprocess_exec(
                str(entrypoint), env=env, cwd=state, stdout=subprocess.PIPE, stderr=stderr
            )
        try:
            assert bot.stdout is not None
            first_lines: list[str] = []
            while not any(READY_LINE.search(line) for line in first_lines):  # after `db upgrade`'s own line
                line = (await asyncio.wait_for(bot.stdout.readline(), 60)).decode(errors="replace")
                assert line, f"the bot stopped: {stderr_file.read_text(errors='replace')[-3000:]}"
                first_lines.append(line)
            assert f":{port}/healthz" in first_lines[-1]

            async def healthy() -> bool:
                code, out, err = await run(venv / "bin" / "python", DEPLOY / "healthcheck.py", env=env, cwd=state)
                outputs.extend([out, err])
                return code == 0

            await wait_for(healthy, within=30, what="deploy/healthcheck.py to report the bot healthy")

            posted = await fake_rc.post_as("alice", "cercle-tech", "/contrib 2h tech Déploiement du bot")
            await wait_for(
                lambda: bool(bot_replies(fake_rc, "cercle-tech").get(posted["_id"])), within=30, what="the reply"
            )
            reply = bot_replies(fake_rc, "cercle-tech")[posted["_id"]][0]["msg"]
            assert "enregistrée" in reply, reply

            async with aiohttp.ClientSession() as http:  # what Traefik publishes
                feed = f"http://127.0.0.1:{port}/calendar/tech.ics"
                async with http.get(feed, params={"token": secrets["CALENDAR_TOKEN"]}) as response:
                    assert response.status == 200
                    assert "BEGIN:VCALENDAR" in await response.text()
                async with http.get(feed) as response:
                    assert response.status == 403

            bot.send_signal(signal.SIGTERM)  # what `docker stop` and `systemctl stop` send
            assert await asyncio.wait_for(bot.wait(), 45) == 0, stderr_file.read_text(errors="replace")[-3000:]
            outputs += first_lines
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        outputs.append(stderr_file.read_text(errors="replace"))
        code, out, err = await run(entrypoint, "db", "status", env=env, cwd=state)
        assert code == 0, out + err

    shown = "\n".join(outputs)
    for name, value in secrets.items():
        if name != "ROCKETCHAT_USER_ID":  # an id, not a secret
            assert value not in shown, f"{name} was printed"
    assert not list(state.glob("chatbot.db*")), "the bot used SQLite instead of DATABASE_URL"
    print(f"deployment test: install {installed - started:.1f} s, the rest {time.monotonic() - installed:.1f} s")


async def deploy_venv(tmp_path: Path) -> Path:
    """A fresh venv made by deploy/install.sh (the image's build step), or this one with DEPLOY_TEST_REUSE_VENV=1."""
    if os.environ.get("DEPLOY_TEST_REUSE_VENV"):
        return Path(sys.prefix)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env["PYTHON"] = getattr(sys, "_base_executable", sys.executable)
    code, out, err = await run(DEPLOY / "install.sh", venv, env=env, cwd=tmp_path, within=600)
    assert code == 0, f"deploy/install.sh failed:\n{out}\n{err[-5000:]}"
    assert (venv / "bin" / "chatbot").exists()
    return venv
