"""A provider's Retry-After holds a sender's whole queue (issue 14): ``send_bucket.held_until``, before which
none of its messages leaves, and ``shift``, the seconds every slot reserved so far has been pushed by the holds
(a slot reserved with ``shift`` k leaves at its time plus the bucket's ``shift`` minus k: the order is kept).
"""
from peewee import *
from linx_core.store.fields import UTCDateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('send_bucket', 'held_until', UTCDateTimeField(null=True)),
        migrator.add_column('send_bucket', 'shift', FloatField(default=0, constraints=[SQL('DEFAULT 0')])),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('send_bucket', 'shift'),
        migrator.drop_column('send_bucket', 'held_until'),
    )
