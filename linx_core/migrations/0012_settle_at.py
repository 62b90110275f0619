"""When the rail will settle a transaction, as it recorded it (issue 13, section 3: the done page's arrival).

- ``transaction.settle_at``: an ACH entry's window settlement, picked when the submit job ran; nullable (a rail
  that names no moment, and rows written before) so the page falls back to the rail's promise.
"""
from linx_core.store.fields import UTCDateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('transaction', 'settle_at', UTCDateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('transaction', 'settle_at'),
    )
