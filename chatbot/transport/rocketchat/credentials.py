"""The bot's Rocket.Chat credentials, from the environment only (never from the configuration file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chatbot.transport.rocketchat.rest import Credentials, RestClient, RetryPolicy


@dataclass(frozen=True)
class Secrets:
    token: Credentials | None = None
    username: str | None = None
    password: str | None = None

    @property
    def present(self) -> bool:
        return self.token is not None or (self.username is not None and self.password is not None)


def from_environment(env: Mapping[str, str] | None = None) -> Secrets:
    env = os.environ if env is None else env
    user_id, auth_token = env.get("ROCKETCHAT_USER_ID"), env.get("ROCKETCHAT_AUTH_TOKEN")
    if user_id and auth_token:
        return Secrets(token=Credentials(user_id=user_id, auth_token=auth_token))
    username, password = env.get("ROCKETCHAT_USER"), env.get("ROCKETCHAT_PASSWORD")
    if username and password:
        return Secrets(username=username, password=password)
    return Secrets()


async def connect(url: str, secrets: Secrets, retry: RetryPolicy | None = None) -> RestClient:
    """A REST client with a token: the personal access token, or one obtained by logging in with the password."""
    if secrets.token is not None:
        return RestClient(url, secrets.token, retry=retry)
    assert secrets.username is not None and secrets.password is not None
    return await RestClient.login(url, secrets.username, secrets.password, retry=retry)
