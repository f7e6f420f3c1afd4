"""The schema: one SQLAlchemy Core table per resource.

Every table has an integer ``id`` (insertion order; lists page by it) and a unique ``sid``.
Rows refer to each other by SID. Dates are naive UTC (``store.clock.utcnow``). JSON documents
(attributes, limits, notifications, permissions) are kept as text, exactly as validated.
Changing a table needs a new revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SID = 34


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _sid() -> Column[str]:
    return Column("sid", String(SID), nullable=False, unique=True)


def _dates() -> list[Column[object]]:
    return [
        Column("date_created", DateTime, nullable=False),
        Column("date_updated", DateTime, nullable=False),
    ]


def _service() -> Column[str]:
    return Column(
        "service_sid", String(SID), ForeignKey("services.sid", ondelete="CASCADE"), nullable=False
    )


def _channel() -> Column[str]:
    return Column(
        "channel_sid", String(SID), ForeignKey("channels.sid", ondelete="CASCADE"), nullable=False
    )


accounts = Table(
    "accounts",
    metadata,
    _id(),
    _sid(),
    Column("friendly_name", String(256), nullable=False),
    Column("auth_token_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # active | suspended | closed
    *_dates(),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _sid(),
    Column(
        "account_sid", String(SID), ForeignKey("accounts.sid", ondelete="CASCADE"), nullable=False
    ),
    Column("friendly_name", String(64), nullable=False),
    Column("secret_encrypted", LargeBinary, nullable=False),
    *_dates(),
    Index("ix_api_keys_account_sid", "account_sid"),
)

services = Table(
    "services",
    metadata,
    _id(),
    _sid(),
    Column(
        "account_sid", String(SID), ForeignKey("accounts.sid", ondelete="CASCADE"), nullable=False
    ),
    Column("friendly_name", String(256), nullable=False),
    Column("default_service_role_sid", String(SID)),
    Column("default_channel_role_sid", String(SID)),
    Column("default_channel_creator_role_sid", String(SID)),
    Column("read_status_enabled", Boolean, nullable=False),
    Column("reachability_enabled", Boolean, nullable=False),
    Column("typing_indicator_timeout", Integer, nullable=False),
    Column("consumption_report_interval", Integer, nullable=False),
    Column("limits", Text, nullable=False),  # {"channel_members", "user_channels"}
    Column("notifications", Text, nullable=False),
    Column("media", Text, nullable=False),  # {"size_limit_mb", "compatibility_message"}
    Column("pre_webhook_url", Text),
    Column("post_webhook_url", Text),
    Column("webhook_method", String(8), nullable=False),
    Column("webhook_filters", Text, nullable=False),  # JSON list
    Column("pre_webhook_retry_count", Integer, nullable=False),
    Column("post_webhook_retry_count", Integer, nullable=False),
    *_dates(),
    Index("ix_services_account_sid", "account_sid"),
)

roles = Table(
    "roles",
    metadata,
    _id(),
    _sid(),
    _service(),
    Column("friendly_name", String(64), nullable=False),
    Column("type", String(16), nullable=False),  # deployment | channel
    Column("permissions", Text, nullable=False),  # JSON list of permission names
    *_dates(),
    UniqueConstraint("service_sid", "friendly_name", name="uq_roles_service_friendly_name"),
)

users = Table(
    "users",
    metadata,
    _id(),
    _sid(),
    _service(),
    Column("identity", String(256), nullable=False),
    Column("role_sid", String(SID), ForeignKey("roles.sid"), nullable=False),
    Column("friendly_name", String(256)),
    Column("attributes", Text, nullable=False),
    Column("joined_channels_count", Integer, nullable=False, default=0),
    Column("is_online", Boolean),
    Column("is_notifiable", Boolean),
    # Live sessions of the user on every node; is_online follows it when reachability is on.
    Column("online_sessions", Integer, nullable=False, server_default="0"),
    *_dates(),
    UniqueConstraint("service_sid", "identity", name="uq_users_service_identity"),
)

channels = Table(
    "channels",
    metadata,
    _id(),
    _sid(),
    _service(),
    Column("unique_name", String(256)),
    Column("friendly_name", String(256)),
    Column("attributes", Text, nullable=False),
    Column("type", String(16), nullable=False),  # public | private
    Column("created_by", String(256), nullable=False),
    Column("members_count", Integer, nullable=False, default=0),
    Column("messages_count", Integer, nullable=False, default=0),
    Column("next_message_index", Integer, nullable=False, default=0),
    *_dates(),
    # NULLs are distinct in both SQLite and PostgreSQL, so channels without a unique name coexist.
    UniqueConstraint("service_sid", "unique_name", name="uq_channels_service_unique_name"),
)

members = Table(
    "members",
    metadata,
    _id(),
    _sid(),
    _service(),
    _channel(),
    Column("identity", String(256), nullable=False),
    Column("user_sid", String(SID), ForeignKey("users.sid", ondelete="CASCADE"), nullable=False),
    Column("role_sid", String(SID), ForeignKey("roles.sid"), nullable=False),
    Column("last_consumed_message_index", Integer),
    Column("last_consumption_timestamp", DateTime),
    Column("attributes", Text, nullable=False),
    Column("notification_level", String(16), nullable=False, server_default="default"),
    *_dates(),
    UniqueConstraint("channel_sid", "identity", name="uq_members_channel_identity"),
    Index("ix_members_user_sid", "user_sid"),
)

messages = Table(
    "messages",
    metadata,
    _id(),
    _sid(),
    _service(),
    _channel(),
    Column("index", Integer, nullable=False),
    Column("from", String(256), nullable=False),
    Column("to", String(SID), nullable=False),  # the channel SID, as Twilio reports it
    Column("body", Text),
    Column("attributes", Text, nullable=False),
    Column("was_edited", Boolean, nullable=False, default=False),
    Column("last_updated_by", String(256)),
    Column("media", Text),  # JSON object or NULL
    Column("type", String(16), nullable=False),  # text | media
    Column("key", String(64)),  # a live client's idempotency key for retried sends
    *_dates(),
    UniqueConstraint("channel_sid", "index", name="uq_messages_channel_index"),
    UniqueConstraint("channel_sid", "from", "key", name="uq_messages_channel_sid_from_key"),
)

invites = Table(
    "invites",
    metadata,
    _id(),
    _sid(),
    _service(),
    _channel(),
    Column("identity", String(256), nullable=False),
    Column("role_sid", String(SID), ForeignKey("roles.sid"), nullable=False),
    Column("created_by", String(256)),
    *_dates(),
    UniqueConstraint("channel_sid", "identity", name="uq_invites_channel_identity"),
)

# The token server's own users ("your backend"): not chat users, but who may get a chat token.
# Secrets are kept hashed: passwords with argon2, session ids and API tokens with SHA-256.
tokenserver_users = Table(
    "tokenserver_users",
    metadata,
    _id(),
    Column("username", String(256), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    *_dates(),
)


def _tokenserver_user() -> Column[int]:
    return Column(
        "user_id",
        Integer,
        ForeignKey("tokenserver_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


tokenserver_sessions = Table(
    "tokenserver_sessions",
    metadata,
    _id(),
    Column("id_hash", String(64), nullable=False, unique=True),
    _tokenserver_user(),
    Column("csrf_token", String(64), nullable=False),
    Column("date_created", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

tokenserver_api_tokens = Table(
    "tokenserver_api_tokens",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    _tokenserver_user(),
    Column("date_created", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)
