"""`/contrib modifier` and `/contrib annuler … raison`: correct or cancel a declaration afterwards, audited."""

from __future__ import annotations

from commands.contrib import group  # noqa: F401  (the subcommands below register on it)
