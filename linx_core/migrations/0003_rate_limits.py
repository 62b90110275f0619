"""Rate limits in the database: one counter per key and window, shared by every process (issue 12)."""
from peewee import *
from linx_core.store.fields import UTCDateTimeField
import uuid


def up(migrator, db):
    class RateCounter(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        key = CharField(unique=True, max_length=128)
        window_start = UTCDateTimeField()
        expires_at = UTCDateTimeField(index=True)
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'rate_counter'
    db.create_tables([RateCounter])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('rate_counter'))
