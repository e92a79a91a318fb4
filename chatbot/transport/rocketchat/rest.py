"""Rocket.Chat REST: the bot's calls on the event loop (aiohttp, see `httpclient`), and `rocketchat_API` in worker
threads for the synchronous ones (password login, `chatbot check`, one-off look-ups at start).

Failures are sorted the same way on both paths (see `failures`): 429 waited out, 5xx and connection errors retried,
401 → `AuthError`, anything else `RestError`; a `TransientError` is for the caller to retry later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbot.metrics import Metrics
from chatbot.transport.rocketchat.failures import (
    AuthError,
    RestError,
    RetryPolicy,
    TransientError,
    backoff,
    rate_limit_delay,
    sorted_attempts,
)
from chatbot.transport.rocketchat.httpclient import HttpClient, Network, Upload

if TYPE_CHECKING:
    from chatbot.transport.rocketchat.threaded import Threaded

__all__ = [
    "AuthError",
    "Credentials",
    "RestClient",
    "RestError",
    "RetryPolicy",
    "TransientError",
    "backoff",
    "rate_limit_delay",
]


@dataclass(frozen=True)
class Credentials:
    user_id: str
    auth_token: str


class RestClient:
    def __init__(self, url: str, credentials: Credentials, *, timeout: float = 15, retry: RetryPolicy | None = None):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.metrics = Metrics()  # the bot's, once the transport sets it
        self.network = Network.from_environment(self.url)  # read once, here
        self.http = HttpClient(
            self.url, self._auth_headers, lambda: self.metrics, self.network, timeout=timeout, retry=self.retry
        )
        self._threaded: Threaded | None = None

    @classmethod
    async def login(
        cls, url: str, username: str, password: str, *, http_timeout: float = 15, retry: RetryPolicy | None = None
    ) -> RestClient:
        """Exchange a username and password for a token through /api/v1/login (the DDP login needs a token)."""
        from chatbot.transport.rocketchat import threaded

        url = url.rstrip("/")
        user_id, token = await threaded.login(
            url, username, password, Network.from_environment(url), http_timeout=http_timeout
        )
        return cls(url, Credentials(user_id=user_id, auth_token=token), timeout=http_timeout, retry=retry)

    def use(self, credentials: Credentials) -> None:
        """A new token (after logging in again), for both paths."""
        self.credentials = credentials
        if self._threaded is not None:
            self._threaded.use(credentials.user_id, credentials.auth_token)

    def _auth_headers(self) -> dict[str, str]:
        if not self.credentials.auth_token:
            return {}
        return {"X-User-Id": self.credentials.user_id, "X-Auth-Token": self.credentials.auth_token}

    async def close(self) -> None:
        await self.http.close()
        if self._threaded is not None:
            await self._threaded.close()

    # --- on the event loop (aiohttp): what the bot does while it runs ---------------------------------------------

    async def get(self, endpoint: str, **params: str) -> Any:
        """A GET on any endpoint (history pages, room members, settings…)."""
        return await self.http.get(endpoint, **params)

    async def send_message(self, message: dict[str, str]) -> Any:
        """`chat.sendMessage` (the message carries its own `_id`, so a repeat is refused, never posted twice)."""
        return await self.http.post("chat.sendMessage", {"message": message})

    async def get_message(self, message_id: str) -> Any:
        return await self.http.get("chat.getMessage", msgId=message_id)

    async def upload(self, room_id: str, upload: Upload) -> Any:
        """`rooms.media`: a temporary upload, shown only once confirmed."""
        return await self.http.upload(f"rooms.media/{room_id}", upload)

    async def confirm_upload(self, room_id: str, file_id: str, **fields: str) -> Any:
        """`rooms.mediaConfirm`, never repeated blindly: each confirmation posts the file again."""
        return await self.http.post(f"rooms.mediaConfirm/{room_id}/{file_id}", dict(fields), once=True)

    async def room_info(self, *, room_id: str | None = None, room_name: str | None = None) -> Any:
        return await self.http.get("rooms.info", **({"roomId": room_id} if room_id else {"roomName": room_name or ""}))

    async def direct_room(self, username: str) -> Any:
        """`dm.create`: opens the direct-message room with a member, or finds it."""
        return await self.http.post("dm.create", {"username": username})

    async def user_info(self, username: str) -> Any:
        return await self.http.get("users.info", username=username)

    async def subscriptions(self) -> Any:
        return await self.http.get("subscriptions.get")

    async def me(self) -> Any:
        """The bot's own account (`me`), as the bot checks it when it starts."""
        return await self.http.get("me")

    # --- in a worker thread (rocketchat_API): login, `chatbot check`, one-off look-ups ----------------------------

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `rocketchat_API.RocketChat.<method>` off the loop, waiting out 429 and retrying transient failures."""
        if self._threaded is None:
            from chatbot.transport.rocketchat.threaded import Threaded

            user_id, token = self.credentials.user_id, self.credentials.auth_token
            self._threaded = Threaded(
                self.url, user_id, token, self.network, lambda: self.metrics, timeout=self.timeout
            )
        return await sorted_attempts(method, self._threaded.attempt(method, args, kwargs), self.retry, self.metrics)
