"""Alembic environment: runs on the connection ``store.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from backchannel.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations only run through store.db.migrate
    raise RuntimeError("run migrations through backchannel.store.db.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
