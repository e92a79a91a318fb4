"""coordination between processes: the active replica's epoch, and a generation of the budget's names and years

One row (id 1). Triggers bump `generation` whenever an envelope is created, renamed (slug, name, year) or removed,
or a budget year row changes, whatever process does it; the bot reads it in each batch's transaction and forgets the
names and open years it keeps in memory when it moved.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WATCHED = {"envelope": "slug, name, year", "budget_year": "closed_at"}


def upgrade() -> None:
    op.create_table(
        "coordination",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_coordination"),
    )
    op.execute("INSERT INTO coordination (id, epoch, generation) VALUES (1, 0, 0)")
    bump = "UPDATE coordination SET generation = generation + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_budget_generation() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {bump}; RETURN NULL; END $$"
        )
        for table, columns in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER {table}_generation AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_budget_generation()"
            )
    else:
        for table, columns in WATCHED.items():
            for event in ("INSERT", "DELETE", f"UPDATE OF {columns}"):
                name = f"{table}_generation_{event.split()[0].lower()}"
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {bump}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_budget_generation()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_generation_{event}")
    op.drop_table("coordination")
