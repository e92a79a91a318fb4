"""The names members may type for the configured circles, built once from the configuration."""

from __future__ import annotations

from chatbot.config import Settings
from chatbot.grammar.base import EnvelopeDirectory
from chatbot.text import slug


def circle_directory(settings: Settings) -> EnvelopeDirectory:
    """Every name a member may type for a circle (slug, name, alias, channel) → the circle's slug."""
    names: dict[str, str] = {}
    for circle in settings.circles:
        for name in (circle.slug, circle.name, *circle.aliases, circle.public_channel, circle.private_channel):
            if name:
                names.setdefault(slug(name), circle.slug)
    return EnvelopeDirectory(names)


def envelope_names(settings: Settings) -> dict[str, str]:
    """Every name the configuration gives an envelope → its slug (a circle's names lead to the circle's envelope)."""
    names: dict[str, str] = {}
    env_of_circle = {e.circle: e.slug for e in settings.envelopes if e.circle}
    for circle in settings.circles:
        target = env_of_circle.get(circle.slug, circle.slug)
        for name in (circle.slug, circle.name, *circle.aliases, circle.public_channel, circle.private_channel):
            if name:
                names.setdefault(slug(name), target)
    for env in settings.envelopes:
        for name in (env.slug, env.name, *env.aliases):
            names.setdefault(slug(name), env.slug)
    return names
