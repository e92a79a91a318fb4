"""`/contrib facturer` and `/contrib payer`: the treasurers mark declarations invoiced, then paid."""

from __future__ import annotations

from commands.contrib import group  # noqa: F401  (the subcommands below register on it)
