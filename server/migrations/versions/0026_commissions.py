"""commissions: payees, rules, frozen commission lines, the ledger, transfers

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27

Payees (sellers owning locations, creators) with their Stripe connected account's state;
commission rules by payee, product or category; the shares frozen on each order line; the
ledger of what each order brought each party; transfers and their reversals. A discount
code may belong to a creator (``discount_codes.payee_id``).
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "payees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("status", sa.String(16), server_default="invited", nullable=False),
        sa.Column("stripe_account", sa.String(64), nullable=True),
        sa.Column("charges_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("payouts_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("unready", sa.String(16), server_default="head_office", nullable=False),
        sa.Column("statement_key", sa.String(43), nullable=False),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('seller', 'creator')", name=op.f("ck_payees_kind_known")),
        sa.CheckConstraint(
            "status IN ('invited', 'onboarding', 'active', 'restricted')",
            name=op.f("ck_payees_status_known"),
        ),
        sa.CheckConstraint(
            "unready IN ('head_office', 'refuse')", name=op.f("ck_payees_unready_known")
        ),
        sa.CheckConstraint("code = lower(code)", name=op.f("ck_payees_code_lower_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payees")),
        sa.UniqueConstraint("code", name=op.f("uq_payees_code")),
        sa.UniqueConstraint("stripe_account", name=op.f("uq_payees_stripe_account")),
        sa.UniqueConstraint("statement_key", name=op.f("uq_payees_statement_key")),
    )
    op.create_table(
        "payee_locations",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_payee_locations_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"],
            ["payees.id"],
            name=op.f("fk_payee_locations_payee_id_payees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_payee_locations")),
    )
    op.create_index("ix_payee_locations_payee_id", "payee_locations", ["payee_id"])
    op.create_table(
        "commission_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("percent_bp", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fixed_amount", sa.BigInteger(), nullable=True),
        sa.Column("min_amount", sa.BigInteger(), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "percent_bp >= 0 AND percent_bp <= 10000",
            name=op.f("ck_commission_rules_percent_range"),
        ),
        sa.CheckConstraint(
            "sku IS NULL OR category IS NULL", name=op.f("ck_commission_rules_one_scope")
        ),
        sa.CheckConstraint(
            "(fixed_amount IS NULL OR fixed_amount >= 0)"
            " AND (min_amount IS NULL OR min_amount >= 0)"
            " AND (max_amount IS NULL OR max_amount >= 0)",
            name=op.f("ck_commission_rules_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "min_amount IS NULL OR max_amount IS NULL OR min_amount <= max_amount",
            name=op.f("ck_commission_rules_min_within_max"),
        ),
        sa.CheckConstraint(
            "(fixed_amount IS NULL AND min_amount IS NULL AND max_amount IS NULL)"
            " OR currency IS NOT NULL",
            name=op.f("ck_commission_rules_money_has_currency"),
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"],
            ["payees.id"],
            name=op.f("fk_commission_rules_payee_id_payees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rules")),
    )
    op.create_index("ix_commission_rules_payee_id", "commission_rules", ["payee_id"])
    op.create_table(
        "commission_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("base_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("percent_bp", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fixed_amount", sa.BigInteger(), nullable=True),
        sa.Column("min_amount", sa.BigInteger(), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        _created(),
        sa.CheckConstraint(
            "role IN ('seller', 'creator')", name=op.f("ck_commission_lines_role_known")
        ),
        sa.CheckConstraint(
            "amount >= 0 AND amount <= base_amount", name=op.f("ck_commission_lines_within_line")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_commission_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_commission_lines_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"], ["payees.id"], name=op.f("fk_commission_lines_payee_id_payees")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["commission_rules.id"],
            name=op.f("fk_commission_lines_rule_id_commission_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_lines")),
        sa.UniqueConstraint("order_line_id", "payee_id", name="uq_commission_lines_line_payee"),
    )
    op.create_index("ix_commission_lines_order_id", "commission_lines", ["order_id"])
    op.create_index("ix_commission_lines_payee_id", "commission_lines", ["payee_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("refund_key", sa.String(128), nullable=True),
        _created(),
        sa.CheckConstraint("kind IN ('sale', 'refund')", name=op.f("ck_ledger_entries_kind_known")),
        sa.CheckConstraint(
            "payee_id IS NULL OR (kind = 'sale' AND amount >= 0)"
            " OR (kind = 'refund' AND amount <= 0)",
            name=op.f("ck_ledger_entries_sign_matches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_ledger_entries_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"], ["payees.id"], name=op.f("fk_ledger_entries_payee_id_payees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_order_id", "ledger_entries", ["order_id"])
    op.create_index("ix_ledger_entries_payee_created", "ledger_entries", ["payee_id", "created_at"])
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("release", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reversed_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("owed_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("transfer_group", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("failure", sa.String(255), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.CheckConstraint(
            "kind IN ('destination', 'transfer')", name=op.f("ck_transfers_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'due', 'sending', 'paid', 'failed', 'canceled')",
            name=op.f("ck_transfers_status_known"),
        ),
        sa.CheckConstraint(
            "release IN ('fulfilment', 'return_window')", name=op.f("ck_transfers_release_known")
        ),
        sa.CheckConstraint(
            "amount >= 0 AND reversed_amount >= 0 AND owed_amount >= 0"
            " AND reversed_amount + owed_amount <= amount",
            name=op.f("ck_transfers_amounts_in_bounds"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_transfers_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payee_id"], ["payees.id"], name=op.f("fk_transfers_payee_id_payees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_transfers_idempotency_key")),
        sa.UniqueConstraint("order_id", "payee_id", name="uq_transfers_order_payee"),
    )
    op.create_index("ix_transfers_payee_id", "transfers", ["payee_id"])
    op.create_index("ix_transfers_status_due_at", "transfers", ["status", "due_at"])
    op.create_table(
        "transfer_reversals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        _created(),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('due', 'done', 'owed')", name=op.f("ck_transfer_reversals_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transfer_reversals_amount_positive")),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_reversals_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_reversals")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_transfer_reversals_idempotency_key")),
    )
    op.create_index("ix_transfer_reversals_transfer_id", "transfer_reversals", ["transfer_id"])
    with op.batch_alter_table("discount_codes") as batch:
        batch.add_column(sa.Column("payee_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_discount_codes_payee_id_payees"),
            "payees",
            ["payee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_discount_codes_payee_id", ["payee_id"])


def downgrade() -> None:
    with op.batch_alter_table("discount_codes") as batch:
        batch.drop_index("ix_discount_codes_payee_id")
        batch.drop_constraint("fk_discount_codes_payee_id_payees", type_="foreignkey")
        batch.drop_column("payee_id")
    op.drop_index("ix_transfer_reversals_transfer_id", table_name="transfer_reversals")
    op.drop_table("transfer_reversals")
    op.drop_index("ix_transfers_status_due_at", table_name="transfers")
    op.drop_index("ix_transfers_payee_id", table_name="transfers")
    op.drop_table("transfers")
    op.drop_index("ix_ledger_entries_payee_created", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_order_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_commission_lines_payee_id", table_name="commission_lines")
    op.drop_index("ix_commission_lines_order_id", table_name="commission_lines")
    op.drop_table("commission_lines")
    op.drop_index("ix_commission_rules_payee_id", table_name="commission_rules")
    op.drop_table("commission_rules")
    op.drop_index("ix_payee_locations_payee_id", table_name="payee_locations")
    op.drop_table("payee_locations")
    op.drop_table("payees")
