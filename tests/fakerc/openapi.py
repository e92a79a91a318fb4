"""Validation of every REST request the fake receives against Rocket.Chat's official OpenAPI files.

Where the files are found, first match wins (see ``locate``):

1. ``ROCKETCHAT_OPENAPI_DIR``, a folder of ``*.yaml`` files (when set, it is the only place looked at);
2. ``.cache/rocketchat-openapi/`` in the repository, which ``make openapi`` fills from the GitHub repository
   ``RocketChat/Rocket.Chat-Open-API`` at the commit the Makefile pins;
3. ``../shared/rocketchat-openapi/`` relative to the repository root: a copy of the files beside the clone, as CI
   provides.

When none has them, requests are not checked (the rest of the fake runs as usual) and the test session's header
says so in one line, with how to enable the check. ``REQUIRE_OPENAPI=1`` (CI sets it) turns missing files into
failures instead (``REQUIRE_ROCKETCHAT_OPENAPI``, its former name, still works).

Validation is openapi-core's request validation: path, method, query and header parameters as the specs declare
them, and the JSON body against its schema.

Quirks of the files that must be tolerated, and why (nothing else is loosened):

- Every file names ``https://apiexplorer.support.rocket.chat`` as its only server. The fake stands in for that
  server, so a request is validated as if it had been sent there (only scheme and host are replaced).
- ``GET /api/info`` (server version, used by ``chatbot check``) is in none of the files. It takes no parameter; it
  is answered (and logged in ``fake.requests``) but not validated.
- ``authentication.yaml`` also lists pseudo-paths such as ``/api/v1/login - with Facebook``: they can never match a
  request path, so they are harmless and ignored.
- ``groups.history`` declares no ``showThreadMessages`` although Rocket.Chat's handler reads it (the bot must send
  it to see thread replies); undeclared query parameters are not an error for openapi-core, so nothing to do.
- ``inclusive`` is declared ``boolean`` on ``channels.history``/``groups.history`` but ``string`` on ``dm.history``,
  and openapi-core's boolean casting accepts ``True``/``TRUE``. Both hide a real bug: Rocket.Chat compares these
  flags with the string ``'true'``, so ``inclusive=True`` (a Python bool formatted into a URL) silently means false.

Checks added on top of the files, because Rocket.Chat's own handlers enforce them (tightened, never loosened):

- history flags ``inclusive``, ``showThreadMessages`` and ``unreads`` must be exactly ``true`` or ``false``;
- history ``latest``/``oldest`` must be ISO 8601 dates (Rocket.Chat does ``new Date(value)``; an unparsable value
  becomes an invalid date and the query fails);
- a GET request must not carry a body (Rocket.Chat never reads it: its parameters would be silently lost).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .state import parse_iso

SPEC_SERVER = "https://apiexplorer.support.rocket.chat"
UNSPECIFIED_ROUTES = frozenset({"/api/info"})
HISTORY_ROUTES = frozenset(
    {"/api/v1/channels.history", "/api/v1/groups.history", "/api/v1/dm.history", "/api/v1/im.history"}
)
STRICT_FLAGS = ("inclusive", "showThreadMessages", "unreads")
# Bodies described as `oneOf` two schemas that require nothing, so that every body is "valid under each of" them
# and the validator refuses all: `dm.create` takes `username` or `usernames` (Rocket.Chat's dm.create handler).
# These are checked by hand instead: exactly one of the two keys, a string.
EITHER_KEY_BODIES = {"/api/v1/dm.create": ("username", "usernames"), "/api/v1/im.create": ("username", "usernames")}
DATE_PARAMS = ("latest", "oldest")


REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / "rocketchat-openapi"  # filled by `make openapi`
BESIDE_DIR = REPO_ROOT.parent / "shared" / "rocketchat-openapi"  # a copy beside the clone, as CI provides
OVERRIDE_VARIABLE = "ROCKETCHAT_OPENAPI_DIR"
REQUIRE_VARIABLES = ("REQUIRE_OPENAPI", "REQUIRE_ROCKETCHAT_OPENAPI")  # the second: former name, kept as an alias
HOW_TO_ENABLE = f"run `make openapi` (fetches them from GitHub) or set {OVERRIDE_VARIABLE} to a folder of them"


@dataclass(frozen=True)
class SpecLocation:
    """Where the OpenAPI files were looked for: the folder that has them (None if none has), and how it was found."""

    directory: Path | None
    origin: str  # what a reader needs to know about that place
    searched: tuple[Path, ...]


def _has_specs(directory: Path) -> bool:
    return directory.is_dir() and any(directory.glob("*.yaml"))


def locate() -> SpecLocation:
    """The first place holding ``*.yaml`` files: the override, the `make openapi` cache, the copy beside the clone."""
    override = os.environ.get(OVERRIDE_VARIABLE)
    if override:
        directory = Path(override)
        found = directory if _has_specs(directory) else None
        return SpecLocation(found, f"{OVERRIDE_VARIABLE}={override}", (directory,))
    candidates = ((CACHE_DIR, "the `make openapi` cache"), (BESIDE_DIR, "the copy beside the clone"))
    searched = tuple(directory for directory, _ in candidates)
    for directory, origin in candidates:
        if _has_specs(directory):
            return SpecLocation(directory, origin, searched)
    return SpecLocation(None, "", searched)


def spec_dir() -> Path | None:
    """The folder of OpenAPI files the fake validates against, or None when there is none (see ``locate``)."""
    return locate().directory


def _commit_of(directory: Path) -> str:
    """The commit `make openapi` recorded for its cache ('' elsewhere)."""
    marker = directory / "COMMIT"
    return marker.read_text(encoding="utf-8").strip()[:12] if marker.is_file() else ""


def status_line() -> str:
    """One line for the test session's header: what requests to the fake are validated against, or why not."""
    where = locate()
    if where.directory is not None:
        commit = _commit_of(where.directory)
        origin = where.origin + (f", commit {commit}" if commit else "")
        return f"Rocket.Chat OpenAPI: requests to the fake are validated against {where.directory} ({origin})"
    searched = ", ".join(str(path) for path in where.searched)
    if spec_required():
        return f"Rocket.Chat OpenAPI: REQUIRED but not found (looked in {searched}); the fake's tests will fail"
    return (
        f"Rocket.Chat OpenAPI: no files found (looked in {searched}), so requests to the fake are NOT validated; "
        f"to enable: {HOW_TO_ENABLE}"
    )


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.message}"


class _SpecRequest:
    """openapi-core's Request protocol over an aiohttp request, addressed to the spec's own server."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.query.items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(list(request.cookies.items())),
        )
        self._request = request
        self._body = body or None

    @property
    def host_url(self) -> str:
        return SPEC_SERVER

    @property
    def path(self) -> str:
        return self._request.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._body

    @property
    def content_type(self) -> str:
        return self._request.headers.get("Content-Type", "").lower() if self._body else ""


class SpecValidator:
    """All the OpenAPI files, indexed by path; thread-safe (the specs are read-only once loaded)."""

    def __init__(self, directory: Path) -> None:
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise FileNotFoundError(f"no OpenAPI files in {directory}")
        self.by_path: dict[str, OpenAPI] = {}
        self.templated: list[tuple[re.Pattern[str], OpenAPI]] = []  # e.g. /api/v1/rooms.media/{rid}
        for file in files:
            openapi = OpenAPI.from_file_path(str(file))
            for path in (openapi.spec / "paths").keys():
                self.by_path.setdefault(str(path), openapi)
                if "{" in str(path):
                    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(str(path)))
                    self.templated.append((re.compile(pattern + "$"), openapi))

    def spec_for(self, path: str) -> OpenAPI | None:
        found = self.by_path.get(path)
        if found is None:
            found = next((openapi for pattern, openapi in self.templated if pattern.match(path)), None)
        return found

    def validate(self, request: web.Request, body: bytes) -> list[Violation]:
        method, path = request.method, request.path
        found: list[Violation] = []

        def violation(message: str) -> None:
            found.append(Violation(method, path, message))

        if method == "GET" and body:
            violation("a GET request carries a body, which Rocket.Chat ignores")
        if path in UNSPECIFIED_ROUTES:
            return found
        openapi = self.spec_for(path)
        if openapi is None:
            violation("no such path in the OpenAPI files")
            return found
        for error in openapi.iter_request_errors(_SpecRequest(request, body)):
            message = _describe(error)
            if path in EITHER_KEY_BODIES and "is valid under each of" in message:
                message = _either_key(body, EITHER_KEY_BODIES[path])
            if message:
                violation(message)
        if path in HISTORY_ROUTES:
            for name in STRICT_FLAGS:
                value = request.query.get(name)
                if value is not None and value not in ("true", "false"):
                    violation(f"{name}={value!r}: Rocket.Chat compares it with the string 'true'")
            for name in DATE_PARAMS:
                value = request.query.get(name)
                if value is not None:
                    try:
                        parse_iso(value)
                    except ValueError:
                        violation(f"{name}={value!r} is not an ISO 8601 date")
        return found


def _either_key(body: bytes, keys: tuple[str, ...]) -> str:
    """'' when the JSON body has exactly one of `keys`, as a string; else what is wrong."""
    import json

    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return "the body is not JSON"
    given = [key for key in keys if key in document] if isinstance(document, dict) else []
    if len(given) != 1 or not isinstance(document[given[0]], str):
        return f"the body needs exactly one of {', '.join(keys)}, a string"
    return ""


def _describe(error: BaseException) -> str:
    """The error and its causes (openapi-core wraps the schema errors that say what is wrong)."""
    parts = [str(error) or type(error).__name__]
    cause: Any = error.__cause__
    while cause is not None:
        details = getattr(cause, "schema_errors", None)
        if details:
            parts.extend(f"{'/'.join(str(p) for p in e.path) or '<body>'}: {e.message}" for e in details)
        else:
            parts.append(str(cause))
        cause = cause.__cause__
    return " — ".join(p for p in parts if p)


_lock = threading.Lock()


@functools.cache
def _load(directory: str) -> SpecValidator:
    return SpecValidator(Path(directory))


def spec_available() -> bool:
    """Whether some OpenAPI files were found (see ``locate``)."""
    return spec_dir() is not None


def spec_required() -> bool:
    """CI sets REQUIRE_OPENAPI=1: there, missing files are an error, never a quiet skip."""
    return any(os.environ.get(name, "") not in ("", "0") for name in REQUIRE_VARIABLES)


def shared_validator() -> SpecValidator | None:
    """The validator for the folder ``locate`` finds, loaded once per process (about a second); None when no folder
    has the files (requests are then not checked), unless they are required (then FileNotFoundError)."""
    where = locate()
    if where.directory is None:
        if not spec_required():
            return None
        searched = ", ".join(str(path) for path in where.searched)
        raise FileNotFoundError(
            f"REQUIRE_OPENAPI is set but no Rocket.Chat OpenAPI files were found (looked in {searched}); "
            f"{HOW_TO_ENABLE}"
        )
    with _lock:
        return _load(str(where.directory))
