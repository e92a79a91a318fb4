"""The calendar token never reaches the logs: aiohttp logs the start of a request it refuses (a request line over
8,190 bytes, a malformed one), traceback included, and the token is in that URL."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestServer

from chatbot.web import TokenRedactor
from tests.conftest import CALENDAR_TOKEN

TOKEN = CALENDAR_TOKEN


async def raw_request(server: TestServer, request: bytes) -> bytes:
    """Send bytes as they are (no client would send these) and read the answer until the server closes."""
    assert server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the records would print: message, arguments, exception and its traceback."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


REQUESTS = {
    "line too long, token in the path": b"GET /calendar/%s/tech.ics?pad=%s HTTP/1.1\r\nHost: x\r\n\r\n",
    "line too long, token in the query": b"GET /calendar/tech.ics?token=%s&pad=%s HTTP/1.1\r\nHost: x\r\n\r\n",
    "header too long": b"GET /calendar/%s/tech.ics HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n",
    "bad method": b"G\x01T /calendar/%s/tech.ics?%s HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"GET /calendar/%s/tech.ics?%s HTTP/9.Z\r\n\r\n",
}


@pytest.mark.parametrize("case", list(REQUESTS))
async def test_refused_requests_log_no_token(server: TestServer, caplog: pytest.LogCaptureFixture, case: str) -> None:
    caplog.set_level(logging.DEBUG)
    request = REQUESTS[case] % (TOKEN.encode(), b"x" * 9000)
    answer = await raw_request(server, request)
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"), answer[:200]
    await asyncio.sleep(0.05)  # the server logs after answering
    text = logged(caplog)
    assert caplog.records, "aiohttp logged nothing: the test no longer exercises the logging"
    assert TOKEN not in text, text[:2000]
    assert TOKEN[:8] not in text  # not even its start


async def test_the_feed_still_works_with_the_filter(server: TestServer) -> None:
    answer = await raw_request(
        server, b"GET /calendar/%s/tech.ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % TOKEN.encode()
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_redactor_masks_any_calendar_path_and_token_parameter() -> None:
    redact = TokenRedactor()
    redact.known.add("known-token")
    assert redact("GET /calendar/abc123/tech.ics") == "GET /calendar/***/tech.ics"
    assert redact("/calendar/all.ics?token=abc123&x=1") == "/calendar/all.ics?token=***&x=1"
    assert redact("b'GET /calendar/abc1") == "b'GET /calendar/***"  # cut in the middle of the token
    assert redact("... known-token ...") == "... *** ..."
    assert redact("/calendar/tech.ics") == "/calendar/tech.ics"  # no token: nothing to hide
