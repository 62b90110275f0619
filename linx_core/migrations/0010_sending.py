"""Sending discipline (issue 14): ``send_bucket``, one row per channel and sender (the pace), and ``opt_out``,
the recipients who asked a business to send no more."""
from peewee import *
from linx_core.store.fields import UTCDateTimeField
import uuid


def up(migrator, db):
    class SendBucket(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        key = CharField(unique=True, max_length=160)
        next_at = UTCDateTimeField()
        sent_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'send_bucket'
    class Business(Model):
        id = UUIDField(primary_key=True)
        class Meta:
            database = db
            table_name = 'business'

    class OptOut(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        channel = CharField(max_length=16)
        contact = CharField(max_length=254)
        reason = CharField(max_length=200)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'opt_out'
            indexes = ((('business', 'channel', 'contact'), True),)
    db.create_tables([SendBucket, OptOut])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('opt_out'))
    migrator.migrate(migrator.drop_table('send_bucket'))
