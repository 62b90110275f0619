"""The initial schema: a frozen copy of the models as they first shipped."""
from peewee import *
from linx_core.store.fields import JSONField
from linx_core.store.fields import MoneyField
from linx_core.store.fields import UTCDateTimeField
import uuid


def up(migrator, db):
    class Business(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        name = CharField(unique=True, max_length=120)
        display_name = CharField(max_length=120)
        passcode_default = BooleanField(default=True)
        settings = JSONField(default=dict)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'business'
    db.create_tables([Business])

    class ApiKey(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        prefix = CharField(max_length=16)
        key_hash = CharField(unique=True, max_length=64)
        created_at = UTCDateTimeField()
        revoked_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'api_key'
    db.create_tables([ApiKey])

    class BusinessFinancialAccount(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        name = CharField(max_length=120)
        type = CharField(max_length=8)
        subtype = CharField(max_length=16)
        currency = CharField(max_length=3)
        masked_number = CharField(max_length=32, default='')
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'business_financial_account'
    db.create_tables([BusinessFinancialAccount])

    class Customer(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        status = CharField(max_length=16, default='ACTIVE')
        first_name = CharField(max_length=40)
        last_name = CharField(max_length=40)
        phone_number = CharField(index=True, null=True, max_length=16)
        email = CharField(null=True, max_length=254)
        date_of_birth = DateField(null=True)
        addresses = JSONField(default=list)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'customer'
            indexes = ((('business', 'phone_number'), True),)
    db.create_tables([Customer])

    class CustomerFinancialAccount(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        type = CharField(max_length=8)
        subtype = CharField(max_length=16)
        state = CharField(max_length=16, default='ACTIVE')
        holder_name = CharField(max_length=120)
        sealed_number = TextField()
        last4 = CharField(max_length=4)
        masked_number = CharField(max_length=32)
        fingerprint = CharField(index=True, max_length=64)
        brand = CharField(null=True, max_length=24)
        expiry = CharField(null=True, max_length=7)
        routing_number = CharField(null=True, max_length=9)
        bank_name = CharField(null=True, max_length=120)
        currency = CharField(max_length=3, default='USD')
        billing_address = JSONField(null=True)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'customer_financial_account'
            indexes = ((('customer', 'fingerprint', 'subtype'), True),)
    db.create_tables([CustomerFinancialAccount])

    class Workflow(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        status = CharField(index=True, max_length=16)
        version = IntegerField(default=1)
        title = CharField(max_length=200)
        channel = CharField(max_length=16)
        phone_number = CharField(null=True, max_length=16)
        email = CharField(null=True, max_length=254)
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        customer_account = ForeignKeyField(CustomerFinancialAccount, null=True, on_delete='SET NULL')
        parameters = JSONField(default=dict)
        customer_memo = TextField(null=True)
        amount = MoneyField(null=True)
        currency = CharField(null=True, max_length=3)
        current_step = IntegerField(default=0)
        passcode_hash = CharField(null=True, max_length=64)
        passcode_attempts = IntegerField(default=0)
        locked_at = UTCDateTimeField(null=True)
        reminders_sent = IntegerField(default=0)
        expire_at = UTCDateTimeField()
        next_notification_at = UTCDateTimeField(null=True)
        completed_at = UTCDateTimeField(null=True)
        decline_reason = CharField(null=True, max_length=64)
        created_at = UTCDateTimeField(index=True)
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'workflow'
            indexes = ((('business', 'created_at'), False),)
    db.create_tables([Workflow])

    class DocumentAcceptance(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        workflow = ForeignKeyField(Workflow, on_delete='CASCADE')
        business = ForeignKeyField(Business, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        document_id = CharField(max_length=64)
        document_version = CharField(max_length=32)
        title = CharField(max_length=120)
        accepted_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'document_acceptance'
            indexes = ((('workflow', 'document_id'), True),)
    db.create_tables([DocumentAcceptance])

    class Event(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        type = CharField(max_length=64)
        subject_id = UUIDField(index=True)
        data = JSONField()
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'event'
            indexes = ((('business', 'created_at'), False),)
    db.create_tables([Event])

    class IdempotencyRecord(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        key = CharField()
        request_hash = CharField(max_length=64)
        state = CharField(max_length=12, default='IN_FLIGHT')
        response_status = IntegerField(null=True)
        response_body = TextField(null=True)
        created_at = UTCDateTimeField()
        expires_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'idempotency_record'
            indexes = ((('business', 'key'), True),)
    db.create_tables([IdempotencyRecord])

    class Job(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        kind = CharField(max_length=48)
        payload = JSONField(default=dict)
        business = ForeignKeyField(Business, null=True, on_delete='CASCADE')
        status = CharField(max_length=12, default='DUE')
        run_at = UTCDateTimeField()
        attempts = IntegerField(default=0)
        lease_until = UTCDateTimeField(null=True)
        locked_by = CharField(null=True, max_length=64)
        last_error = TextField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'job'
            indexes = ((('status', 'run_at'), False),)
    db.create_tables([Job])

    class Link(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        workflow = ForeignKeyField(Workflow, on_delete='CASCADE')
        token_hash = CharField(unique=True, max_length=64)
        created_at = UTCDateTimeField()
        revoked_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'link'
    db.create_tables([Link])

    class Notification(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        workflow = ForeignKeyField(Workflow, on_delete='CASCADE')
        business = ForeignKeyField(Business, on_delete='CASCADE')
        serial = IntegerField()
        channel = CharField(max_length=16)
        origin = CharField(max_length=24)
        status = CharField(max_length=16, default='QUEUED')
        provider = CharField(null=True, max_length=32)
        provider_id = CharField(index=True, null=True, max_length=64)
        error_code = CharField(null=True, max_length=32)
        reason = TextField(null=True)
        notified_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('workflow', 'serial'), True),)
    db.create_tables([Notification])

    class Transaction(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        workflow = ForeignKeyField(Workflow, unique=True, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, on_delete='RESTRICT')
        customer_account = ForeignKeyField(CustomerFinancialAccount, on_delete='RESTRICT')
        business_account = ForeignKeyField(BusinessFinancialAccount, on_delete='RESTRICT')
        type = CharField(max_length=16)
        solution = CharField(max_length=48)
        priority = CharField(null=True, max_length=16)
        amount = MoneyField()
        currency = CharField(max_length=3)
        payment_reason = CharField(null=True, max_length=64)
        description = CharField(null=True, max_length=100)
        memo = CharField(null=True, max_length=140)
        status = CharField(index=True, max_length=16)
        version = IntegerField(default=1)
        rail_reference = CharField(null=True, max_length=128)
        return_code = CharField(null=True, max_length=8)
        message = TextField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'transaction'
    db.create_tables([Transaction])

    class TransactionStatus(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        transaction = ForeignKeyField(Transaction, on_delete='CASCADE')
        seq = IntegerField()
        status = CharField(max_length=16)
        message = TextField(null=True)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'transaction_history'
            indexes = ((('transaction', 'seq'), True),)
    db.create_tables([TransactionStatus])

    class WebhookSubscription(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        business = ForeignKeyField(Business, on_delete='CASCADE')
        description = CharField(max_length=200, default='')
        url = CharField(max_length=2000)
        event_types = JSONField(default=list)
        status = CharField(max_length=16, default='ACTIVE')
        sealed_secret = TextField()
        sealed_previous_secret = TextField(null=True)
        previous_expires_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'webhook_subscription'
    db.create_tables([WebhookSubscription])

    class WebhookDelivery(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        subscription = ForeignKeyField(WebhookSubscription, on_delete='CASCADE')
        event = ForeignKeyField(Event, on_delete='CASCADE')
        attempt = IntegerField()
        outcome = CharField(max_length=16)
        http_status = IntegerField(null=True)
        error = TextField(null=True)
        duration_ms = IntegerField(default=0)
        manual = BooleanField(default=False)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'webhook_delivery'
            indexes = ((('subscription', 'created_at'), False),)
    db.create_tables([WebhookDelivery])

    class WorkflowStep(Model):
        id = UUIDField(primary_key=True, default=uuid.uuid4)
        workflow = ForeignKeyField(Workflow, on_delete='CASCADE')
        position = IntegerField()
        name = CharField(max_length=48)
        status = CharField(max_length=16, default='CREATED')
        data = JSONField(default=dict)
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'workflow_step'
            indexes = ((('workflow', 'position'), True),)
    db.create_tables([WorkflowStep])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('workflow_step'))
    migrator.migrate(migrator.drop_table('webhook_delivery'))
    migrator.migrate(migrator.drop_table('webhook_subscription'))
    migrator.migrate(migrator.drop_table('transaction_history'))
    migrator.migrate(migrator.drop_table('transaction'))
    migrator.migrate(migrator.drop_table('notification'))
    migrator.migrate(migrator.drop_table('link'))
    migrator.migrate(migrator.drop_table('job'))
    migrator.migrate(migrator.drop_table('idempotency_record'))
    migrator.migrate(migrator.drop_table('event'))
    migrator.migrate(migrator.drop_table('document_acceptance'))
    migrator.migrate(migrator.drop_table('workflow'))
    migrator.migrate(migrator.drop_table('customer_financial_account'))
    migrator.migrate(migrator.drop_table('customer'))
    migrator.migrate(migrator.drop_table('business_financial_account'))
    migrator.migrate(migrator.drop_table('api_key'))
    migrator.migrate(migrator.drop_table('business'))
