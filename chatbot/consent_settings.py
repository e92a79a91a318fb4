"""The `[consent]` table of the configuration: where rounds may open and, per circle, how they are decided.

Kept apart from chatbot/config.py so that the consent feature owns its settings; config.py calls `parse_consent`
and turns its ValueError into a ConfigError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot.text import slug

STYLES = ("s3", "sofa")
MAX_QUORUM = 10_000  # members who must have answered: more than any cooperative's membership is a typo


@dataclass(frozen=True)
class ConsentRules:
    """How one circle decides: Sociocracy 3.0 (concerns recorded, not blocking) or SoFA (consent or objection)."""

    style: str = "s3"
    quorum: int | None = None  # minimum number of members who answered (stand aside included)
    deadline_hours: int = 72
    reminder_hours: int | None = 24  # None: no reminder before the deadline


@dataclass(frozen=True)
class ConsentSettings:
    governance_channels: tuple[str, ...] = ("gouvernance",)
    defaults: ConsentRules = field(default_factory=ConsentRules)
    circles: dict[str, ConsentRules] = field(default_factory=dict)

    def rules(self, circle: str | None) -> ConsentRules:
        return self.circles.get(circle, self.defaults) if circle else self.defaults

    def is_governance_channel(self, room_name: str | None) -> bool:
        return bool(room_name) and slug(room_name or "") in {slug(c) for c in self.governance_channels}


def parse_consent(table: Any, circle_slugs: set[str]) -> ConsentSettings:
    """Validate `[consent]` and `[consent.circles.<slug>]`; raises ValueError with a French explanation."""
    if not isinstance(table, dict):
        raise ValueError("[consent] doit être une table TOML.")
    channels = table.get("governance_channels", ["gouvernance"])
    if not isinstance(channels, list) or not all(isinstance(c, str) and c.strip() for c in channels):
        raise ValueError('consent.governance_channels doit être une liste de canaux (ex. ["gouvernance"]).')
    defaults = _rules(table, "consent", ConsentRules())
    circles: dict[str, ConsentRules] = {}
    per_circle = table.get("circles", {})
    if not isinstance(per_circle, dict):
        raise ValueError("[consent.circles] doit être une table de tables, ex. [consent.circles.tech].")
    for name, sub in per_circle.items():
        key = slug(name)
        if key not in circle_slugs:
            raise ValueError(f"consent.circles.{name} : ce cercle n'est pas déclaré dans [[circles]].")
        if not isinstance(sub, dict):
            raise ValueError(f"consent.circles.{name} doit être une table.")
        circles[key] = _rules(sub, f"consent.circles.{name}", defaults)
    return ConsentSettings(tuple(c.strip().lstrip("#") for c in channels), defaults, circles)


def _rules(table: dict[str, Any], where: str, base: ConsentRules) -> ConsentRules:
    style = table.get("style", base.style)
    if style not in STYLES:
        raise ValueError(f'{where}.style : « {style} » inconnu ; attendu "s3" ou "sofa".')
    quorum = table.get("quorum", base.quorum)
    if quorum is not None and (not _is_int(quorum) or not 1 <= quorum <= MAX_QUORUM):
        raise ValueError(f"{where}.quorum doit être un nombre entier entre 1 et {MAX_QUORUM} (ex. 3), ou absent.")
    hours = table.get("deadline_hours", base.deadline_hours)
    if not _is_int(hours) or not 1 <= hours <= 24 * 90:
        raise ValueError(f"{where}.deadline_hours doit être un nombre d'heures entre 1 et 2160 (ex. 72).")
    reminder = table.get("reminder_hours", base.reminder_hours)
    if reminder is False or reminder == 0:
        reminder = None
    if reminder is not None and (not _is_int(reminder) or not 0 <= reminder <= 24 * 90):
        raise ValueError(
            f"{where}.reminder_hours doit être un nombre d'heures entre 0 et 2160 (ex. 24), 0 pour aucun rappel."
        )
    return ConsentRules(style=style, quorum=quorum, deadline_hours=hours, reminder_hours=reminder)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
