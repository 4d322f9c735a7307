"""Alembic environment: run in code by :mod:`fanpin_forms.ledger.db` on a connection it passes in
``config.attributes["connection"]``; there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from fanpin_forms.ledger.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
