"""Configuration: a TOML file read into typed, validated settings. Secrets come from the environment only."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.cobudget_settings import KEYS as COBUDGET_KEYS
from chatbot.cobudget_settings import CobudgetSettings, parse_cobudget
from chatbot.config_reader import ConfigError, Schema, TomlReader, check_known_keys, line_of
from chatbot.consent_settings import ConsentSettings, parse_consent
from chatbot.money import euros_to_cents
from chatbot.text import slug
from chatbot.values import BUDGET_YEARS
from chatbot.vote_settings import VoteSettings, parse_votes

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///chatbot.db"
OVERRUN_POLICIES = ("warn", "refuse")
ENVELOPE_MODES = ("hours", "flat", "both")
MAX_HOURLY_CAP = Decimal(1000)  # euros: above it the cap was surely written in cents (3000 for 30 €)
USERNAME_MAX = 119  # member rows keep 120 characters of a username: a name that long may have been cut

_CIRCLE_KEYS = (
    "slug name aliases public_channel private_channel meeting_minutes meeting_reminders meeting_announce_days "
    "meeting_keepers"
)
_CONSENT_KEYS = "style quorum deadline_hours reminder_hours"
# Every table and key the bot reads (see config_reader.check_known_keys): any other one stops start-up.
SCHEMA: Schema = {
    "bot": dict.fromkeys("timezone language admins treasurers source_url".split()),
    "database": dict.fromkeys(["url"]),
    "console": dict.fromkeys(["user", "room"]),
    "budget": dict.fromkeys(
        "year hourly_cap announcement_threshold overrun_policy warning_percent max_hours_per_declaration "
        "max_hours_per_intention contribution_channel export_dir treasurers_may_transfer".split()
    ),
    "meetings": dict.fromkeys("jitsi_server calendar_token default_minutes reminders announce_days".split()),
    "circles": [dict.fromkeys(_CIRCLE_KEYS.split())],
    "envelopes": [dict.fromkeys("slug name amount circle aliases rate mode flat_min flat_max".split())],
    "consent": {
        **dict.fromkeys(["governance_channels", *_CONSENT_KEYS.split()]),
        "circles": {"*": dict.fromkeys(_CONSENT_KEYS.split())},
    },
    "rocketchat": dict.fromkeys(
        "url username thread_replies extra_rooms catchup_max_hours catchup_overlap_seconds".split()
    ),
    "web": dict.fromkeys(["host", "port", "public_url"]),
    "wiki": dict.fromkeys(["url", "page", "publish_on_adoption"]),
    "votes": dict.fromkeys(["associes", "electorate", "majority", "quorum_percent"]),
    "cobudget": dict.fromkeys(COBUDGET_KEYS),
}


def account_key(username: str) -> str:
    """The form of a username that rights are compared on: the exact name, ASCII letters in lower case.

    Rocket.Chat keeps usernames unique case-insensitively (a /^name$/i regex), and nothing else folds there: not
    accents, not `_`/`-`, not full-width letters. A role must not fold more than that, or a look-alike account
    gets it. Only A-Z are lowered: `str.casefold()` also folds ß to ss, and `str.lower()` turns the Kelvin sign
    into k and İ into two characters, pairs Rocket.Chat may well keep apart. A non-ASCII letter must therefore be
    configured in its exact case: it errs on refusing a right, never on granting one."""
    return username.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def is_username(name: str) -> bool:
    """Whether `name` (without its @) can be a Rocket.Chat username: not empty, no space, no @."""
    return bool(name) and not any(c.isspace() or c == "@" for c in name)


def holds_role(username: str, holders: frozenset[str] | tuple[str, ...]) -> bool:
    """Whether this account is one of `holders` (account keys, see `account_key`)."""
    return len(username) <= USERNAME_MAX and account_key(username) in holders


@dataclass(frozen=True)
class CircleSettings:
    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    public_channel: str | None = None
    private_channel: str | None = None
    # Meetings (`/reunion`): defaults come from [meetings], each circle may override them.
    meeting_minutes: int = 60
    meeting_reminders: tuple[int, ...] = (1440, 60)  # minutes before the start; whole days keep the wall-clock time
    meeting_announce_days: int = 7  # recurring meetings: each occurrence is announced this many days before
    meeting_keepers: tuple[str, ...] = ()  # who may cancel or move any of the circle's meetings (account_key)


@dataclass(frozen=True)
class MeetingSettings:
    jitsi_server: str = "https://meet.jit.si"
    calendar_token: str | None = None  # from CALENDAR_TOKEN preferably; None: the feed is public
    default_minutes: int = 60
    reminders: tuple[int, ...] = (1440, 60)
    announce_days: int = 7


@dataclass(frozen=True)
class EnvelopeSettings:
    slug: str
    name: str
    amount_cents: int
    circle: str | None = None
    aliases: tuple[str, ...] = ()
    rate_cents: int | None = None
    mode: str = "both"
    flat_min_cents: int | None = None
    flat_max_cents: int | None = None


@dataclass(frozen=True)
class BudgetSettings:
    year: int | None = None
    hourly_cap_cents: int = 3000
    announcement_threshold_cents: int = 30000
    overrun_policy: str = "warn"
    warning_percent: int = 80
    max_minutes_per_declaration: int = 24 * 60
    max_minutes_per_intention: int = 200 * 60
    contribution_channel: str | None = None
    export_dir: str = "exports"
    treasurers_may_transfer: bool = False  # `/budget transferer` is for admins, and for treasurers if this is true


@dataclass(frozen=True)
class RocketChatSettings:
    """Where the Rocket.Chat server is and how the bot behaves there. Credentials never live here: they come from
    the environment (ROCKETCHAT_USER_ID + ROCKETCHAT_AUTH_TOKEN, or ROCKETCHAT_USER + ROCKETCHAT_PASSWORD)."""

    url: str = "http://localhost:3000"
    username: str | None = None  # the bot's own username, for `chatbot check`
    thread_replies: bool = True
    # Rooms the bot listens to besides the circles' channels and the contribution channel (e.g. governance).
    extra_rooms: tuple[str, ...] = ()
    # How far back a catch-up may reach for a room the bot has never handled a command in.
    catchup_max_hours: int = 24
    # How far before the last processed instant a catch-up starts reading again (seconds): a message stamped a
    # little earlier than one already handled (several server instances, clocks apart) is still read back.
    catchup_overlap_seconds: int = 60


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # where members reach the web server (reverse proxy), for the calendar's address


@dataclass(frozen=True)
class WikiSettings:
    """The cooperative's MediaWiki, where the decision register is published (chatbot.wiki)."""

    url: str | None = None  # its api.php, e.g. https://wiki.opteos.fr/w/api.php
    page: str = "Registre des décisions"
    publish_on_adoption: bool = False  # publish the register after each adopted decision (a scheduled task)


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    language: str = "fr"
    admins: frozenset[str] = frozenset()  # account keys (see `account_key`), compared with `holds_role`
    treasurers: frozenset[str] = frozenset()  # invoice and mark paid; matched like admins, a distinct right
    # Where members get the bot's source code (AGPL-3.0 §13: a network service offers its source to its users);
    # shown as the last line of `/aide`. None: not configured yet, and `/aide` says the admin must set it.
    source_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    console_user: str | None = None
    console_room: str = "@bot"
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    circles: tuple[CircleSettings, ...] = ()
    envelopes: tuple[EnvelopeSettings, ...] = ()
    source: Path | None = None
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    meetings: MeetingSettings = field(default_factory=MeetingSettings)
    rocketchat: RocketChatSettings = field(default_factory=RocketChatSettings)
    web: WebSettings = field(default_factory=WebSettings)
    wiki: WikiSettings = field(default_factory=WikiSettings)
    votes: VoteSettings = field(default_factory=VoteSettings)
    cobudget: CobudgetSettings = field(default_factory=CobudgetSettings)

    def circle(self, circle_slug: str) -> CircleSettings | None:
        return next((c for c in self.circles if c.slug == circle_slug), None)

    def keepers_of(self, circle_slug: str | None) -> tuple[str, ...]:
        """Who answers for an envelope: its circle's keepers (`meeting_keepers`); the treasurers for an envelope of
        no circle, or of a circle that names no keeper. Account names as configured, sorted."""
        circle = self.circle(circle_slug) if circle_slug else None
        return tuple(sorted(circle.meeting_keepers if circle and circle.meeting_keepers else self.treasurers))

    def circle_for_room(self, room_name: str | None) -> CircleSettings | None:
        """The circle whose public or private channel is this room, if any."""
        if not room_name:
            return None
        wanted = slug(room_name)
        for circle in self.circles:
            channels = (circle.public_channel, circle.private_channel)
            if any(ch and slug(ch) == wanted for ch in channels):
                return circle
        return None

    @property
    def database_is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def example_config_path() -> Path:
    """The example configuration, also the embedded default: beside the package in a checkout, inside a wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parent / "config.example.toml", package_dir / "config.example.toml"):
        if candidate.is_file():
            return candidate
    raise ConfigError("config.example.toml introuvable : réinstallez le bot depuis ses sources.")


def load_settings(path: Path | None = None, database_url: str | None = None) -> Settings:
    """Read and validate a configuration file (the embedded default when `path` is None)."""
    path = path or example_config_path()
    text = _read_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib (Python 3.11) says where only in its English message: "… (at line 3, column 5)".
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        detail = str(exc)[: at.start()].strip() if at else str(exc)
        error = ConfigError(f"ce n'est pas un fichier TOML valide ({detail}) ; voir https://toml.io/fr/")
        raise error.located(str(path), int(at[1]) if at else None) from exc
    url = database_url or os.environ.get("DATABASE_URL")
    try:
        return parse_settings(raw, source=path, database_url=url)
    except ConfigError as error:
        raise error.located(str(path), line_of(text, error.where)) from error.__cause__


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, or a ConfigError naming the file (and the line of a byte that is not UTF-8)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"Fichier de configuration introuvable : {path}") from exc
    except OSError as exc:
        raise ConfigError(f"Fichier de configuration illisible : {path} ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        error = ConfigError("le fichier n'est pas encodé en UTF-8 ; enregistrez-le en UTF-8 (sans BOM de préférence).")
        raise error.located(str(path), line) from exc


def _boolean(table: dict[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} doit valoir true ou false.")
    return value


def parse_settings(raw: dict[str, Any], source: Path | None = None, database_url: str | None = None) -> Settings:
    check_known_keys(raw, SCHEMA)
    reader = TomlReader(raw)
    bot = reader.table("bot")
    tz_name = reader.string(bot, "bot.timezone", default="Europe/Paris")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name such as "../x" or "a\0"
        raise ConfigError(f'bot.timezone : fuseau horaire inconnu « {tz_name} » (ex. "Europe/Paris").') from exc
    language = _language(reader.string(bot, "bot.language", default="fr"))
    admins = frozenset(_usernames(reader, bot, "bot.admins"))
    treasurers = frozenset(_usernames(reader, bot, "bot.treasurers"))
    source_url = _source_url(reader.optional_string(bot, "bot.source_url"))

    database = reader.table("database")
    url = database_url or reader.string(database, "database.url", default=DEFAULT_DATABASE_URL)
    url = _with_password(url)

    console = reader.table("console")
    console_user = reader.optional_string(console, "console.user")
    console_user = console_user.removeprefix("@") if console_user else None
    console_room = reader.string(console, "console.room", default="@bot")

    budget = _parse_budget(reader, reader.table("budget"))
    meetings = _parse_meetings(reader, reader.table("meetings"))
    circles = tuple(_parse_circle(reader, i, t, meetings) for i, t in enumerate(reader.table_list("circles")))
    _check_unique([c.slug for c in circles], "circles.slug")
    _check_channels(circles)
    circle_slugs = {c.slug for c in circles}
    envelopes = tuple(
        _parse_envelope(reader, i, t, circles, budget) for i, t in enumerate(reader.table_list("envelopes"))
    )
    _check_unique([e.slug for e in envelopes], "envelopes.slug")
    for env in envelopes:
        if env.circle and env.circle not in circle_slugs:
            raise ConfigError(f"envelopes : le cercle « {env.circle} » n'est pas déclaré dans [[circles]].")
    _check_names_unambiguous(circles, envelopes)
    try:
        consent = parse_consent(raw.get("consent", {}), circle_slugs)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        cobudget = parse_cobudget(raw.get("cobudget", {}))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    rocketchat = _parse_rocketchat(reader, reader.table("rocketchat"))
    web_table = reader.table("web")
    web_port = reader.optional_int(web_table, "web.port")
    if web_port is not None and not 0 <= web_port <= 65535:
        raise ConfigError("web.port doit être un numéro de port (ex. 8080, ou 0 pour un port libre).")
    web = WebSettings(
        host=reader.string(web_table, "web.host", default="127.0.0.1"),
        port=8080 if web_port is None else web_port,
        public_url=_public_url(
            reader.optional_string(web_table, "web.public_url"),
            "web.public_url",
            '(ex. "https://bot.exemple.org")',
            "dans `/reunion agenda`",
        ),
    )
    wiki = _parse_wiki(reader, reader.table("wiki"))
    try:
        votes = parse_votes(raw.get("votes", {}), account_key)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return Settings(
        timezone=timezone,
        language=language,
        admins=admins,
        treasurers=treasurers,
        source_url=source_url,
        database_url=url,
        console_user=console_user or None,
        console_room=console_room,
        budget=budget,
        circles=circles,
        envelopes=envelopes,
        source=source,
        consent=consent,
        meetings=meetings,
        rocketchat=rocketchat,
        web=web,
        wiki=wiki,
        votes=votes,
        cobudget=cobudget,
    )


def _parse_wiki(reader: TomlReader, table: dict[str, Any]) -> WikiSettings:
    url = reader.optional_string(table, "wiki.url")
    if url is not None and (not url.startswith(("https://", "http://")) or "@" in url.split("/")[2]):
        raise ConfigError(
            "wiki.url doit être l'adresse de l'api.php du wiki, sans identifiants (ex. \"https://wiki.opteos.fr/w/api.php\")."
        )
    page = reader.string(table, "wiki.page", default=WikiSettings.page).strip()
    if not page or any(c in page for c in "#<>[]{}|"):
        raise ConfigError('wiki.page doit être un titre de page du wiki (ex. "Registre des décisions").')
    publish = _boolean(table, "publish_on_adoption", "wiki.publish_on_adoption")
    if publish and url is None:
        raise ConfigError(
            "wiki.publish_on_adoption = true : wiki.url doit aussi être indiqué, l'adresse du wiki "
            '(ex. url = "https://wiki.exemple.org/w/api.php").'
        )
    return WikiSettings(url=url, page=page, publish_on_adoption=publish)


def _language(name: str) -> str:
    """A language the bot has a message catalogue for (chatbot/messages/<language>/)."""
    known = sorted(
        entry.name for entry in resources.files("chatbot.messages").iterdir() if re.fullmatch(r"[a-z]{2}", entry.name)
    )
    if name not in known:
        raise ConfigError(
            f"bot.language : pas de catalogue de messages pour « {name} » ; langues disponibles : "
            f'{", ".join(known)} (ex. language = "fr").'
        )
    return name


def _usernames(reader: TomlReader, table: dict[str, Any], where: str) -> list[str]:
    """Rocket.Chat usernames (a leading @ allowed), as account keys: rights go to these exact accounts only."""
    names = []
    for name in reader.string_list(table, where):
        bare = name.removeprefix("@")
        if not is_username(bare) or len(bare) > USERNAME_MAX:
            raise ConfigError(
                f"{where} : « {name} » n'est pas un nom d'utilisateur Rocket.Chat "
                f'(sans espace, au plus {USERNAME_MAX} caractères ; ex. ["camille"]).'
            )
        names.append(account_key(bare))
    return names


def _check_channels(circles: tuple[CircleSettings, ...]) -> None:
    """Each circle has a channel, and no channel belongs to two circles (nor is both public and private)."""
    owner: dict[str, str] = {}
    for index, circle in enumerate(circles):
        where = f"circles[{index + 1}]"
        if not circle.public_channel and not circle.private_channel:
            raise ConfigError(
                f"{where} (« {circle.slug} ») n'a aucun canal : indiquez public_channel et/ou private_channel "
                f'(ex. public_channel = "cercle-{circle.slug}").',
                where,
            )
        for key in ("public_channel", "private_channel"):
            channel = getattr(circle, key)
            if not channel:
                continue
            other = owner.setdefault(slug(channel), circle.slug)
            if other != circle.slug or (
                key == "private_channel" and slug(channel) == slug(circle.public_channel or "")
            ):
                whose = "de ce cercle" if other == circle.slug else f"du cercle « {other} »"
                raise ConfigError(
                    f"{where}.{key} : le canal « {channel} » est déjà celui {whose} ; "
                    "chaque cercle a ses propres canaux, et son canal privé n'est pas son canal public."
                )


def _parse_rocketchat(reader: TomlReader, table: dict[str, Any]) -> RocketChatSettings:
    url = reader.string(table, "rocketchat.url", default="http://localhost:3000").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f'rocketchat.url doit commencer par http:// ou https:// (ex. "https://chat.exemple.org"), pas « {url} ».'
        )
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:  # user:password@host: a secret in the file, and shown
        raise ConfigError(
            "rocketchat.url ne doit pas contenir d'identifiants (utilisateur:mot-de-passe@) : ils viennent de "
            'l\'environnement, ROCKETCHAT_USER et ROCKETCHAT_PASSWORD (ex. url = "https://chat.exemple.org").'
        )
    thread_replies = table.get("thread_replies", True)
    if not isinstance(thread_replies, bool):
        raise ConfigError("rocketchat.thread_replies doit valoir true ou false.")
    hours = reader.optional_int(table, "rocketchat.catchup_max_hours")
    if hours is not None and not 1 <= hours <= 24 * 366:
        raise ConfigError("rocketchat.catchup_max_hours doit être compris entre 1 et 8784 heures (ex. 24).")
    overlap = reader.optional_int(table, "rocketchat.catchup_overlap_seconds")
    if overlap is not None and not 0 <= overlap <= 3600:
        raise ConfigError("rocketchat.catchup_overlap_seconds doit être compris entre 0 et 3600 (ex. 60).")
    username = reader.optional_string(table, "rocketchat.username")
    return RocketChatSettings(
        url=url,
        username=username.lstrip("@") if username else None,
        thread_replies=thread_replies,
        extra_rooms=tuple(r.lstrip("#") for r in reader.string_list(table, "rocketchat.extra_rooms")),
        catchup_max_hours=hours or 24,
        catchup_overlap_seconds=60 if overlap is None else overlap,
    )


def _with_password(url: str) -> str:
    """Insert DATABASE_PASSWORD into a URL that has a user but no password, so the file holds no secret."""
    password = os.environ.get("DATABASE_PASSWORD")
    if not password or "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # not readable as a URL: left as it is, for the database's own check to refuse it in French
    if parsed.username and not parsed.password:
        return parsed.set(password=password).render_as_string(hide_password=False)
    return url


def _parse_budget(reader: TomlReader, table: dict[str, Any]) -> BudgetSettings:
    year = reader.optional_int(table, "budget.year")
    if year is not None and year not in BUDGET_YEARS:
        raise ConfigError(
            f"budget.year doit être une année entre {BUDGET_YEARS[0]} et {BUDGET_YEARS[-1]} (ex. 2026), "
            "ou absent pour l'année en cours."
        )
    cap = reader.money(table, "budget.hourly_cap", default=Decimal(30))
    if not 0 < cap <= MAX_HOURLY_CAP:
        raise ConfigError("budget.hourly_cap doit être positif et au plus 1000 € de l'heure (ex. 30).")
    policy = reader.string(table, "budget.overrun_policy", default="warn")
    if policy not in OVERRUN_POLICIES:
        raise ConfigError(f'budget.overrun_policy : « {policy} » inconnu ; attendu "warn" ou "refuse".')
    percent = reader.optional_int(table, "budget.warning_percent")
    percent = 80 if percent is None else percent
    if not 1 <= percent <= 100:
        raise ConfigError("budget.warning_percent doit être entre 1 et 100 (ex. 80).")
    max_decl = _bounded(reader, table, "budget.max_hours_per_declaration", 24, 24 * 366)
    max_int = _bounded(reader, table, "budget.max_hours_per_intention", 200, 24 * 366)
    return BudgetSettings(
        year=year,
        hourly_cap_cents=euros_to_cents(cap),
        announcement_threshold_cents=euros_to_cents(
            reader.money(table, "budget.announcement_threshold", default=Decimal(300))
        ),
        overrun_policy=policy,
        warning_percent=percent,
        max_minutes_per_declaration=max_decl * 60,
        max_minutes_per_intention=max_int * 60,
        contribution_channel=reader.optional_string(table, "budget.contribution_channel"),
        export_dir=reader.string(table, "budget.export_dir", default="exports"),
        treasurers_may_transfer=_boolean(table, "treasurers_may_transfer", "budget.treasurers_may_transfer"),
    )


def _source_url(url: str | None) -> str | None:
    """`bot.source_url`: an http(s) address with a host, shown to every member, so without credentials."""
    return _public_url(url, "bot.source_url", '(ex. "https://forge.exemple.org/opteos/coop-chatbot")', "dans /aide")


def _public_url(url: str | None, where: str, example: str, shown: str) -> str | None:
    """An http(s) address with a host that members read (`shown`: where), so without credentials."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(f"{where} doit être une adresse web en http:// ou https:// {example}, pas « {url} ».")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{where} ne doit contenir ni identifiant ni mot de passe (« nom:secret@ ») : "
            f"tous les membres la voient {shown} {example}."
        )
    return url


def _parse_meetings(reader: TomlReader, table: dict[str, Any]) -> MeetingSettings:
    server = reader.string(table, "meetings.jitsi_server", default=MeetingSettings.jitsi_server).rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise ConfigError('meetings.jitsi_server doit être une adresse web (ex. "https://visio.opteos.fr").')
    token = os.environ.get("CALENDAR_TOKEN") or reader.optional_string(table, "meetings.calendar_token")
    return MeetingSettings(
        jitsi_server=server,
        calendar_token=token,
        default_minutes=_bounded(reader, table, "meetings.default_minutes", MeetingSettings.default_minutes, 24 * 60),
        reminders=_reminders(reader, table, "meetings.reminders", MeetingSettings.reminders),
        announce_days=_bounded(reader, table, "meetings.announce_days", MeetingSettings.announce_days, 366),
    )


def _bounded(reader: TomlReader, table: dict[str, Any], where: str, default: int, most: int) -> int:
    """A whole number from 1 to `most`: beyond, a duration overflows the dates it is added to."""
    value = reader.optional_int(table, where)
    if value is None:
        return default
    if not 1 <= value <= most:
        raise ConfigError(f"{where} doit être un entier positif, au plus {most} (ex. {default}).")
    return value


def _reminders(reader: TomlReader, table: dict[str, Any], where: str, default: tuple[int, ...]) -> tuple[int, ...]:
    value = reader._leaf(table, where)
    if value is None:
        return default
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v <= _MAX_REMINDER for v in value
    ):
        raise ConfigError(
            f"{where} doit être une liste de minutes positives, au plus {_MAX_REMINDER} (ex. [1440, 60])."
        )
    return tuple(sorted(set(value), reverse=True))


_MAX_REMINDER = 60 * 24 * 366  # a reminder at most a year before the meeting


def _parse_circle(reader: TomlReader, index: int, table: dict[str, Any], meetings: MeetingSettings) -> CircleSettings:
    where = f"circles[{index + 1}]"
    circle_slug = slug(reader.string(table, f"{where}.slug"))
    if not circle_slug:
        raise ConfigError(f'{where}.slug ne doit pas être vide (ex. "tech").')
    return CircleSettings(
        slug=circle_slug,
        name=reader.string(table, f"{where}.name", default=circle_slug),
        aliases=tuple(reader.string_list(table, f"{where}.aliases")),
        public_channel=reader.optional_string(table, f"{where}.public_channel"),
        private_channel=reader.optional_string(table, f"{where}.private_channel"),
        meeting_minutes=_bounded(reader, table, f"{where}.meeting_minutes", meetings.default_minutes, 24 * 60),
        meeting_reminders=_reminders(reader, table, f"{where}.meeting_reminders", meetings.reminders),
        meeting_announce_days=_bounded(reader, table, f"{where}.meeting_announce_days", meetings.announce_days, 366),
        meeting_keepers=tuple(_usernames(reader, table, f"{where}.meeting_keepers")),
    )


def _parse_envelope(
    reader: TomlReader,
    index: int,
    table: dict[str, Any],
    circles: tuple[CircleSettings, ...],
    budget: BudgetSettings,
) -> EnvelopeSettings:
    where = f"envelopes[{index + 1}]"
    circle_slug = reader.optional_string(table, f"{where}.circle")
    circle = next((c for c in circles if c.slug == slug(circle_slug)), None) if circle_slug else None
    if circle_slug and circle is None:
        raise ConfigError(f"{where} : le cercle « {circle_slug} » n'est pas déclaré dans [[circles]].")
    env_slug = reader.optional_string(table, f"{where}.slug") or (circle.slug if circle else None)
    if not env_slug:
        raise ConfigError(f'{where} : indiquez slug = "…" ou circle = "…".')
    amount = reader.money(table, f"{where}.amount")
    if amount < 0:
        raise ConfigError(f"{where}.amount ne peut pas être négatif.")
    rate = reader.optional_money(table, f"{where}.rate")
    rate_cents = euros_to_cents(rate) if rate is not None else None
    if rate_cents is not None and not 0 < rate_cents <= budget.hourly_cap_cents:
        raise ConfigError(f"{where}.rate doit être positif et au plus budget.hourly_cap.")
    mode = reader.string(table, f"{where}.mode", default="both")
    if mode not in ENVELOPE_MODES:
        raise ConfigError(f'{where}.mode : « {mode} » inconnu ; attendu "hours", "flat" ou "both".')
    flat_min = reader.optional_money(table, f"{where}.flat_min")
    flat_max = reader.optional_money(table, f"{where}.flat_max")
    if flat_min is not None and flat_max is not None and flat_min > flat_max:
        raise ConfigError(f"{where} : flat_min est plus grand que flat_max.")
    default_name = circle.name if circle else env_slug
    return EnvelopeSettings(
        slug=slug(env_slug),
        name=reader.string(table, f"{where}.name", default=default_name),
        amount_cents=euros_to_cents(amount),
        circle=circle.slug if circle else (slug(circle_slug) if circle_slug else None),
        aliases=tuple(reader.string_list(table, f"{where}.aliases")),
        rate_cents=rate_cents,
        mode=mode,
        flat_min_cents=euros_to_cents(flat_min) if flat_min is not None else None,
        flat_max_cents=euros_to_cents(flat_max) if flat_max is not None else None,
    )


def _check_unique(values: list[str], where: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"{where} : « {value} » apparaît deux fois.")
        seen.add(value)


def _check_names_unambiguous(circles: tuple[CircleSettings, ...], envelopes: tuple[EnvelopeSettings, ...]) -> None:
    """A name a member types must lead to one envelope only."""
    owner: dict[str, str] = {}
    env_by_circle = {e.circle: e.slug for e in envelopes if e.circle}
    for circle in circles:
        target = env_by_circle.get(circle.slug, f"cercle:{circle.slug}")
        names = [circle.slug, circle.name, *circle.aliases]
        for name in names:
            _claim(owner, slug(name), target)
    for env in envelopes:
        for name in [env.slug, env.name, *env.aliases]:
            _claim(owner, slug(name), env.slug if not env.circle else env_by_circle[env.circle])


def _claim(owner: dict[str, str], name: str, target: str) -> None:
    if owner.setdefault(name, target) != target:
        raise ConfigError(f"Le nom « {name} » désigne deux enveloppes ou cercles différents ; renommez l'un d'eux.")
