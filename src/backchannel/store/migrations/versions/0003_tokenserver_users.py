"""the token server's users, login sessions and API tokens

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _user_id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["tokenserver_users.id"],
            name=op.f(f"fk_{table}_user_id_tokenserver_users"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "tokenserver_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=256), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokenserver_users")),
        sa.UniqueConstraint("username", name=op.f("uq_tokenserver_users_username")),
    )
    op.create_table(
        "tokenserver_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        *_user_id("tokenserver_sessions"),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokenserver_sessions")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_tokenserver_sessions_id_hash")),
    )
    op.create_index(
        op.f("ix_tokenserver_sessions_user_id"), "tokenserver_sessions", ["user_id"]
    )
    op.create_index(
        op.f("ix_tokenserver_sessions_expires_at"), "tokenserver_sessions", ["expires_at"]
    )
    op.create_table(
        "tokenserver_api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        *_user_id("tokenserver_api_tokens"),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokenserver_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokenserver_api_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_tokenserver_api_tokens_user_id"), "tokenserver_api_tokens", ["user_id"]
    )


def downgrade() -> None:
    op.drop_table("tokenserver_api_tokens")
    op.drop_table("tokenserver_sessions")
    op.drop_table("tokenserver_users")
