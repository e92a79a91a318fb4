"""The real bot without a chat server: lines typed (or piped) on stdin, replies on stdout.

`:as USERNAME` and `:room ROOM` switch who is typing and where; a room is a channel name or `@bot` for a direct
message. Posts the bot makes to another room are printed behind that room's name.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from chatbot.config import Settings, account_key, is_username
from chatbot.messages import Catalogue
from chatbot.text import visible
from chatbot.transport.base import Author, Handler, IncomingMessage, Outgoing, Room, RoomKind

DIRECT = "@bot"


class ConsoleTransport:
    def __init__(
        self,
        settings: Settings,
        t: Catalogue,
        *,
        user: str,
        room: str,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        export_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.t = t
        self.user = _username(user) or "membre"
        self.room = self._room(room)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.export_dir = export_dir or Path(settings.budget.export_dir)
        self.interactive = self.stdin.isatty()

    def _room(self, name: str) -> Room:
        name = name.strip()
        if (name.lstrip("@").casefold() in ("bot", "dm", "direct") and name.startswith("@")) or not name:
            return Room(id="console:dm", name=DIRECT, kind=RoomKind.DIRECT)
        name = name.lstrip("#")
        private = any(c.private_channel == name for c in self.settings.circles)
        return Room(id=f"console:{name}", name=name, kind=RoomKind.GROUP if private else RoomKind.CHANNEL)

    async def run(self, handler: Handler) -> None:
        if self.interactive:
            self._print(self.t("console.welcome", user=self.user, room=self._room_label()))
        while True:
            line = await self._read_line()
            if line is None:
                return
            line = line.strip()
            if not line:
                continue
            if line in (":q", ":quit", ":exit"):
                return
            if line.startswith(":"):
                self._meta(line)
                continue
            message = IncomingMessage(
                id=uuid.uuid4().hex,
                room=self.room,
                author=Author(id=f"console:{account_key(self.user)}", username=self.user),
                text=line,
                ts=datetime.now(UTC),
            )
            for outgoing in await handler(message):
                await self.send(outgoing)

    async def _read_line(self) -> str | None:
        if self.interactive:
            prompt = self.t("console.prompt", user=self.user, room=self._room_label())
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None
        line = await asyncio.to_thread(self.stdin.readline)
        return line if line else None

    def _meta(self, line: str) -> None:
        command, _, value = line.partition(" ")
        value = value.strip()
        if command == ":as" and value:
            self.user = _username(value) or self.user
            self._print(self.t("console.now_user", user=self.user))
        elif command == ":room" and value:
            self.room = self._room(value)
            self._print(self.t("console.now_room", room=self._room_label()))
        else:
            self._print(self.t("console.meta_help"))

    def _room_label(self) -> str:
        return DIRECT if self.room.kind is RoomKind.DIRECT else f"#{self.room.name}"

    async def room_members(self, room: Room) -> list[Author] | None:
        return None  # the console has no member list; features fall back on the members the bot knows

    async def deliver(self, messages: list[Outgoing]) -> None:
        for message in messages:
            await self.send(message)

    async def send(self, message: Outgoing) -> None:
        text = visible(message.text)
        if message.is_reply:
            self._print(text)
        else:
            where = message.room_name if (message.room_name or "").startswith("@") else f"#{message.room_name}"
            self._print("\n".join(f"[{where}] {line}" for line in text.splitlines()))
        for attachment in message.attachments:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / attachment.filename
            path.write_bytes(attachment.content)
            self._print(self.t("console.file_written", path=str(path)))

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def _username(typed: str) -> str:
    """The account typed after `--as` or `:as`, as written (a look-alike is another account: nothing is folded);
    empty when it is no username (a space inside). One account whatever the case of A-Z, as on Rocket.Chat."""
    name = typed.strip().removeprefix("@")
    return name if is_username(name) else ""
