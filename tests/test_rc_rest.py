"""The REST client's HTTP session: the environment (proxies) is read once, when the client is made."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from yarl import URL

from chatbot.transport.rocketchat.rest import Credentials, RestClient
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import TcpProxy


def client(fake: FakeRocketChat) -> RestClient:
    return RestClient(fake.url, Credentials(fake.store.user("bot").id, fake.bot_token))


@pytest.fixture
async def proxy(fake_rc: FakeRocketChat) -> AsyncIterator[TcpProxy]:  # noqa: F811
    """A plain-HTTP proxy in front of the fake server (a relay: the fake reads the absolute-form request)."""
    url = URL(fake_rc.url)
    relay = TcpProxy(url.host or "127.0.0.1", url.port or 80)
    await relay.start()
    yield relay
    await relay.close()


async def test_calls_go_through_the_proxy_named_by_the_environment(
    fake_rc: FakeRocketChat,  # noqa: F811
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    rest = client(fake_rc)
    monkeypatch.delenv("HTTP_PROXY")  # read once, when the client was made
    try:
        me = await rest.call("me")
        assert me["username"] == "bot"
        assert proxy.connections >= 1
    finally:
        await rest.close()


async def test_no_proxy_is_honoured(
    fake_rc: FakeRocketChat,  # noqa: F811
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    rest = client(fake_rc)
    try:
        assert (await rest.call("me"))["username"] == "bot"
        assert proxy.connections == 0
    finally:
        await rest.close()
