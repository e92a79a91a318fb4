"""`rocketchat_API` (synchronous, requests) in worker threads: password login, `chatbot check`, one-off look-ups.

Imported only when such a call is made, so that a bot logging in by token never loads requests. Failures are
handed to `failures.sorted_attempts` as `Refused` (with the answer's headers, which ride from the worker thread on
the exception) or `Unreachable`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
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
from chatbot.transport.rocketchat.failures import AuthError, Refused, TransientError, Unreachable
from chatbot.transport.rocketchat.httpclient import Network

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


def _session(network: Network) -> requests.Session:
    """One HTTP session, with the proxies and CA bundle read from the environment when the client was made."""
    session = requests.Session()
    session.proxies.update(network.proxies)
    if network.ca_bundle:
        session.verify = network.ca_bundle
    session.trust_env = False
    session.hooks["response"].append(_remember_response)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Threaded:
    def __init__(
        self,
        url: str,
        user_id: str,
        auth_token: str,
        network: Network,
        metrics: Callable[[], Metrics],
        *,
        timeout: float,
    ) -> None:
        self.metrics = metrics
        self.session = _session(network)
        self.session.hooks["response"].append(self._answered)
        self.api = RocketChat(
            auth_token=auth_token, user_id=user_id, server_url=url, session=self.session, timeout=timeout
        )

    def attempt(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[], Any]:
        """One attempt of `rocketchat_API.RocketChat.<method>`, for `sorted_attempts`."""
        fn = getattr(self.api, method)
        return lambda: asyncio.to_thread(_invoke, fn, args, kwargs, self.metrics())

    def use(self, user_id: str, auth_token: str) -> None:
        self.api.headers.update({"X-User-Id": user_id, "X-Auth-Token": auth_token})

    async def close(self) -> None:
        await asyncio.to_thread(self.session.close)

    def _answered(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Every HTTP answer, in the worker thread that got it: counted by route and status."""
        self.metrics().rest_answer(response.url, response.status_code)


async def login(url: str, username: str, password: str, network: Network, *, http_timeout: float) -> tuple[str, str]:
    """Exchange a username and password for (user id, token) through /api/v1/login."""
    session = _session(network)

    def login() -> tuple[str, str]:
        api = RocketChat(server_url=url, session=session, timeout=http_timeout)
        try:
            api.login(username, password)
        except RocketAuthenticationException as error:
            raise AuthError(401, "login refused") from error
        except RocketConnectionException as error:
            raise TransientError("login failed") from error
        return api.headers["X-User-Id"], api.headers["X-Auth-Token"]

    try:
        return await asyncio.to_thread(login)
    except requests.RequestException as error:
        raise TransientError(f"server unreachable: {error}") from error
    finally:
        session.close()
