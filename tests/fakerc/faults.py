"""Fault injection: what a real Rocket.Chat (or the network in front of it) does to a bot on a bad day.

Every fault is explicit and counted, so a test says exactly what goes wrong and when: "the next 3 calls to
``chat.sendMessage`` answer 429", not "the server is flaky". Rate limiting comes in two forms: an injected burst of
429s, and an emulation of Rocket.Chat's own limiter (N calls per window per route and client, ``bot`` role
exempt by default, as the ``API_Enable_Rate_Limiter*`` settings and ``rate-limiter-bypass`` permission make it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class RateLimitAnswer:
    limit: int
    remaining: int
    reset_ms: int  # epoch milliseconds, as X-RateLimit-Reset carries it

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_ms),
        }

    def seconds_left(self) -> int:
        return max(1, round((self.reset_ms - time.time() * 1000) / 1000))


@dataclass
class _Limiter:
    calls: int
    window_s: float
    bypass_bot: bool
    windows: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)  # (route, client) -> (start, n)


@dataclass
class Faults:
    """The switches. ``FakeRocketChat.faults`` is one of these; tests flip them directly or through helpers."""

    logins_refused: bool = False
    ddp_pongs_withheld: bool = False  # the server stops answering client pings
    delay_s: dict[str, float] = field(default_factory=dict)  # route ("*" for all) -> seconds
    _status: dict[str, list[int]] = field(default_factory=dict)  # route -> pending error statuses
    _throttled: dict[str, list[int]] = field(default_factory=dict)  # route -> pending 429 windows (ms)
    _lost: dict[str, list[int]] = field(default_factory=dict)  # route -> statuses replacing done requests' answers
    _limiter: _Limiter | None = None
    _held: dict[str, asyncio.Event] = field(default_factory=dict)  # route -> gate its answers wait behind

    # -- switches -------------------------------------------------------------------------------------------------
    def fail_next(self, route: str, n: int = 1, status: int = 500) -> None:
        """The next ``n`` requests to ``route`` (e.g. ``"chat.sendMessage"``, ``"*"`` for any) answer ``status``."""
        self._status.setdefault(route, []).extend([status] * n)

    def lose_answer_next(self, route: str, n: int = 1, status: int = 500) -> None:
        """The next ``n`` requests to ``route`` are carried out, but answer ``status`` (the reply is lost)."""
        self._lost.setdefault(route, []).extend([status] * n)

    def throttle_next(self, route: str, n: int = 1, *, reset_in_ms: int = 1000) -> None:
        """The next ``n`` requests to ``route`` answer 429, with ``X-RateLimit-Reset`` ``reset_in_ms`` from now."""
        self._throttled.setdefault(route, []).extend([reset_in_ms] * n)

    def emulate_rate_limiter(self, calls: int = 10, window_s: float = 60.0, *, bypass_bot: bool = True) -> None:
        """Rocket.Chat's REST limiter: ``calls`` per ``window_s`` per route and client; ``bot`` role exempt."""
        self._limiter = _Limiter(calls, window_s, bypass_bot)

    def stop_rate_limiter(self) -> None:
        self._limiter = None

    def delay(self, seconds: float, route: str = "*") -> None:
        """Delay every answer of ``route`` (``"*"``: all routes) by ``seconds``; 0 removes the delay."""
        if seconds:
            self.delay_s[route] = seconds
        else:
            self.delay_s.pop(route, None)

    def hold_answers(self, route: str) -> asyncio.Event:
        """Answers to ``route`` are computed when each request arrives but sent only once the returned event is
        set (a slow network or proxy between server and bot): what they say is what was true on arrival."""
        gate = self._held.get(route)
        if gate is None or gate.is_set():
            gate = self._held[route] = asyncio.Event()
        return gate

    def release_answers(self, route: str) -> None:
        gate = self._held.pop(route, None)
        if gate is not None:
            gate.set()

    def clear(self) -> None:
        for route in list(self._held):
            self.release_answers(route)
        self.logins_refused = False
        self.ddp_pongs_withheld = False
        self.delay_s.clear()
        self._status.clear()
        self._throttled.clear()
        self._lost.clear()
        self._limiter = None

    # -- consulted by the REST layer ------------------------------------------------------------------------------
    def delay_for(self, route: str) -> float:
        return self.delay_s.get(route, self.delay_s.get("*", 0.0))

    def gate_for(self, route: str) -> asyncio.Event | None:
        return self._held.get(route)

    def take_status(self, route: str) -> int | None:
        for key in (route, "*"):
            pending = self._status.get(key)
            if pending:
                return pending.pop(0)
        return None

    def take_lost_answer(self, route: str) -> int | None:
        pending = self._lost.get(route)
        return pending.pop(0) if pending else None

    def take_throttle(self, route: str) -> RateLimitAnswer | None:
        for key in (route, "*"):
            pending = self._throttled.get(key)
            if pending:
                reset_in_ms = pending.pop(0)
                return RateLimitAnswer(limit=len(pending) + 1, remaining=0, reset_ms=_now_ms() + reset_in_ms)
        return None

    def check_limiter(self, route: str, client: str, is_bot: bool) -> tuple[RateLimitAnswer | None, bool]:
        """Count this call: its X-RateLimit-* values (None when no limiter applies) and whether it is over."""
        limiter = self._limiter
        if limiter is None or (is_bot and limiter.bypass_bot):
            return None, False
        now = time.monotonic()
        start, count = limiter.windows.get((route, client), (now, 0))
        if now - start >= limiter.window_s:
            start, count = now, 0
        count += 1
        limiter.windows[(route, client)] = (start, count)
        reset_ms = _now_ms() + int((limiter.window_s - (now - start)) * 1000)
        return RateLimitAnswer(limiter.calls, max(0, limiter.calls - count), reset_ms), count > limiter.calls


def _now_ms() -> int:
    return int(time.time() * 1000)
