"""Templates and batches (issue 14): ``template``, ``template_version``, ``batch``, ``batch_entry``, and a
workflow's ``template_id``, ``template_version`` and ``batch_id``.

A template's name is unique among the business's templates not deleted (a partial unique index), so a
deleted template's name may be reused.
"""
from peewee import *
from linx_core.store.fields import JSONField, UTCDateTimeField
import uuid


def up(migrator, db):
    class Business(Model):
        id = UUIDField(primary_key=True)
        class Meta:
            database = db
            table_name = 'business'

    class Template(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        name = CharField(max_length=64)
        status = CharField(max_length=16)
        version = IntegerField(default=1)
        latest = IntegerField(default=1)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'template'

    class TemplateVersion(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        template = ForeignKeyField(Template, on_delete='CASCADE')
        number = IntegerField()
        title = CharField(max_length=200)
        description = TextField(null=True)
        steps = JSONField()
        parameters = JSONField()
        overridable = JSONField()
        expire_in = IntegerField(null=True)
        passcode = BooleanField(null=True)
        customer_memo = TextField(null=True)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'template_version'
            indexes = ((('template', 'number'), True),)

    class Batch(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        template = ForeignKeyField(Template, on_delete='RESTRICT')
        template_version = IntegerField()
        status = CharField(max_length=16, index=True)
        version = IntegerField(default=1)
        idempotency_key = CharField(max_length=255)
        request_hash = CharField(max_length=64)
        source = CharField(max_length=8)
        total = IntegerField()
        valid = IntegerField(default=0)
        invalid = IntegerField(default=0)
        created = IntegerField(default=0)
        expanded_at = UTCDateTimeField(null=True)
        passcodes_taken_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'batch'
            indexes = ((('business', 'idempotency_key'), True), (('business', 'created_at'), False))

    class BatchEntry(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        batch = ForeignKeyField(Batch, on_delete='CASCADE')
        position = IntegerField()
        status = CharField(max_length=16, default='PENDING')
        external_id = CharField(max_length=128, null=True)
        title = CharField(max_length=400, null=True)
        parameters = JSONField()
        errors = JSONField(null=True)
        workflow_id = UUIDField(null=True)
        sealed_passcode = TextField(null=True)
        class Meta:
            database = db
            table_name = 'batch_entry'
            indexes = ((('batch', 'position'), True), (('batch', 'status', 'position'), False))

    db.create_tables([Template, TemplateVersion, Batch, BatchEntry])
    db.execute_sql('CREATE UNIQUE INDEX "template_live_name" ON "template" ("business_id", "name") '
                   "WHERE \"status\" != 'DELETED'")
    migrator.migrate(
        migrator.add_column('workflow', 'template_id', UUIDField(null=True)),
        migrator.add_column('workflow', 'template_version', IntegerField(null=True)),
        migrator.add_column('workflow', 'batch_id', UUIDField(null=True)),
        migrator.add_index('workflow', ('batch_id',), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('workflow', 'workflow_batch_id'),
        migrator.drop_column('workflow', 'batch_id'),
        migrator.drop_column('workflow', 'template_version'),
        migrator.drop_column('workflow', 'template_id'),
    )
    for table in ('batch_entry', 'batch', 'template_version', 'template'):
        migrator.migrate(migrator.drop_table(table))
