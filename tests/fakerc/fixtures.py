"""Pytest fixtures for the fake Rocket.Chat. Import them into a test module or conftest::

    from tests.fakerc.fixtures import fake_rc  # noqa: F401

``fake_rc`` is a started server with a bot user (role ``bot``, password ``bot-password``, a personal access token
in ``fake_rc.bot_token``), members alice, bob and carol, a public channel ``cercle-tech`` and a private group
``cercle-tech-prive`` (everyone in both), and a fast keepalive (ping every 0.5 s). At teardown it asserts that no
request broke the OpenAPI files: a non-conforming request fails the test that sent it. Without the files (see
``openapi.locate``) requests are not checked, and the test session's header says so once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .server import FakeRocketChat

MEMBERS = ("alice", "bob", "carol")


async def populated(fake: FakeRocketChat) -> FakeRocketChat:
    fake.add_user("bot", name="Optéos Bot", roles=["bot"], password="bot-password")
    for username in MEMBERS:
        fake.add_user(username, password=f"{username}-password")
    fake.bot_token = fake.token_for("bot")
    fake.add_channel("cercle-tech", ["bot", *MEMBERS])
    fake.add_group("cercle-tech-prive", ["bot", *MEMBERS])
    return fake


def assert_no_violations(fake: FakeRocketChat) -> None:
    if fake.violations:
        listing = "\n".join(f"  - {v}" for v in fake.violations)
        pytest.fail(f"requests that do not conform to Rocket.Chat's OpenAPI files:\n{listing}", pytrace=False)


@pytest.fixture
async def fake_rc() -> AsyncIterator[FakeRocketChat]:
    async with FakeRocketChat(ping_interval=0.5, ping_timeout=0.5) as fake:
        await populated(fake)
        yield fake
    assert_no_violations(fake)
