"""`/contrib questionner` and `/contrib confirmer`: the look taken afterwards at a declaration."""

from __future__ import annotations

from commands.contrib import group  # noqa: F401  (the subcommands below register on it)
