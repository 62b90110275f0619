"""The Portal (issue 15): its people (``portal_user``), their sessions (``portal_session``) and the audit log of
the changes they make (``audit_event``). New tables only, so the code before them runs on as it did."""
from peewee import *
from linx_core.store.fields import JSONField
from linx_core.store.fields import UTCDateTimeField
import uuid


def up(migrator, db):
    class Business(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        class Meta:
            database = db
            table_name = 'business'

    class PortalUser(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        email = CharField(unique=True, max_length=254)
        role = CharField(max_length=16)
        password_hash = CharField(max_length=255)
        totp_sealed = TextField(null=True)
        disabled_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'portal_user'

    class PortalSession(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        user = ForeignKeyField(PortalUser, on_delete='CASCADE')
        token_hash = CharField(unique=True, max_length=64)
        address = CharField(max_length=64, null=True)
        created_at = UTCDateTimeField()
        seen_at = UTCDateTimeField()
        ended_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'portal_session'

    class AuditEvent(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        user = ForeignKeyField(PortalUser, null=True, on_delete='SET NULL')
        actor = CharField(max_length=254)
        action = CharField(max_length=64)
        object_type = CharField(max_length=32)
        object_id = CharField(max_length=64, null=True)
        address = CharField(max_length=64, null=True)
        details = JSONField(default=dict)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'audit_event'
            indexes = ((('business', 'created_at'), False),)
    db.create_tables([PortalUser, PortalSession, AuditEvent])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('audit_event'), migrator.drop_table('portal_session'),
                     migrator.drop_table('portal_user'))
