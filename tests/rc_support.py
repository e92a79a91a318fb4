"""Helpers for tests that run the real bot process (`python -m chatbot run`) against the fake Rocket.Chat."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from chatbot.app import Bot
from chatbot.db.models import OutboxMessage
from chatbot.transport.rocketchat.outbox import OutboxSender
from chatbot.transport.rocketchat.rest import Credentials, RestClient, RetryPolicy
from tests.fakerc.server import FakeRocketChat

ROOT = Path(__file__).resolve().parents[1]
READY_LINE = re.compile(r":(\d+)/healthz")


def rest_client(fake: FakeRocketChat) -> RestClient:
    """The bot's REST client on the fake, retrying quickly."""
    credentials = Credentials(user_id=fake.store.user("bot").id, auth_token=fake.bot_token)
    return RestClient(fake.url, credentials, retry=RetryPolicy(base_delay=0.01, max_delay=0.05))


async def resolve_room(fake: FakeRocketChat, name: str) -> str | None:
    """Room name → id on the fake (the outbox sender's resolver)."""
    room = fake.store.find_room(name)
    return room.id if room else None


async def deliver_all(sender: OutboxSender) -> None:
    """Deliver rounds until the outbox has nothing more pending."""
    while await sender.deliver_pending():
        pass


async def rows(bot: Bot) -> list[OutboxMessage]:
    """The outbox rows, oldest first."""
    async with bot.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def write_config(directory: Path, rc_url: str, database_url: str, **rocketchat: str) -> Path:
    """The example configuration, pointed at the fake server and the test database; health on a free port."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('url = "http://localhost:3000"', f'url = "{rc_url}"', 1)
    text = text.replace('url = "sqlite+aiosqlite:///chatbot.db"', f'url = "{database_url}"', 1)
    text = text.replace("port = 8080", "port = 0", 1)
    for key, value in rocketchat.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def enlarge_envelopes(config: Path, circles: list[str], amount: int = 10_000_000) -> None:
    """Give these circles' envelopes `amount` euros in a written configuration: a load that must not overrun them
    (an overrun adds a warning post to each reply)."""
    text = config.read_text(encoding="utf-8")
    for circle in circles:
        text, found = re.subn(rf'(circle = "{re.escape(circle)}"\namount = )\d+', rf"\g<1>{amount}", text, count=1)
        assert found, f"no envelope for {circle} in {config}"
    config.write_text(text, encoding="utf-8")


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 30.0, what: str = "condition"
) -> None:
    """Poll until `condition` holds, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


class BotProcess:
    """The bot as a real subprocess, as a supervisor would run it."""

    def __init__(
        self,
        fake: FakeRocketChat,
        config: Path,
        workdir: Path,
        database_url: str | None = None,
        *,
        password: bool = False,
    ) -> None:
        self.fake = fake
        self.config = config
        self.workdir = workdir
        self.database_url = database_url
        self.process: asyncio.subprocess.Process | None = None
        self.health_port: int | None = None
        self.starts = 0
        self.password = password  # log in with ROCKETCHAT_USER/ROCKETCHAT_PASSWORD instead of a token

    async def start(self, *, within: float = 20.0, standby: bool = False) -> None:
        """Start the process; wait for its websocket, or (`standby`) for it to report itself a standby."""
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        for key in ("ROCKETCHAT_USER_ID", "ROCKETCHAT_AUTH_TOKEN", "ROCKETCHAT_USER", "ROCKETCHAT_PASSWORD"):
            env.pop(key, None)
        if self.password:
            env["ROCKETCHAT_USER"], env["ROCKETCHAT_PASSWORD"] = "bot", "bot-password"
        else:
            env["ROCKETCHAT_USER_ID"] = self.fake.store.user("bot").id
            env["ROCKETCHAT_AUTH_TOKEN"] = self.fake.bot_token
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        self.starts += 1
        stderr = (self.workdir / f"bot-{self.starts}.err").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatbot",
            "run",
            "--config",
            str(self.config),
            cwd=self.workdir,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
        except TimeoutError:
            raise AssertionError(f"bot did not start: {self.stderr()[-2000:]}") from None
        match = READY_LINE.search(line.decode())
        assert match, f"unexpected first line {line!r}; stderr: {self.stderr()[-2000:]}"
        self.health_port = int(match.group(1))
        if standby:
            await wait_for(self.is_standby, within=within, what="the bot to wait as a standby")
            return
        await wait_for(self.websocket_ready, within=within, what="the bot's websocket")

    def stderr(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("bot-*.err")))

    async def health(self) -> tuple[int, dict[str, Any]]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{self.health_port}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as r,
        ):
            return r.status, await r.json()

    async def role(self) -> str | None:
        with contextlib.suppress(OSError, TimeoutError):
            return (await self.health())[1].get("role")
        return None

    async def is_standby(self) -> bool:
        return await self.role() == "standby"

    async def websocket_ready(self) -> bool:
        with contextlib.suppress(OSError, TimeoutError):
            return (await self.health())[1].get("websocket") is True
        return False

    async def kill(self) -> None:
        """SIGKILL: no goodbye, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            # A graceful stop may wait for a REST call already in flight in a worker thread (its timeout is 15 s).
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


def bot_replies(fake: FakeRocketChat, room: str) -> dict[str, list[dict[str, Any]]]:
    """The bot's messages of a room, by the thread (command) they answer."""
    replies: dict[str, list[dict[str, Any]]] = {}
    for message in fake.messages_in(room, by="bot"):
        replies.setdefault(message.get("tmid") or "", []).append(message)
    return replies


def postgres_via(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


class TcpProxy:
    """A loopback TCP relay (to the database, or to the fake server as an HTTP proxy) that a test can cut
    (connections reset, new ones refused) and restore; `connections` counts the connections it accepted."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}
