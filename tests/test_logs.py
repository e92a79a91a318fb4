"""Logs: one line per handled command (its id, family, outcome and time, never its text), and the JSON format for log
shippers, with secrets masked as in the text format."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatbot.app import Bot
from chatbot.cli import RedactingFormatter, Redactor
from chatbot.logs import JsonFormatter
from chatbot.web import TOKEN_FILTER
from tests.conftest import Chat, message
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, bot_replies, wait_for, write_config

SECRET_TEXT = "Relecture du dossier confidentiel"


def command_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "chatbot.commands"]


async def test_one_line_per_command_with_its_outcome_and_never_its_text(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatbot.commands")
    chat = Chat(bot)
    ok = message(f"/contrib 2h tech {SECRET_TEXT}", user="alice", message_id="m-ok")
    refused = message(f"/contrib 3h inconnue {SECRET_TEXT}", user="alice", message_id="m-refused")
    plain = message("bonjour tout le monde", user="alice", room_name="cercle-tech", message_id="m-chat")
    replies = await bot.handle_many([ok, refused, plain])
    assert "enregistrée" in replies[0][0].text and "enregistrée" not in replies[1][0].text
    await chat.send("/budget", message_id="m-budget")
    await chat.send("/budget", message_id="m-budget")  # a replay: nothing handled, nothing logged

    records = command_records(caplog)
    assert [r.message_id for r in records] == ["m-ok", "m-refused", "m-budget"]  # type: ignore[attr-defined]
    first, second, third = records
    assert (first.family, first.outcome) == ("contrib", "ok")  # type: ignore[attr-defined]
    assert (second.family, second.outcome) == ("contrib", "refused")  # type: ignore[attr-defined]
    assert second.error_key == "envelope_required"  # type: ignore[attr-defined]
    assert not hasattr(first, "error_key")
    assert (third.family, third.outcome) == ("budget", "ok")  # type: ignore[attr-defined]
    for record in records:
        assert record.levelno == logging.INFO
        assert isinstance(record.ms, float) and record.ms >= 0  # type: ignore[attr-defined]
        line = record.getMessage()
        assert line.startswith(f"command message_id={record.message_id} family=")  # type: ignore[attr-defined]
        assert f"outcome={record.outcome}" in line and "ms=" in line  # type: ignore[attr-defined]
        everything = line + json.dumps({k: str(v) for k, v in record.__dict__.items()})
        assert SECRET_TEXT not in everything and "Relecture" not in everything and "alice" not in everything
    assert f"error_key={second.error_key}" in second.getMessage()  # type: ignore[attr-defined]


def _record(msg: str, *args: Any, exc: BaseException | None = None, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("chatbot.test")
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra)


def test_json_lines_carry_the_fields_and_mask_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROCKETCHAT_AUTH_TOKEN", 'tok-"quoted"-secret')
    url = "postgresql+asyncpg://bot:pa55-word@db.example.org/coop"
    redact = Redactor([url])
    formatter = JsonFormatter(redact)
    token = os.environ["ROCKETCHAT_AUTH_TOKEN"]  # a traceback shows the source line: not the secret itself
    try:
        raise RuntimeError(f"cannot connect to {url} with {token}")
    except RuntimeError as error:
        failure = error
    record = _record(
        "connecting to %s", url, exc=failure, message_id="m-1", ms=1.5, nested={"url": url}, family="contrib"
    )
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "chatbot.test"
    assert entry["time"].endswith("Z") and entry["time"][:4].isdigit()
    assert entry["message"] == "connecting to postgresql+asyncpg://bot:***@db.example.org/coop"
    assert entry["message_id"] == "m-1" and entry["ms"] == 1.5 and entry["family"] == "contrib"
    assert entry["nested"] == {"url": "postgresql+asyncpg://bot:***@db.example.org/coop"}
    assert "RuntimeError" in entry["exception"] and "***" in entry["exception"]
    assert "pa55-word" not in line and "quoted" not in line
    # The text format masks the same record the same way.
    text = RedactingFormatter(redact, "%(levelname)s %(message)s").format(_record("connecting to %s", url))
    assert text == "WARNING connecting to postgresql+asyncpg://bot:***@db.example.org/coop"


def test_the_calendar_token_filter_applies_to_json_lines() -> None:
    TOKEN_FILTER.redact.known.add("cal-token-123456")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("aiohttp.server")
    logger.addHandler(handler)
    logger.addFilter(TOKEN_FILTER)
    try:
        try:
            raise ValueError("bad request line GET /calendar/cal-token-123456/tech.ics")
        except ValueError:
            logger.error("Error handling request to /calendar/%s/all.ics", "cal-token-123456", exc_info=True)
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "Error handling request to /calendar/***/all.ics"
    assert "/calendar/***/tech.ics" in entry["exception"]
    assert "cal-token-123456" not in stream.getvalue()


CALENDAR_TOKEN = "cal-Zq81-secret-token-value"


async def raw_request(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


async def test_chatbot_run_logs_json_at_info_with_secrets_masked(
    fake_rc: FakeRocketChat,  # noqa: F811
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real process: `LOG_FORMAT=json`, no level given (INFO for `run`). Every line of its stderr is a JSON
    object; the command's line has its fields and not its text; a request carrying the calendar token, which
    aiohttp logs with a traceback, is logged masked; /metrics on the same port counts the command."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setenv("CALENDAR_TOKEN", CALENDAR_TOKEN)
    process = BotProcess(fake_rc, write_config(tmp_path, fake_rc.url, database_url), tmp_path)
    try:
        await process.start()
        assert process.health_port is not None
        posted = await fake_rc.post_as("alice", "cercle-tech", f"/contrib 1h tech {SECRET_TEXT}")
        await wait_for(lambda: bool(bot_replies(fake_rc, "cercle-tech").get(posted["_id"])), what="the reply")
        answer = await raw_request(
            process.health_port,
            b"GET /calendar/%s/tech.ics?pad=%s HTTP/1.1\r\nHost: x\r\n\r\n" % (CALENDAR_TOKEN.encode(), b"x" * 9000),
        )
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:100]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{process.health_port}/metrics") as response,
        ):
            assert response.status == 200
            metrics = await response.text()
        await asyncio.sleep(0.2)  # aiohttp logs after answering
    finally:
        assert await process.stop() == 0
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    handled = {tuple(sorted(s.labels.items())): s.value for s in families["chatbot_commands"].samples}
    assert handled[(("family", "contrib"), ("outcome", "ok"))] == 1
    assert any(s.labels.get("route") == "chat.sendMessage" for s in families["chatbot_rest_requests"].samples)

    stderr = process.stderr()
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert entries, "nothing logged"
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert {e["level"] for e in entries} <= {"INFO", "WARNING", "ERROR"}  # INFO by default: no DEBUG
    assert any(e["logger"].endswith("ddp") and e["message"].startswith("DDP ready") for e in entries)
    commands = [e for e in entries if e["logger"] == "chatbot.commands"]
    assert len(commands) == 1
    assert commands[0]["message_id"] == posted["_id"]
    assert (commands[0]["family"], commands[0]["outcome"]) == ("contrib", "ok")
    assert isinstance(commands[0]["ms"], float)
    refused = [e for e in entries if e["logger"] == "aiohttp.server"]
    assert refused and "/calendar/***" in json.dumps(refused)
    assert CALENDAR_TOKEN not in stderr and CALENDAR_TOKEN[:12] not in stderr
    assert fake_rc.bot_token not in stderr
    assert SECRET_TEXT not in stderr
