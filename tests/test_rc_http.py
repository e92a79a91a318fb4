"""The bot's REST on the event loop (aiohttp) sorts failures as before: 429 waited out until X-RateLimit-Reset, 5xx
and lost connections retried then `TransientError`, 401 `AuthError`, other refusals `RestError`; a confirmation of
an upload is never repeated blindly. Against the fake server, which validates every request against the OpenAPI
files."""

from __future__ import annotations

import socket
import time

import pytest

from chatbot.transport.rocketchat.rest import AuthError, Credentials, RestClient, RestError, RetryPolicy, TransientError
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import rest_client
from tests.test_rc_rest import proxy, use_proxy  # noqa: F401


def message_for(fake: FakeRocketChat, mid: str) -> dict[str, str]:
    return {"_id": mid, "rid": fake.store.room("cercle-tech").id, "msg": "Bonjour"}


def sample(rest: RestClient, name: str, **labels: str) -> float:
    return rest.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_429_is_waited_out_until_the_reset(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    rest = rest_client(fake_rc)
    fake_rc.faults.throttle_next("chat.sendMessage", 2, reset_in_ms=300)
    started = time.monotonic()
    try:
        await rest.send_message(message_for(fake_rc, "reply-429"))
    finally:
        await rest.close()
    assert time.monotonic() - started >= 0.25  # waited (twice, each until its reset), not retried at once
    assert [r.status for r in fake_rc.requests_to("chat.sendMessage")] == [429, 429, 200]
    assert sample(rest, "chatbot_rest_rate_limit_waits_total", route="chat.sendMessage") == 2
    assert [m["_id"] for m in fake_rc.messages_in("cercle-tech", by="bot")] == ["reply-429"]


async def test_5xx_are_retried_then_given_up_as_transient(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    rest = rest_client(fake_rc)
    await fake_rc.post_as("alice", "cercle-tech", "un message")
    mid = fake_rc.messages_in("cercle-tech")[-1]["_id"]
    try:
        fake_rc.faults.fail_next("chat.getMessage", 2, status=502)
        assert (await rest.get_message(mid))["message"]["_id"] == mid
        assert [r.status for r in fake_rc.requests_to("chat.getMessage")] == [502, 502, 200]

        fake_rc.faults.fail_next("chat.getMessage", 6, status=500)
        with pytest.raises(TransientError):
            await rest.get_message(mid)
        assert len(fake_rc.requests_to("chat.getMessage")) == 3 + 6  # RetryPolicy.attempts
    finally:
        await rest.close()
    assert sample(rest, "chatbot_rest_requests_total", route="chat.getMessage", status="500") == 6


async def test_an_upload_confirmation_is_not_repeated_after_a_5xx(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    rest = rest_client(fake_rc)
    room_id = fake_rc.store.room("cercle-tech").id
    try:
        reply = await rest.upload(room_id, ("liste.csv", b"a;b\n1;2\n", "text/csv"))
        file_id = reply["file"]["_id"]
        fake_rc.faults.lose_answer_next("rooms.mediaConfirm", 1, status=500)
        with pytest.raises(TransientError):
            await rest.confirm_upload(room_id, file_id, msg="La liste")
    finally:
        await rest.close()
    assert len(fake_rc.requests_to("rooms.mediaConfirm")) == 1
    assert len(fake_rc.messages_in("cercle-tech", by="bot")) == 1  # posted once, although the answer was lost


async def test_a_refused_token_is_an_auth_error(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    rest = RestClient(fake_rc.url, Credentials(fake_rc.store.user("bot").id, "not-the-token"))
    try:
        with pytest.raises(AuthError) as refused:
            await rest.send_message(message_for(fake_rc, "reply-401"))
    finally:
        await rest.close()
    assert refused.value.status == 401
    assert len(fake_rc.requests_to("chat.sendMessage")) == 1  # not retried


async def test_a_refusal_carries_the_servers_error(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    rest = rest_client(fake_rc)
    try:
        with pytest.raises(RestError) as refused:
            await rest.direct_room("personne")
    finally:
        await rest.close()
    assert not isinstance(refused.value, AuthError)
    assert refused.value.status == 400 and refused.value.error_type == "error-invalid-user"
    assert len(fake_rc.requests_to("dm.create")) == 1


async def test_a_refused_connection_is_retried_then_transient() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nothing listens there once closed
    rest = RestClient(f"http://127.0.0.1:{port}", Credentials("u", "t"), retry=RetryPolicy(attempts=3, base_delay=0.01))
    try:
        with pytest.raises(TransientError):
            await rest.send_message({"_id": "x", "rid": "r", "msg": "m"})
    finally:
        await rest.close()
    assert sample(rest, "chatbot_rest_requests_total", route="chat.sendMessage", status="error") == 3


async def test_the_hot_path_goes_through_the_proxy_named_by_the_environment(
    fake_rc: FakeRocketChat,  # noqa: F811
    proxy,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_proxy(monkeypatch, proxy)
    rest = rest_client(fake_rc)
    monkeypatch.delenv("HTTP_PROXY")  # read once, when the client was made
    try:
        await rest.send_message(message_for(fake_rc, "reply-proxy"))
    finally:
        await rest.close()
    assert proxy.connections >= 1
    assert [m["_id"] for m in fake_rc.messages_in("cercle-tech", by="bot")] == ["reply-proxy"]
