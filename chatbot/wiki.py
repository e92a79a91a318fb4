"""The decision register on the cooperative's MediaWiki: `chatbot publish decisions`, and the same publication as
a scheduled task after each adopted decision (`[wiki] publish_on_adoption`).

The page is the register in wikitext (chatbot.export_decisions), public decisions only: a decision of a private
room is never published. The bot logs in with a bot password from the environment (MEDIAWIKI_USER,
MEDIAWIKI_PASSWORD) through mwclient, reads the page and saves it with the revision it read as its base, so that
an edit made meanwhile is an edit conflict: read again and retried once, then reported. The sha256 of what was
published last is kept per wiki page (`wiki_publication`): the scheduled task never publishes the same register
twice, and a page already holding the text is not edited again (after a crash between the edit and the commit).

mwclient is synchronous: its calls run in a worker thread. Nothing here prints or logs the password.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.config import Settings
from chatbot.db.models import WikiPublication
from chatbot.masking import mask_known

if TYPE_CHECKING:
    from chatbot.clock import Clock
    from chatbot.formatting import Formatter
    from chatbot.messages import Catalogue
    from chatbot.scheduler import Firing
    from chatbot.services.tasks import TaskService
    from chatbot.transport.base import Outgoing

log = logging.getLogger(__name__)

WIKI_PUBLISH = "wiki_publish"
REGISTER = 0  # the task's ref_id: it is about the whole register, not one decision
USER_VARIABLE = "MEDIAWIKI_USER"
PASSWORD_VARIABLE = "MEDIAWIKI_PASSWORD"
TIMEOUT_SECONDS = 20
# After a failure, the task is scheduled again this much later (the last delay repeats): never given up, since a
# later success publishes the whole register as it then is.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
RETRY_LAST = timedelta(hours=6)


class WikiProblem(Exception):
    """Why a publication failed: a catalogue key (`wiki.error.<key>`) and its data, told in one French line."""

    def __init__(self, key: str, **data: Any) -> None:
        super().__init__(key)
        self.key = key
        self.data = data

    def line(self, t: Catalogue) -> str:
        return t(f"wiki.error.{self.key}", **self.data)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    @classmethod
    def from_environment(cls) -> Credentials | None:
        user = os.environ.get(USER_VARIABLE, "").strip()
        password = os.environ.get(PASSWORD_VARIABLE, "")
        return cls(user, password) if user and password else None

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='***')"


@dataclass(frozen=True)
class Outcome:
    edited: bool  # False: the page already held this register (or it was published already)
    count: int  # decisions published
    revision: str


def api_location(url: str) -> tuple[str, str, str]:
    """(scheme, host with port, path before api.php) for mwclient.Site, from the api.php address (or the folder
    holding it)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise WikiProblem("bad_url", url=mask_known(url, ()))
    path = parts.path or "/"
    if path.endswith("api.php"):
        path = path[: -len("api.php")]
    if not path.endswith("/"):
        path += "/"
    return parts.scheme, parts.netloc, path


def revision_of(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def publish_text(url: str, page: str, text: str, credentials: Credentials, summary: str) -> bool:
    """Log in and save `text` as the page (synchronous: run it in a thread). False when the page already holds it.
    An edit conflict is read again and retried once; every failure is a WikiProblem."""
    import mwclient
    import requests
    from mwclient import errors

    scheme, host, path = api_location(url)
    secrets = [credentials.password]
    try:
        site = mwclient.Site(
            host,
            path=path,
            scheme=scheme,
            max_retries=1,
            retry_timeout=1,
            connection_options={"timeout": TIMEOUT_SECONDS},
            clients_useragent="coop-chatbot (registre des décisions)",
        )
        site.login(credentials.user, credentials.password)
        for attempt in (1, 2):
            target = site.pages[page]
            if target.exists and target.text(cache=False).rstrip() == text.rstrip():
                return False
            try:
                target.edit(text, summary=summary)
                return True
            except errors.ProtectedPageError as error:
                raise WikiProblem("refused", page=page, reason=_reason(error, secrets)) from error
            except errors.EditError as error:
                if len(error.args) == 3 and attempt == 1:  # (page, summary, info): an edit conflict
                    log.info("edit conflict on the wiki page %r: read again and retried once", page)
                    continue
                if len(error.args) == 3:
                    raise WikiProblem("conflict", page=page) from error
                raise WikiProblem("refused", page=page, reason=_reason(error, secrets)) from error
        raise AssertionError("unreachable")
    except WikiProblem:
        raise
    except errors.LoginError as error:
        raise WikiProblem("login_refused", user=credentials.user, reason=_reason(error, secrets)) from error
    except errors.AssertUserFailedError as error:
        raise WikiProblem("login_refused", user=credentials.user, reason="assertuserfailed") from error
    except errors.InvalidResponse as error:
        raise WikiProblem("not_a_wiki", url=url) from error
    except errors.APIError as error:
        raise WikiProblem("refused", page=page, reason=_reason(error, secrets)) from error
    except (requests.exceptions.RequestException, errors.MaximumRetriesExceeded, OSError) as error:
        raise WikiProblem("unreachable", url=url, reason=_network_reason(error, secrets)) from error
    except errors.MwClientError as error:
        raise WikiProblem("refused", page=page, reason=_reason(error, secrets)) from error


def _reason(error: BaseException, secrets: list[str]) -> str:
    code = getattr(error, "code", None)
    info = getattr(error, "info", None)
    if isinstance(code, str) and isinstance(info, str):
        text = f"{code} : {info}"
    else:
        text = " ".join(str(a) for a in error.args[1:] if isinstance(a, str | dict)) or type(error).__name__
    return mask_known(" ".join(text.split())[:200], secrets)


def _network_reason(error: BaseException, secrets: list[str]) -> str:
    import requests

    if isinstance(error, requests.exceptions.Timeout):
        return f"pas de réponse en {TIMEOUT_SECONDS} s"
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    if isinstance(error, requests.exceptions.ConnectionError):
        text = str(error)
        if "Name or service not known" in text or "getaddrinfo" in text or "NameResolutionError" in text:
            return "nom d'hôte inconnu"
        if "refused" in text.lower():
            return "connexion refusée"
        return "connexion impossible"
    return mask_known(type(error).__name__, secrets)


# --- the register, published ------------------------------------------------------------------------------------


async def register_text(
    session: AsyncSession, settings: Settings, clock: Clock, t: Catalogue, fmt: Formatter
) -> tuple[bytes, int]:
    """The public register in wikitext, and how many decisions it holds. Private decisions are never in it."""
    from chatbot.export_decisions import decisions_wikitext
    from chatbot.services import Services

    register = await Services.bind(session, settings, clock).decisions.register(include_private=False)
    entries = [entry for entry in register if not entry.private]
    return decisions_wikitext(entries, settings, t, fmt), len(entries)


async def last_published(session: AsyncSession, url: str, page: str) -> WikiPublication | None:
    return await session.scalar(
        select(WikiPublication).where(WikiPublication.wiki == url, WikiPublication.page == page)
    )


async def record(session: AsyncSession, url: str, page: str, revision: str, count: int, now: datetime) -> None:
    row = await last_published(session, url, page)
    if row is None:
        session.add(WikiPublication(wiki=url, page=page, revision=revision, decisions=count, published_at=now))
    else:
        row.revision, row.decisions, row.published_at = revision, count, now
    await session.flush()


async def publish(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    t: Catalogue,
    fmt: Formatter,
    url: str,
    page: str,
    credentials: Credentials,
    *,
    skip_if_published: bool,
) -> Outcome:
    """Publish the register as it is in this session's transaction, and record its revision there (the caller
    commits). `skip_if_published`: do nothing when this revision is the one recorded as published."""
    content, count = await register_text(session, settings, clock, t, fmt)
    revision = revision_of(content)
    if skip_if_published:
        row = await last_published(session, url, page)
        if row is not None and row.revision == revision:
            return Outcome(False, count, revision)
    summary = t("wiki.export.summary", count=count)
    edited = await asyncio.to_thread(publish_text, url, page, content.decode("utf-8"), credentials, summary)
    await record(session, url, page, revision, count, clock.now())
    return Outcome(edited, count, revision)


# --- after each adopted decision ---------------------------------------------------------------------------------


async def schedule_publication(tasks: TaskService, settings: Settings) -> None:
    """Called where a decision is adopted, in its transaction: publish the register as soon as it commits, when
    `[wiki] publish_on_adoption` is on. One pending task is enough: it publishes the register as it then is."""
    if not (settings.wiki.publish_on_adoption and settings.wiki.url):
        return
    if await tasks.pending([WIKI_PUBLISH], REGISTER):
        return
    await tasks.schedule(WIKI_PUBLISH, REGISTER, tasks.clock.now(), note="after an adoption")


async def publish_task(firing: Firing) -> list[Outgoing]:
    """The scheduled publication: skipped when the register's revision is the one already published; on a
    failure, scheduled again later (never given up), the reason kept on the row and in the log."""
    wiki = firing.settings.wiki
    if not (wiki.publish_on_adoption and wiki.url):
        firing.skip("wiki publication is off in the configuration")
        return []
    credentials = Credentials.from_environment()
    if credentials is None:
        log.error(
            "wiki publication: %s and %s are not set; the register is not published", USER_VARIABLE, PASSWORD_VARIABLE
        )
        firing.skip(f"{USER_VARIABLE} or {PASSWORD_VARIABLE} not set")
        return []
    services = firing.services
    try:
        outcome = await publish(
            services.session,
            firing.settings,
            services.clock,
            firing.t,
            firing.fmt,
            wiki.url,
            wiki.page,
            credentials,
            skip_if_published=True,
        )
    except WikiProblem as problem:
        reason = problem.line(firing.t)
        retries = _retries(firing.task.note) + 1
        delay = RETRY_DELAYS[retries - 1] if retries <= len(RETRY_DELAYS) else RETRY_LAST
        firing.task.note = f"failed: {reason}"
        log.warning("wiki publication failed (retry %s in %s): %s", retries, delay, reason)
        if not await services.tasks.pending([WIKI_PUBLISH], REGISTER):
            await services.tasks.schedule(WIKI_PUBLISH, REGISTER, firing.now + delay, note=f"retry {retries}")
        return []
    firing.task.note = "published" if outcome.edited else "already published"
    log.info("wiki publication: %s decisions, %s", outcome.count, firing.task.note)
    return []


def _retries(note: str) -> int:
    head, _, number = note.partition(" ")
    return int(number) if head == "retry" and number.isdigit() else 0


TASKS = {WIKI_PUBLISH: publish_task}
