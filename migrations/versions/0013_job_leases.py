"""job leases: one row per scheduled job, claimed by compare-and-set so any number of
scheduler processes run each due job once

Revision ID: 0013_job_leases
Revises: 0012_sales_summaries
Create Date: 2026-12-02 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0013_job_leases'
down_revision = '0012_sales_summaries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('lease_until', UTCDateTime(), nullable=True),
    sa.Column('next_due_at', UTCDateTime(), nullable=False),
    sa.Column('last_started_at', UTCDateTime(), nullable=True),
    sa.Column('last_finished_at', UTCDateTime(), nullable=True),
    sa.Column('last_holder', sa.String(length=120), nullable=True),
    sa.Column('last_result', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.CheckConstraint('runs >= 0', name=op.f('ck_job_runs_runs_not_negative')),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_runs'))
    )


def downgrade():
    op.drop_table('job_runs')
