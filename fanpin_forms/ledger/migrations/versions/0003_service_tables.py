"""The web service's tables (accounts, sessions, login attempts, API tokens, uploads, jobs) join the
ledger's database, so that one database holds the cases and the jobs that change them, and any web
process or worker sees the same state.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "svc_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("township", sa.String(length=64), nullable=True),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_user")),
    )
    op.create_index(op.f("ix_svc_user_name"), "svc_user", ["name"], unique=True)

    op.create_table(
        "svc_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["svc_user.id"], name=op.f("fk_svc_session_user_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_svc_session")),
    )
    op.create_index(op.f("ix_svc_session_expires"), "svc_session", ["expires"])

    op.create_table(
        "svc_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_login_attempt")),
    )
    for col in ("name", "client", "at"):
        op.create_index(op.f(f"ix_svc_login_attempt_{col}"), "svc_login_attempt", [col])

    op.create_table(
        "svc_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.DateTime(), nullable=True),
        sa.Column("last_used", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["svc_user.id"], name=op.f("fk_svc_api_token_user_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_api_token")),
    )
    op.create_index(op.f("ix_svc_api_token_user_id"), "svc_api_token", ["user_id"])
    op.create_index(op.f("ix_svc_api_token_token_hash"), "svc_api_token", ["token_hash"], unique=True)

    op.create_table(
        "svc_upload",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("township", sa.String(length=64), nullable=True),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["svc_user.id"], name=op.f("fk_svc_upload_user_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_upload")),
    )
    op.create_index(op.f("ix_svc_upload_user_id"), "svc_upload", ["user_id"])
    op.create_index(op.f("ix_svc_upload_sha256"), "svc_upload", ["sha256"])

    op.create_table(
        "svc_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("township", sa.String(length=64), nullable=True),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=128), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("result_path", sa.String(length=1024), nullable=True),
        sa.Column("result_name", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=True),
        sa.Column("finished", sa.DateTime(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["svc_user.id"], name=op.f("fk_svc_job_user_id"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_job")),
    )
    op.create_index(op.f("ix_svc_job_user_id"), "svc_job", ["user_id"])
    op.create_index(op.f("ix_svc_job_state"), "svc_job", ["state"])
    op.create_index(op.f("ix_svc_job_created"), "svc_job", ["created"])


def downgrade() -> None:
    for table in ("svc_job", "svc_upload", "svc_api_token", "svc_login_attempt", "svc_session", "svc_user"):
        op.drop_table(table)
