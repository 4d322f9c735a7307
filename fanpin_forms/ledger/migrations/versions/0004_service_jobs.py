"""Jobs that survive a worker: each run of a job is an attempt with a heartbeat, so a job whose
worker died (its heartbeat stopped) is claimed again by another worker, and a late or repeated
delivery never records a second ending; a cancel request; which worker holds the job.

The distributed queue's own tables (Procrastinate's ``procrastinate_*``) are not part of this
chain: ``fanpin worker`` and ``fanpin serve --queue`` apply Procrastinate's schema to the queue's
PostgreSQL when it is missing (``service/queue.py``).

Revision ID: 0004_service_jobs
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_service_jobs"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("svc_job") as batch:
        #: how many times a worker claimed the job (1 on its first run; +1 per reclaim or retry)
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        #: how many times an ending was recorded: exactly 1 for every ended job
        batch.add_column(sa.Column("finishes", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("heartbeat", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("worker", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(op.f("ix_svc_job_heartbeat"), "svc_job", ["heartbeat"])


def downgrade() -> None:
    op.drop_index(op.f("ix_svc_job_heartbeat"), table_name="svc_job")
    with op.batch_alter_table("svc_job") as batch:
        for column in ("cancel_requested", "worker", "heartbeat", "finishes", "attempt"):
            batch.drop_column(column)
