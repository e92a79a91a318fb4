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
