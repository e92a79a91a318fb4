"""Typed access to raw TOML values; every failure names the key and, where it helps, an example."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chatbot.money import euros_to_cents, parse_euros


class ConfigError(Exception):
    """A configuration mistake, described for the admin who wrote the file."""


class TomlReader:
    """Typed access to raw TOML values, each failure naming the key and an example."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def table(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] doit être une table TOML.")
        return value

    def table_list(self, key: str) -> list[dict[str, Any]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{key} doit être une liste de tables [[{key}]].")
        return value

    @staticmethod
    def _leaf(table: dict[str, Any], where: str) -> Any:
        return table.get(where.rsplit(".", 1)[-1])

    def string(self, table: dict[str, Any], where: str, default: str | None = None) -> str:
        value = self._leaf(table, where)
        if value is None:
            if default is None:
                raise ConfigError(f"{where} manque.")
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} doit être un texte non vide.")
        return value.strip()

    def optional_string(self, table: dict[str, Any], where: str) -> str | None:
        value = self._leaf(table, where)
        return None if value is None else self.string(table, where)

    def string_list(self, table: dict[str, Any], where: str) -> list[str]:
        value = self._leaf(table, where)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f'{where} doit être une liste de textes (ex. ["a", "b"]).')
        return [v.strip() for v in value]

    def optional_int(self, table: dict[str, Any], where: str) -> int | None:
        value = self._leaf(table, where)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where} doit être un nombre entier.")
        return value

    def optional_money(self, table: dict[str, Any], where: str) -> Decimal | None:
        value = self._leaf(table, where)
        if value is None:
            return None
        return self.money(table, where)

    def money(self, table: dict[str, Any], where: str, default: Decimal | None = None) -> Decimal:
        value = self._leaf(table, where)
        if value is None:
            if default is None:
                raise ConfigError(f"{where} manque (un montant en euros, ex. 1500).")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f'{where} doit être un montant en euros (ex. 1500 ou "250,50").')
        try:
            amount = parse_euros(str(value))
            euros_to_cents(amount)
        except ValueError as exc:
            raise ConfigError(f"{where} : « {value} » n'est pas un montant au centime près (ex. 250,50).") from exc
        return amount
