"""`/contrib moi` and `/contrib releve`: a member's dashboard and the statements for the accounts."""

from __future__ import annotations

from commands.contrib import group  # noqa: F401  (the subcommands below register on it)
