"""UCP checkout sessions

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26

The sessions an agent builds over UCP's REST binding (lines, buyer, destination, option and
codes as chosen, never a price), bound to the agent that created them (``agent``: the
SHA-256 of its profile URL) with a separate random id for ``continue_url``; the short links
minted for each session's hand-off; and the answers given under each Idempotency-Key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_STATUSES = (
    "'incomplete', 'requires_escalation', 'ready_for_complete', 'complete_in_progress', "
    "'completed', 'canceled'"
)


def upgrade() -> None:
    op.create_table(
        "ucp_checkout_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("agent", sa.String(length=64), server_default="", nullable=False),
        sa.Column("continue_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("line_items", sa.Text(), nullable=False),
        sa.Column("buyer", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("shipping_option", sa.String(length=64), nullable=True),
        sa.Column("codes", sa.Text(), nullable=False),
        sa.Column("order_public_id", sa.String(length=64), nullable=True),
        sa.Column("handoff_code", sa.String(length=16), nullable=True),
        sa.Column("handoff_state", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"status IN ({_STATUSES})", name=op.f("ck_ucp_checkout_sessions_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ucp_checkout_sessions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_ucp_checkout_sessions_public_id")),
        sa.UniqueConstraint("continue_id", name=op.f("uq_ucp_checkout_sessions_continue_id")),
    )
    op.create_index("ix_ucp_checkout_sessions_expires_at", "ucp_checkout_sessions", ["expires_at"])
    op.create_table(
        "ucp_handoffs",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ucp_checkout_sessions.id"],
            name=op.f("fk_ucp_handoffs_session_id_ucp_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ucp_handoffs")),
    )
    op.create_index("ix_ucp_handoffs_session_id", "ucp_handoffs", ["session_id"])
    op.create_table(
        "ucp_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ucp_idempotency_keys")),
        sa.UniqueConstraint("agent", "key", name="key_per_agent"),
    )
    op.create_index("ix_ucp_idempotency_keys_created_at", "ucp_idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ucp_idempotency_keys_created_at", table_name="ucp_idempotency_keys")
    op.drop_table("ucp_idempotency_keys")
    op.drop_index("ix_ucp_handoffs_session_id", table_name="ucp_handoffs")
    op.drop_table("ucp_handoffs")
    op.drop_index("ix_ucp_checkout_sessions_expires_at", table_name="ucp_checkout_sessions")
    op.drop_table("ucp_checkout_sessions")
