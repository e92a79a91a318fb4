"""Rocket.Chat REST on the event loop (aiohttp): every call the bot makes while it runs.

Replies, uploads, history pages, message and member look-ups go out from the loop's own thread, through one
connection pool: no worker thread, no interpreter-lock contention with the loop. Failures are sorted as everywhere
else (see `failures`). The environment's proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`) and CA bundle
(`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) are read once, when the client is made.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp

from chatbot.metrics import Metrics
from chatbot.transport.rocketchat.failures import Refused, RetryPolicy, Unreachable, sorted_attempts

API = "/api/v1/"

Upload = tuple[str, bytes, str]  # file name, content, media type


@dataclass(frozen=True)
class Network:
    """The environment's proxy settings and CA bundle for one server, read once."""

    proxies: dict[str, str] = field(default_factory=dict)  # scheme → proxy URL ({} : connect directly)
    ca_bundle: str | None = None

    @classmethod
    def from_environment(cls, url: str) -> Network:
        host = urlsplit(url).hostname or ""
        proxies = {} if proxy_bypass(host) else getproxies()
        return cls(proxies, os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"))

    def proxy_for(self, url: str) -> str | None:
        return self.proxies.get(urlsplit(url).scheme) or self.proxies.get("all")


class HttpClient:
    def __init__(
        self,
        url: str,
        headers: Callable[[], dict[str, str]],
        metrics: Callable[[], Metrics],
        network: Network | None = None,
        *,
        timeout: float = 15,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = headers  # read at every call: a new token (logging in again) applies at once
        self.metrics = metrics
        self.retry = retry or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        network = network or Network.from_environment(self.url)
        self.proxy = network.proxy_for(self.url)
        bundle = network.ca_bundle
        self.ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=bundle) if bundle else True
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """Made on first use, on the running loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=16, ssl=self.ssl)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, endpoint: str, **params: str) -> Any:
        return await self.request("GET", endpoint, params=params)

    async def post(self, endpoint: str, body: dict[str, Any], *, once: bool = False) -> Any:
        """A JSON POST; `once` for a request that must not be repeated blindly (see `sorted_attempts`)."""
        return await self.request("POST", endpoint, body=body, once=once)

    async def upload(self, endpoint: str, upload: Upload) -> Any:
        """A multipart POST of one file, in the field `file` (safe to repeat: an unconfirmed upload never shows)."""
        return await self.request("POST", endpoint, upload=upload)

    async def request(
        self,
        verb: str,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        upload: Upload | None = None,
        once: bool = False,
    ) -> Any:
        url = self.url + API + endpoint

        async def attempt() -> Any:
            data: aiohttp.FormData | None = None
            if upload is not None:  # a form is consumed by sending it: one per attempt
                name, content, media_type = upload
                data = aiohttp.FormData()
                data.add_field("file", content, filename=name, content_type=media_type)
            try:
                async with self.session().request(
                    verb,
                    url,
                    params=params,
                    json=body,
                    data=data,
                    headers=self.headers(),
                    proxy=self.proxy,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    answered = str(response.url)
                    headers = dict(response.headers)
            except (TimeoutError, aiohttp.ClientError) as error:
                self.metrics().rest_answer(url, "error")
                raise Unreachable(f"{type(error).__name__}: {error}") from error
            self.metrics().rest_answer(answered, status)
            try:
                decoded: Any = json.loads(raw)
            except ValueError:
                decoded = raw.decode("utf-8", "replace")
            if 200 <= status < 400:
                return decoded
            raise Refused(status, decoded, headers, answered)

        return await sorted_attempts(endpoint, attempt, self.retry, self.metrics(), retry_transient=not once)
