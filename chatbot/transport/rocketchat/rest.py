"""Rocket.Chat REST through `rocketchat_API`, off the event loop, with one shared HTTP session.

`rocketchat_API` is synchronous (requests): every call runs in a worker thread. Failures are sorted here once:
HTTP 429 is waited out (the `X-RateLimit-Reset` header, epoch milliseconds), 5xx and connection errors are retried
with jittered exponential backoff, 401 becomes `AuthError`, anything else `RestError` carrying the server's
`error`/`errorType`. Callers that must never lose work (the outbox, catch-up) retry a `TransientError` later.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
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

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAIT = 60.0  # seconds; a longer reset is waited in several rounds


class RestError(Exception):
    """The server answered with an error that retrying will not cure."""

    def __init__(self, status: int, error: str, error_type: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {error}" + (f" ({error_type})" if error_type else ""))
        self.status = status
        self.error = error
        self.error_type = error_type


class AuthError(RestError):
    """The credentials were refused (or the token expired)."""


class TransientError(Exception):
    """The server stayed unreachable, overloaded or rate-limiting after every retry: try again later."""


@dataclass(frozen=True)
class Credentials:
    user_id: str
    auth_token: str


@dataclass
class RetryPolicy:
    attempts: int = 6  # for 5xx and connection errors
    base_delay: float = 0.1
    max_delay: float = 5.0
    rate_limit_rounds: int = 30  # how many 429 answers in a row are waited out before giving up


_last = threading.local()


def _remember_response(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    _last.headers = dict(response.headers)
    _last.url = response.url


def _invoke(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Runs in the worker thread, so the failed response's headers (thread-local) can ride on the exception."""
    _last.headers, _last.url = {}, ""
    try:
        result = fn(*args, **kwargs)
        if hasattr(result, "__next__"):  # paginated helpers return generators: drain them here, not on the loop
            result = list(result)
        return result
    except (RocketApiException, RocketBadStatusCodeException) as error:
        error.headers = getattr(_last, "headers", {})
        error.url = getattr(_last, "url", "")
        raise


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


def rate_limit_delay(headers: dict[str, str], now_ms: float | None = None) -> float:
    """Seconds until the limiter resets, from `X-RateLimit-Reset` (epoch ms); 1 s when the header is missing."""
    raw = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    try:
        delay = (float(raw) - now_ms) / 1000 if raw is not None else 1.0
    except ValueError:
        delay = 1.0
    return min(max(delay, 0.05), MAX_RATE_LIMIT_WAIT)


class RestClient:
    def __init__(self, url: str, credentials: Credentials, *, timeout: float = 15, retry: RetryPolicy | None = None):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.session = _session(self.url)
        self.metrics = Metrics()  # the bot's, once the transport sets it
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

    async def close(self) -> None:
        await asyncio.to_thread(self.session.close)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `rocketchat_API.RocketChat.<method>` off the loop, waiting out 429 and retrying transient failures."""
        return await self._call(method, args, kwargs, retry_transient=True)

    async def call_once(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Like `call`, for a request that must not be repeated blindly (`rooms.mediaConfirm` posts again each
        time): a 429 is still waited out (the server did nothing), but a 5xx or a connection error becomes a
        `TransientError` at once, since the server may have done the work before failing."""
        return await self._call(method, args, kwargs, retry_transient=False)

    async def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, retry_transient: bool) -> Any:
        fn = getattr(self.api, method)
        attempts = self.retry.attempts if retry_transient else 1
        failures = 0
        limited = 0
        while True:
            try:
                return await asyncio.to_thread(_invoke, fn, args, kwargs)
            except (RocketApiException, RocketBadStatusCodeException) as error:
                status = error.status_code
                headers: dict[str, str] = getattr(error, "headers", {})
                if status == 429:
                    limited += 1
                    if limited > self.retry.rate_limit_rounds:
                        raise TransientError(f"{method}: still rate limited") from error
                    delay = rate_limit_delay(headers)
                    self.metrics.rate_limit_wait(getattr(error, "url", "") or method, delay)
                    log.info("%s: rate limited, waiting %.2f s", method, delay)
                    await asyncio.sleep(delay)
                    continue
                if status >= 500:
                    failures += 1
                    if failures >= attempts:
                        raise TransientError(f"{method}: HTTP {status}") from error
                    await asyncio.sleep(backoff(failures, self.retry.base_delay, self.retry.max_delay))
                    continue
                body = error.response_json if isinstance(error.response_json, dict) else {}
                message = str(body.get("error") or body.get("message") or error.response)[:500]
                error_class = AuthError if status == 401 else RestError
                raise error_class(status, message, body.get("errorType")) from error
            except requests.RequestException as error:
                self.metrics.rest_answer(getattr(error.request, "url", None) or method, "error")
                failures += 1
                if failures >= attempts:
                    raise TransientError(f"{method}: {error}") from error
                await asyncio.sleep(backoff(failures, self.retry.base_delay, self.retry.max_delay))

    def _answered(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Every HTTP answer, in the worker thread that got it: counted by route and status."""
        self.metrics.rest_answer(response.url, response.status_code)

    async def get(self, endpoint: str, **params: Any) -> Any:
        """A GET on any endpoint `rocketchat_API` has no helper for (values must already be URL-safe strings)."""
        return await self.call("call_api_get", endpoint, **params)


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
