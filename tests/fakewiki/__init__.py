"""An in-process fake of MediaWiki's action API (api.php), enough for mwclient to log in with a bot password, read
a page and edit it: sessions by cookie, `action=login` with a login token, the CSRF token, `action=edit` with
`basetimestamp` (an edit conflict when the page changed since it was read), `assert=user`. It runs an
`http.server` in a thread, as mwclient is synchronous.

    with FakeWiki(users={"Bot@registre": "s3cret"}) as wiki:
        wiki.url  # http://127.0.0.1:PORT/w/api.php
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GENERATOR = "MediaWiki 1.41.1"
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class Revision:
    text: str
    user: str
    summary: str
    timestamp: datetime

    @property
    def stamp(self) -> str:
        return self.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Session:
    user: str | None = None
    login_token: str = field(default_factory=lambda: secrets.token_hex(8) + "+\\")
    csrf_token: str = field(default_factory=lambda: secrets.token_hex(8) + "+\\")


class FakeWiki:
    def __init__(self, users: dict[str, str] | None = None, path: str = "/w/") -> None:
        self.users = dict(users or {})  # bot password name ("User@bot") -> password
        self.path = path
        self.pages: dict[str, list[Revision]] = {}
        self.sessions: dict[str, Session] = {}
        self.requests: list[dict[str, str]] = []  # every call's parameters (the password is in the login's)
        self.edit_attempts = 0
        # Texts that another user saves just before each of our next edits (an edit conflict, as it happens).
        self.interleaved: list[str] = []
        self.failing = 0  # the next calls are answered 503 (the wiki down behind its proxy)
        self._clock = START
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}api.php"

    def __enter__(self) -> FakeWiki:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- what tests read and set -------------------------------------------------------------------------------

    def text(self, title: str) -> str | None:
        revisions = self.pages.get(_title(title))
        return revisions[-1].text if revisions else None

    def revisions(self, title: str) -> list[Revision]:
        return list(self.pages.get(_title(title), []))

    def save(self, title: str, text: str, user: str = "Camille") -> None:
        """Someone edits the page in their browser."""
        with self._lock:
            self._save(_title(title), text, user, "modification à la main")

    # --- the API ---------------------------------------------------------------------------------------------

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=7)
        return self._clock

    def _save(self, title: str, text: str, user: str, summary: str) -> Revision:
        revision = Revision(text.rstrip(), user, summary, self._tick())  # MediaWiki trims trailing whitespace
        self.pages.setdefault(title, []).append(revision)
        return revision

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        wiki = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._answer(parse_qs(urlsplit(self.path).query, keep_blank_values=True))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                self._answer(parse_qs(body, keep_blank_values=True))

            def _answer(self, raw: dict[str, list[str]]) -> None:
                if urlsplit(self.path).path != f"{wiki.path}api.php":
                    self._send(404, b"<html>Not Found</html>", "text/html")
                    return
                params = {key: values[-1] for key, values in raw.items()}
                cookie = self.headers.get("Cookie") or ""
                sid = next((c.split("=", 1)[1] for c in cookie.split("; ") if c.startswith("fakewiki_session=")), "")
                with wiki._lock:
                    wiki.requests.append(params)
                    if wiki.failing:
                        wiki.failing -= 1
                        self._send(503, b"<html>Service Unavailable</html>", "text/html")
                        return
                    new = sid not in wiki.sessions
                    if new:
                        sid = secrets.token_hex(8)
                        wiki.sessions[sid] = Session()
                    result = wiki._call(wiki.sessions[sid], params)
                self._send(200, json.dumps(result).encode(), "application/json", sid if new else None)

            def _send(self, status: int, body: bytes, kind: str, sid: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if sid:
                    self.send_header("Set-Cookie", f"fakewiki_session={sid}; Path=/; HttpOnly")
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _call(self, session: Session, p: dict[str, str]) -> dict[str, Any]:
        action = p.get("action")
        if action == "query":
            return self._query(session, p)
        if action == "login":
            return self._login(session, p)
        if action == "edit":
            return self._edit(session, p)
        return _error("badvalue", f'Unrecognized value for parameter "action": {action}.')

    def _query(self, session: Session, p: dict[str, str]) -> dict[str, Any]:
        meta = set(filter(None, p.get("meta", "").split("|")))
        query: dict[str, Any] = {}
        if "tokens" in meta:
            kind = p.get("type", "csrf")
            if kind == "login":
                query["tokens"] = {"logintoken": session.login_token}
            else:  # an anonymous session gets the anonymous token, which edit refuses
                query["tokens"] = {"csrftoken": session.csrf_token if session.user else "+\\"}
        if "siteinfo" in meta:
            query["general"] = {"sitename": "Wiki Optéos", "generator": GENERATOR, "lang": "fr"}
            query["namespaces"] = {"0": {"id": 0, "case": "first-letter", "*": ""}}
        if "userinfo" in meta:
            if session.user:
                query["userinfo"] = {
                    "id": 2,
                    "name": session.user.split("@")[0],
                    "groups": ["*", "user", "bot"],
                    "rights": ["read", "edit", "createpage", "bot"],
                }
            else:
                query["userinfo"] = {"id": 0, "name": "127.0.0.1", "anon": "", "groups": ["*"], "rights": ["read"]}
        if "titles" in p:
            title = _title(p["titles"])
            revisions = self.pages.get(title)
            page: dict[str, Any] = {"ns": 0, "title": title}
            if not revisions:
                page["missing"] = ""
                key = "-1"
            else:
                key = "1"
                page.update(
                    pageid=1, lastrevid=len(revisions), touched=revisions[-1].stamp, length=len(revisions[-1].text)
                )
                page["protection"] = []
                if "revisions" in p.get("prop", ""):
                    last = revisions[-1]
                    page["revisions"] = [
                        {
                            "revid": len(revisions),
                            "timestamp": last.stamp,
                            "slots": {"main": {"contentmodel": "wikitext", "*": last.text}},
                        }
                    ]
            query["pages"] = {key: page}
        return {"batchcomplete": "", "query": query}

    def _login(self, session: Session, p: dict[str, str]) -> dict[str, Any]:
        if p.get("lgtoken") != session.login_token:
            return {
                "login": {"result": "Failed", "reason": "Unable to continue login. Your session most likely timed out."}
            }
        name, password = p.get("lgname", ""), p.get("lgpassword", "")
        if self.users.get(name) != password:
            return {
                "login": {
                    "result": "Failed",
                    "reason": "Incorrect username or password entered. Please try again.",
                }
            }
        session.user = name
        return {"login": {"result": "Success", "lguserid": 2, "lgusername": name.split("@")[0]}}

    def _edit(self, session: Session, p: dict[str, str]) -> dict[str, Any]:
        if p.get("assert") == "user" and not session.user:
            return _error("assertuserfailed", "You are no longer logged in, so the action could not be completed.")
        if not session.user or p.get("token") != session.csrf_token:
            return _error("badtoken", "Invalid CSRF token.")
        self.edit_attempts += 1
        title = _title(p.get("title", ""))
        if self.interleaved:
            self._save(title, self.interleaved.pop(0), "Camille", "modification à la main")
        revisions = self.pages.get(title, [])
        base = p.get("basetimestamp")
        if revisions and base and base != revisions[-1].timestamp.strftime("%Y%m%d%H%M%S"):
            return _error("editconflict", "Edit conflict.")
        if revisions and not base:
            return _error("editconflict", "Edit conflict.")  # the page was created since it was read as missing
        text = p.get("text", "")
        if revisions and revisions[-1].text == text.rstrip():
            return {"edit": {"result": "Success", "pageid": 1, "title": title, "nochange": ""}}
        revision = self._save(title, text, session.user.split("@")[0], p.get("summary", ""))
        return {
            "edit": {
                "result": "Success",
                "pageid": 1,
                "title": title,
                "contentmodel": "wikitext",
                "oldrevid": len(revisions) - 1,
                "newrevid": len(revisions),
                "newtimestamp": revision.stamp,
            }
        }


def _title(title: str) -> str:
    title = " ".join(title.replace("_", " ").split())
    return title[:1].upper() + title[1:]


def _error(code: str, info: str) -> dict[str, Any]:
    return {"error": {"code": code, "info": info, "*": "See api.php for API usage."}}
