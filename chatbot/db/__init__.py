"""Storage: SQLAlchemy 2.0 models, the async engine and schema migrations (Alembic)."""
