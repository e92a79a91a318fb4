"""Alembic migration scripts: the only way the schema is created or changed."""
