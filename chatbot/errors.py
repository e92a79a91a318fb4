"""User-facing failures. They carry a catalogue key and data; the French text is rendered by the router."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Something the member can fix. Nothing has been written when it is raised."""

    def __init__(self, key: str, **data: Any) -> None:
        super().__init__(key)
        self.key = key
        self.data = data


class ArgumentError(UserError):
    """An argument that has the right shape but a wrong value (`0h`, `31/02`, `#cercle-inconnu`)."""


class UsageError(UserError):
    """Missing or extra arguments: the reply shows the command's usage and an example."""


class DomainError(UserError):
    """A rule of the cooperative refuses the request (closed year, rate above the cap, overrun…)."""


class PermissionDenied(UserError):
    """The command is reserved to admins, or the item belongs to someone else."""
