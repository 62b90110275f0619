"""The read side (issue 13): ``customer.erased_at``, when a customer's personal data was erased (null until then)."""
from peewee import *
from linx_core.store.fields import UTCDateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column('customer', 'erased_at', UTCDateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('customer', 'erased_at'))
