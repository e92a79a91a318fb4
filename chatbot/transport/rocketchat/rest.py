"""Rocket.Chat REST: the bot's calls on the event loop (aiohttp, see `httpclient`), and `rocketchat_API` in worker
threads for the synchronous ones (password login, `chatbot check`, one-off look-ups at start).

Failures are sorted the same way on both paths (see `failures`): 429 waited out, 5xx and connection errors retried,
401 → `AuthError`, anything else `RestError`; a `TransientError` is for the caller to retry later.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
    RocketBadStatusCodeException,
    RocketConnectionException,
)
from rocketchat_API.rocketchat import RocketChat

from chatbot.metrics import Metrics
from chatbot.transport.rocketchat.failures import (
    AuthError,
    Refused,
    RestError,
    RetryPolicy,
    TransientError,
    Unreachable,
    backoff,
    rate_limit_delay,
    sorted_attempts,
)
from chatbot.transport.rocketchat.httpclient import HttpClient, Upload

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


_last = threading.local()


def _remember_response(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    _last.headers = dict(response.headers)
    _last.url = response.url


def _invoke(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], metrics: Metrics) -> Any:
    """Runs in the worker thread, so the failed response's headers (thread-local) can ride on the exception."""
    _last.headers, _last.url = {}, ""
    try:
        result = fn(*args, **kwargs)
        if hasattr(result, "__next__"):  # paginated helpers return generators: drain them here, not on the loop
            result = list(result)
        return result
    except (RocketApiException, RocketBadStatusCodeException) as error:
        body = error.response_json if isinstance(getattr(error, "response_json", None), dict) else error.response
        raise Refused(error.status_code, body, getattr(_last, "headers", {}), getattr(_last, "url", "")) from error
    except requests.RequestException as error:
        metrics.rest_answer(str(getattr(error.request, "url", None) or getattr(fn, "__name__", "?")), "error")
        raise Unreachable(str(error)) from error


class RestClient:
    def __init__(self, url: str, credentials: Credentials, *, timeout: float = 15, retry: RetryPolicy | None = None):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.metrics = Metrics()  # the bot's, once the transport sets it
        self.http = HttpClient(self.url, self._auth_headers, lambda: self.metrics, timeout=timeout, retry=self.retry)
        self.session = _session(self.url)
        self.session.hooks["response"].append(self._answered)
        self.api = RocketChat(
            auth_token=credentials.auth_token,
            user_id=credentials.user_id,
            server_url=self.url,
            session=self.session,
            timeout=timeout,
        )

    @classmethod
    async def login(
        cls, url: str, username: str, password: str, *, http_timeout: float = 15, retry: RetryPolicy | None = None
    ) -> RestClient:
        """Exchange a username and password for a token through /api/v1/login (the DDP login needs a token)."""
        session = _session(url)

        def login() -> Credentials:
            api = RocketChat(server_url=url.rstrip("/"), session=session, timeout=http_timeout)
            try:
                api.login(username, password)
            except RocketAuthenticationException as error:
                raise AuthError(401, "login refused") from error
            except RocketConnectionException as error:
                raise TransientError("login failed") from error
            return Credentials(user_id=api.headers["X-User-Id"], auth_token=api.headers["X-Auth-Token"])

        try:
            credentials = await asyncio.to_thread(login)
        except requests.RequestException as error:
            raise TransientError(f"server unreachable: {error}") from error
        finally:
            session.close()
        return cls(url, credentials, timeout=http_timeout, retry=retry)

    def use(self, credentials: Credentials) -> None:
        """A new token (after logging in again), for both paths."""
        self.credentials = credentials
        self.api.headers.update({"X-User-Id": credentials.user_id, "X-Auth-Token": credentials.auth_token})

    def _auth_headers(self) -> dict[str, str]:
        if not self.credentials.auth_token:
            return {}
        return {"X-User-Id": self.credentials.user_id, "X-Auth-Token": self.credentials.auth_token}

    async def close(self) -> None:
        await self.http.close()
        await asyncio.to_thread(self.session.close)

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

    # --- in a worker thread (rocketchat_API): login, `chatbot check`, one-off look-ups ----------------------------

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `rocketchat_API.RocketChat.<method>` off the loop, waiting out 429 and retrying transient failures."""
        fn = getattr(self.api, method)
        attempt = functools.partial(asyncio.to_thread, _invoke, fn, args, kwargs, self.metrics)
        return await sorted_attempts(method, attempt, self.retry, self.metrics)

    def _answered(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Every HTTP answer, in the worker thread that got it: counted by route and status."""
        self.metrics.rest_answer(response.url, response.status_code)


def _session(url: str) -> requests.Session:
    """One HTTP session for every call. The environment (`HTTPS_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE`…) is read
    once, here, rather than by requests at every call, which cost about a fifth of each reply's sending."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    session.hooks["response"].append(_remember_response)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
