"""How a Rocket.Chat REST failure is sorted, whichever HTTP client met it.

HTTP 429 is waited out (the `X-RateLimit-Reset` header, epoch milliseconds), 5xx and connection errors are retried
with jittered exponential backoff, 401 becomes `AuthError`, anything else `RestError` carrying the server's
`error`/`errorType`. Callers that must never lose work (the outbox, catch-up) retry a `TransientError` later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class RetryPolicy:
    attempts: int = 6  # for 5xx and connection errors
    base_delay: float = 0.1
    max_delay: float = 5.0
    rate_limit_rounds: int = 30  # how many 429 answers in a row are waited out before giving up


@dataclass
class Refused(Exception):
    """One attempt's error answer, as the client got it (before sorting)."""

    status: int
    body: Any = None  # the decoded JSON, or the text
    headers: dict[str, str] = field(default_factory=dict)
    url: str = ""


class Unreachable(Exception):
    """One attempt got no answer (connection refused or reset, timeout)."""


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


async def sorted_attempts(
    what: str,
    attempt: Callable[[], Awaitable[Any]],
    retry: RetryPolicy,
    metrics: Metrics,
    *,
    retry_transient: bool = True,
) -> Any:
    """Run `attempt` until it succeeds or its failure is sorted. Without `retry_transient` (a request that must not
    be repeated blindly: the server may have done the work before failing) a 5xx or a lost connection becomes a
    `TransientError` at once; a 429 is still waited out (the server did nothing)."""
    attempts = retry.attempts if retry_transient else 1
    failures = 0
    limited = 0
    while True:
        try:
            return await attempt()
        except Refused as error:
            status = error.status
            if status == 429:
                limited += 1
                if limited > retry.rate_limit_rounds:
                    raise TransientError(f"{what}: still rate limited") from error
                delay = rate_limit_delay(error.headers)
                metrics.rate_limit_wait(error.url or what, delay)
                log.info("%s: rate limited, waiting %.2f s", what, delay)
                await asyncio.sleep(delay)
                continue
            if status >= 500:
                failures += 1
                if failures >= attempts:
                    raise TransientError(f"{what}: HTTP {status}") from error
                await asyncio.sleep(backoff(failures, retry.base_delay, retry.max_delay))
                continue
            body = error.body if isinstance(error.body, dict) else {}
            message = str(body.get("error") or body.get("message") or error.body or "")[:500]
            error_class = AuthError if status == 401 else RestError
            raise error_class(status, message, body.get("errorType")) from error
        except Unreachable as error:
            failures += 1
            if failures >= attempts:
                raise TransientError(f"{what}: {error}") from error
            await asyncio.sleep(backoff(failures, retry.base_delay, retry.max_delay))
