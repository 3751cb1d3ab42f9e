"""webhook endpoint secrets with overlap windows, endpoint state (issue 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

Every secret a rotation replaces gets a row with its own expiry (two rotations in a day no
longer drop the first overlap); ``previous_secret`` and ``previous_secret_until`` move there.
Endpoints gain ``disabled_at``.

The two columns are dropped with a plain ``ALTER TABLE … DROP COLUMN`` (SQLite 3.35+, which
the rate limits' ``RETURNING`` needs anyway), not a batch copy: a copy drops the old table,
and with foreign keys on, SQLite would cascade that to every delivery.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_endpoint_secrets_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint_secrets")),
    )
    with op.batch_alter_table("webhook_endpoint_secrets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoint_secrets_endpoint_id"), ["endpoint_id"], unique=False
        )
    op.execute(
        "INSERT INTO webhook_endpoint_secrets (endpoint_id, secret, expires_at)"
        " SELECT id, previous_secret, previous_secret_until FROM webhook_endpoints"
        " WHERE previous_secret IS NOT NULL AND previous_secret_until IS NOT NULL"
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_column("webhook_endpoints", "previous_secret_until")
    op.drop_column("webhook_endpoints", "previous_secret")


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True)
        )
    # Only one overlap fits the old columns: keep the one that lasts longest.
    op.execute(
        "UPDATE webhook_endpoints SET"
        " previous_secret = (SELECT s.secret FROM webhook_endpoint_secrets s"
        " WHERE s.endpoint_id = webhook_endpoints.id ORDER BY s.expires_at DESC LIMIT 1),"
        " previous_secret_until = (SELECT MAX(s.expires_at) FROM webhook_endpoint_secrets s"
        " WHERE s.endpoint_id = webhook_endpoints.id)"
    )
    op.drop_column("webhook_endpoints", "disabled_at")
    with op.batch_alter_table("webhook_endpoint_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoint_secrets_endpoint_id"))
    op.drop_table("webhook_endpoint_secrets")
