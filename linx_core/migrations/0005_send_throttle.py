"""The senders' pace (issue 14, sending discipline): ``send_bucket``, one row per channel and sender."""
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
    db.create_tables([SendBucket])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('send_bucket'))
