"""Configuration: a TOML file read into typed, validated settings. Secrets come from the environment only."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.config_reader import ConfigError, TomlReader
from chatbot.consent_settings import ConsentSettings, parse_consent
from chatbot.money import euros_to_cents
from chatbot.text import slug

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///chatbot.db"
OVERRUN_POLICIES = ("warn", "refuse")
ENVELOPE_MODES = ("hours", "flat", "both")


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
    meeting_keepers: tuple[str, ...] = ()  # usernames who may cancel or move any of the circle's meetings


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


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    language: str = "fr"
    admins: frozenset[str] = frozenset()
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

    def circle(self, circle_slug: str) -> CircleSettings | None:
        return next((c for c in self.circles if c.slug == circle_slug), None)

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
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Fichier de configuration introuvable : {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} n'est pas un fichier TOML valide : {exc}") from exc
    url = database_url or os.environ.get("DATABASE_URL")
    return parse_settings(raw, source=path, database_url=url)


def parse_settings(raw: dict[str, Any], source: Path | None = None, database_url: str | None = None) -> Settings:
    reader = TomlReader(raw)
    bot = reader.table("bot")
    tz_name = reader.string(bot, "bot.timezone", default="Europe/Paris")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f'bot.timezone : fuseau horaire inconnu « {tz_name} » (ex. "Europe/Paris").') from exc
    language = reader.string(bot, "bot.language", default="fr")
    admins = frozenset(slug(a) for a in reader.string_list(bot, "bot.admins"))

    database = reader.table("database")
    url = database_url or reader.string(database, "database.url", default=DEFAULT_DATABASE_URL)
    url = _with_password(url)

    console = reader.table("console")
    console_user = reader.optional_string(console, "console.user")
    console_room = reader.string(console, "console.room", default="@bot")

    budget = _parse_budget(reader, reader.table("budget"))
    meetings = _parse_meetings(reader, reader.table("meetings"))
    circles = tuple(_parse_circle(reader, i, t, meetings) for i, t in enumerate(reader.table_list("circles")))
    _check_unique([c.slug for c in circles], "circles.slug")
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
    rocketchat = _parse_rocketchat(reader, reader.table("rocketchat"))
    web_table = reader.table("web")
    web_port = reader.optional_int(web_table, "web.port")
    if web_port is not None and not 0 <= web_port <= 65535:
        raise ConfigError("web.port doit être un numéro de port (ex. 8080, ou 0 pour un port libre).")
    web = WebSettings(
        host=reader.string(web_table, "web.host", default="127.0.0.1"), port=8080 if web_port is None else web_port
    )
    return Settings(
        timezone=timezone,
        language=language,
        admins=admins,
        database_url=url,
        console_user=slug(console_user) if console_user else None,
        console_room=console_room,
        budget=budget,
        circles=circles,
        envelopes=envelopes,
        source=source,
        consent=consent,
        meetings=meetings,
        rocketchat=rocketchat,
        web=web,
    )


def _parse_rocketchat(reader: TomlReader, table: dict[str, Any]) -> RocketChatSettings:
    url = reader.string(table, "rocketchat.url", default="http://localhost:3000").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f'rocketchat.url doit commencer par http:// ou https:// (ex. "https://chat.exemple.org"), pas « {url} ».'
        )
    thread_replies = table.get("thread_replies", True)
    if not isinstance(thread_replies, bool):
        raise ConfigError("rocketchat.thread_replies doit valoir true ou false.")
    hours = reader.optional_int(table, "rocketchat.catchup_max_hours")
    if hours is not None and hours <= 0:
        raise ConfigError("rocketchat.catchup_max_hours doit être positif (ex. 24).")
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

    parsed = make_url(url)
    if parsed.username and not parsed.password:
        return parsed.set(password=password).render_as_string(hide_password=False)
    return url


def _parse_budget(reader: TomlReader, table: dict[str, Any]) -> BudgetSettings:
    year = reader.optional_int(table, "budget.year")
    cap = reader.money(table, "budget.hourly_cap", default=Decimal(30))
    if cap <= 0:
        raise ConfigError("budget.hourly_cap doit être positif (ex. 30).")
    policy = reader.string(table, "budget.overrun_policy", default="warn")
    if policy not in OVERRUN_POLICIES:
        raise ConfigError(f'budget.overrun_policy : « {policy} » inconnu ; attendu "warn" ou "refuse".')
    percent = reader.optional_int(table, "budget.warning_percent")
    percent = 80 if percent is None else percent
    if not 1 <= percent <= 100:
        raise ConfigError("budget.warning_percent doit être entre 1 et 100 (ex. 80).")
    max_decl = reader.optional_int(table, "budget.max_hours_per_declaration") or 24
    max_int = reader.optional_int(table, "budget.max_hours_per_intention") or 200
    if max_decl <= 0 or max_int <= 0:
        raise ConfigError("budget.max_hours_per_* doivent être positifs (ex. 24).")
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
    )


def _parse_meetings(reader: TomlReader, table: dict[str, Any]) -> MeetingSettings:
    server = reader.string(table, "meetings.jitsi_server", default=MeetingSettings.jitsi_server).rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise ConfigError('meetings.jitsi_server doit être une adresse web (ex. "https://visio.opteos.fr").')
    token = os.environ.get("CALENDAR_TOKEN") or reader.optional_string(table, "meetings.calendar_token")
    return MeetingSettings(
        jitsi_server=server,
        calendar_token=token,
        default_minutes=_positive(reader, table, "meetings.default_minutes", MeetingSettings.default_minutes),
        reminders=_reminders(reader, table, "meetings.reminders", MeetingSettings.reminders),
        announce_days=_positive(reader, table, "meetings.announce_days", MeetingSettings.announce_days),
    )


def _positive(reader: TomlReader, table: dict[str, Any], where: str, default: int) -> int:
    value = reader.optional_int(table, where)
    if value is None:
        return default
    if value <= 0:
        raise ConfigError(f"{where} doit être un entier positif (ex. {default}).")
    return value


def _reminders(reader: TomlReader, table: dict[str, Any], where: str, default: tuple[int, ...]) -> tuple[int, ...]:
    value = reader._leaf(table, where)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"{where} doit être une liste de minutes positives (ex. [1440, 60]).")
    return tuple(sorted(set(value), reverse=True))


def _parse_circle(reader: TomlReader, index: int, table: dict[str, Any], meetings: MeetingSettings) -> CircleSettings:
    where = f"circles[{index + 1}]"
    circle_slug = slug(reader.string(table, f"{where}.slug"))
    if not circle_slug:
        raise ConfigError(f'{where}.slug est vide (ex. "tech").')
    return CircleSettings(
        slug=circle_slug,
        name=reader.string(table, f"{where}.name", default=circle_slug),
        aliases=tuple(reader.string_list(table, f"{where}.aliases")),
        public_channel=reader.optional_string(table, f"{where}.public_channel"),
        private_channel=reader.optional_string(table, f"{where}.private_channel"),
        meeting_minutes=_positive(reader, table, f"{where}.meeting_minutes", meetings.default_minutes),
        meeting_reminders=_reminders(reader, table, f"{where}.meeting_reminders", meetings.reminders),
        meeting_announce_days=_positive(reader, table, f"{where}.meeting_announce_days", meetings.announce_days),
        meeting_keepers=tuple(slug(k) for k in reader.string_list(table, f"{where}.meeting_keepers")),
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
