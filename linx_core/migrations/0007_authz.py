"""Debit authorizations (issue 14): the record a customer's acceptance of a debit authorization document makes."""
from peewee import *
from linx_core.store.fields import UTCDateTimeField
import uuid


def up(migrator, db):
    def table(name):
        class Ref(Model):
            id = UUIDField(primary_key=True)
            class Meta:
                database = db
                table_name = name
        return Ref

    class Authorization(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(table('business'), on_delete='CASCADE')
        workflow = ForeignKeyField(table('workflow'), null=True, on_delete='SET NULL')
        customer = ForeignKeyField(table('customer'), on_delete='RESTRICT')
        financial_account = ForeignKeyField(table('customer_financial_account'), on_delete='RESTRICT')
        status = CharField(max_length=16, default='ACTIVE', index=True)
        document_id = CharField(max_length=64)
        document_version = CharField(max_length=32)
        document_title = CharField(max_length=120)
        language = CharField(max_length=8)
        text_sha256 = CharField(max_length=64)
        masked_number = CharField(max_length=32)
        account_type = CharField(max_length=8)
        account_subtype = CharField(max_length=16)
        ip_address = CharField(max_length=45, null=True)
        user_agent = CharField(max_length=512, null=True)
        accepted_at = UTCDateTimeField(index=True)
        revoked_at = UTCDateTimeField(null=True)
        retain_until = UTCDateTimeField(null=True)
        personal_data_erased_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'debit_authorization'
            indexes = ((('workflow', 'document_id'), True),)
    db.create_tables([Authorization])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('debit_authorization'))
