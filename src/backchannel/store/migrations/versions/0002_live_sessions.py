"""what live sessions need: idempotent sends, notification levels, presence

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            "uq_messages_channel_sid_from_key", ["channel_sid", "from", "key"]
        )
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column(
                "notification_level", sa.String(length=16), nullable=False, server_default="default"
            )
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("online_sessions", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("online_sessions")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("notification_level")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_channel_sid_from_key", type_="unique")
        batch.drop_column("key")
