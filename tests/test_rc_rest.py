"""The REST client's HTTP session: the environment (proxies) is read once, when the client is made."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from yarl import URL

from chatbot.transport.rocketchat.rest import RestClient
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import TcpProxy, rest_client

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture
async def proxy(fake_rc: FakeRocketChat) -> AsyncIterator[TcpProxy]:  # noqa: F811
    """A plain-HTTP proxy in front of the fake server (a relay: the fake reads the absolute-form request)."""
    url = URL(fake_rc.url)
    relay = TcpProxy(url.host or "127.0.0.1", url.port or 80)
    await relay.start()
    yield relay
    await relay.close()


def use_proxy(monkeypatch: pytest.MonkeyPatch, proxy: TcpProxy, *, no_proxy: str | None = None) -> None:
    """The environment names `proxy` for HTTP (and `no_proxy`, if given); the machine's own settings, in either
    case (lower case wins in urllib), are set aside."""
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)


async def whoami(rest: RestClient) -> str:
    """`me` through the client, which is closed afterwards."""
    try:
        return str((await rest.call("me"))["username"])
    finally:
        await rest.close()


async def test_calls_go_through_the_proxy_named_by_the_environment(
    fake_rc: FakeRocketChat,  # noqa: F811
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_proxy(monkeypatch, proxy)
    rest = rest_client(fake_rc)
    monkeypatch.delenv("HTTP_PROXY")  # read once, when the client was made
    assert await whoami(rest) == "bot"
    assert proxy.connections >= 1


async def test_no_proxy_is_honoured(
    fake_rc: FakeRocketChat,  # noqa: F811
    proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_proxy(monkeypatch, proxy, no_proxy="127.0.0.1,localhost")
    assert await whoami(rest_client(fake_rc)) == "bot"
    assert proxy.connections == 0
