"""wiki publication: the revision of the decision register last published to each wiki page

The publication itself is a scheduled task (kind `wiki_publish`, see chatbot.wiki); this row keeps the sha256 of
the register's wikitext it published, so that the same register is never published twice.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wiki_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wiki", sa.String(length=500), nullable=False),
        sa.Column("page", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wiki_publication"),
        sa.UniqueConstraint("wiki", "page", name="uq_wiki_publication_wiki_page"),
    )


def downgrade() -> None:
    op.drop_table("wiki_publication")
