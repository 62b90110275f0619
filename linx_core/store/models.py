"""The rows LinX keeps. Every id is a UUID; money is Decimal; times are UTC.

Ownership runs through ``business``: every row a business can reach through
the API carries it, so that tenant isolation is one ``WHERE`` away.
"""
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, Self

import peewee as pw

from .. import clock
from . import db
from .fields import JSONField, MoneyField, UTCDateTimeField


def _now() -> dt.datetime:
    return clock.now()


class BaseModel(pw.Model):
    id = pw.UUIDField(primary_key=True, default=uuid.uuid4)
    _dirty: set[str]  # peewee's own, undeclared in its stubs

    class Meta:
        database = db
        legacy_table_names = False

    @classmethod
    def create(cls, **query: Any) -> Self:
        """``Model.create``, with the INSERT's text built once per model and set of columns.

        Every id is a UUID made before the INSERT, so nothing needs to come back from it; peewee would
        rebuild the same statement from its query tree on every call, which was a fifth of a workflow
        create (bench/README.md). The values go through each field's ``db_value`` as peewee's do.
        """
        inst = cls(**query)
        if _insert(cls, [inst]):
            inst._dirty.clear()
        else:
            inst.save(force_insert=True)
        return inst

    @classmethod
    def bulk_create(cls, model_list: Iterable[pw.Model], batch_size: int | None = None) -> None:
        """``Model.bulk_create`` (one INSERT of all the rows), with the statement's text built once."""
        rows: list[Any] = list(model_list)
        size = batch_size or len(rows) or 1
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            if not _insert(cls, batch):
                super().bulk_create(batch)
        for inst in rows:
            inst._dirty.clear()


_INSERTS: dict[tuple[Any, ...], str] = {}  # (model, database class, column names, rows) -> the INSERT's text


def _insert(model: type[BaseModel], instances: list[Any]) -> bool:
    """One INSERT of ``instances``; False (and nothing done) when peewee's own way is needed: rows that set
    different fields, or a value that is an SQL expression rather than a value."""
    if not instances:
        return True
    names = tuple(name for name in model._meta.sorted_field_names if name in instances[0].__data__)
    fields = [model._meta.fields[name] for name in names]
    params = []
    for inst in instances:
        data = inst.__data__
        if len(data) != len(names) or any(name not in data for name in names):
            return False
        for field, name in zip(fields, names, strict=True):
            value = data[name]
            if isinstance(value, pw.Node):
                return False
            params.append(field.db_value(value))
    database = model._meta.database
    target = getattr(database, "obj", None) or database
    key = (model, type(target), names, len(instances))
    sql = _INSERTS.get(key)
    if sql is None:
        quote = target.quote or '""'
        columns = ", ".join(quote[0] + field.column_name + quote[1] for field in fields)
        row = "(" + ", ".join([target.param] * len(fields)) + ")"
        table = quote[0] + model._meta.table_name + quote[1]
        sql = _INSERTS[key] = f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * len(instances))
    defer = getattr(target, "defer", None)
    if defer is None or not defer(sql, params):
        database.execute_sql(sql, params)
    return True


class Business(BaseModel):
    name = pw.CharField(max_length=120, unique=True)
    display_name = pw.CharField(max_length=120)
    passcode_default = pw.BooleanField(default=True)
    settings = JSONField(default=dict)
    created_at = UTCDateTimeField(default=_now)


class ApiKey(BaseModel):
    """A business's API key: only its hash is kept; the prefix and the label tell keys apart.

    A ``read_only`` key may only read (GET). ``last_used_at`` is written at most once a minute per key
    (:func:`linx_core.services.businesses.authenticate`), so a busy key costs no write per request. Among
    a business's keys not revoked, a label names one key (a partial unique index, below): a revoked
    key's label can be given to its replacement.
    """

    business = pw.ForeignKeyField(Business, backref="api_keys", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    prefix = pw.CharField(max_length=16)
    key_hash = pw.CharField(max_length=64, unique=True)
    label = pw.CharField(max_length=64, null=True)
    read_only = pw.BooleanField(default=False)
    created_at = UTCDateTimeField(default=_now)
    last_used_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)


ApiKey.add_index(ApiKey.index(ApiKey.business, ApiKey.label, unique=True, where=ApiKey.revoked_at.is_null(),
                              name="api_key_active_label"))


class BusinessFinancialAccount(BaseModel):
    business = pw.ForeignKeyField(Business, backref="financial_accounts", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    name = pw.CharField(max_length=120)
    type = pw.CharField(max_length=8)  # BANK
    subtype = pw.CharField(max_length=16)  # CHECKING | SAVING
    currency = pw.CharField(max_length=3)
    masked_number = pw.CharField(max_length=32, default="")
    created_at = UTCDateTimeField(default=_now)


class Customer(BaseModel):
    business = pw.ForeignKeyField(Business, backref="customers", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    status = pw.CharField(max_length=16, default="ACTIVE")
    first_name = pw.CharField(max_length=40)
    last_name = pw.CharField(max_length=40)
    phone_number = pw.CharField(max_length=16, null=True, index=True)
    email = pw.CharField(max_length=254, null=True)
    date_of_birth = pw.DateField(null=True)
    addresses = JSONField(default=list)
    created_at = UTCDateTimeField(default=_now)
    erased_at = UTCDateTimeField(null=True)  # status ERASED: the personal data is gone (services.erasure)

    class Meta:
        # one customer per phone number and business (the Gateway recognises customers by phone)
        indexes = ((("business", "phone_number"), True),)


class CustomerFinancialAccount(BaseModel):
    """A customer's card or bank account. The number itself lives only in ``sealed_number``."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    customer = pw.ForeignKeyField(Customer, backref="financial_accounts", on_delete="CASCADE")
    customer_id: uuid.UUID  # peewee's accessor
    type = pw.CharField(max_length=8)  # CARD | BANK
    subtype = pw.CharField(max_length=16)
    state = pw.CharField(max_length=16, default="ACTIVE")
    holder_name = pw.CharField(max_length=120)
    sealed_number = pw.TextField()
    last4 = pw.CharField(max_length=4)
    masked_number = pw.CharField(max_length=32)
    fingerprint = pw.CharField(max_length=64, index=True)
    brand = pw.CharField(max_length=24, null=True)
    expiry = pw.CharField(max_length=7, null=True)  # yyyy-MM
    routing_number = pw.CharField(max_length=9, null=True)
    bank_name = pw.CharField(max_length=120, null=True)
    currency = pw.CharField(max_length=3, default="USD")
    billing_address = JSONField(null=True)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("customer", "fingerprint", "subtype"), True),)  # the same number twice is one account


class Workflow(BaseModel):
    business = pw.ForeignKeyField(Business, backref="workflows", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    status = pw.CharField(max_length=16, index=True)
    version = pw.IntegerField(default=1)
    title = pw.CharField(max_length=200)
    channel = pw.CharField(max_length=16)
    phone_number = pw.CharField(max_length=16, null=True)
    email = pw.CharField(max_length=254, null=True)
    customer = pw.ForeignKeyField(Customer, null=True, on_delete="SET NULL")
    customer_id: uuid.UUID | None  # peewee's accessor
    customer_account = pw.ForeignKeyField(CustomerFinancialAccount, null=True, on_delete="SET NULL")
    customer_account_id: uuid.UUID | None  # peewee's accessor
    parameters = JSONField(default=dict)
    customer_memo = pw.TextField(null=True)
    amount = MoneyField(null=True)
    currency = pw.CharField(max_length=3, null=True)
    current_step = pw.IntegerField(default=0)
    passcode_hash = pw.CharField(max_length=64, null=True)
    passcode_attempts = pw.IntegerField(default=0)
    locked_at = UTCDateTimeField(null=True)
    # bumped by a resend, a cancel and a passcode lockout: a Gateway session carries the epoch it was bound
    # at, and one from an earlier epoch opens nothing (gateway_app.gateway.security)
    session_epoch = pw.IntegerField(default=0)
    reminders_sent = pw.IntegerField(default=0)
    expire_at = UTCDateTimeField()
    next_notification_at = UTCDateTimeField(null=True)
    completed_at = UTCDateTimeField(null=True)
    decline_reason = pw.CharField(max_length=64, null=True)
    # a recovery (linx_core.services.recovery): the ended workflow this one replaces, and the one that replaced
    # this; a workflow is recovered at most once (the unique index holds it against two at once)
    recovered_from = pw.UUIDField(null=True, unique=True)
    recovered_by = pw.UUIDField(null=True)
    created_at = UTCDateTimeField(default=_now, index=True)
    updated_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "created_at"), False),)


class WorkflowStep(BaseModel):
    workflow = pw.ForeignKeyField(Workflow, backref="steps", on_delete="CASCADE")
    workflow_id: uuid.UUID  # peewee's accessor
    position = pw.IntegerField()
    name = pw.CharField(max_length=48)
    status = pw.CharField(max_length=16, default="CREATED")
    data = JSONField(default=dict)
    updated_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("workflow", "position"), True),)


class DocumentAcceptance(BaseModel):
    """A customer's acceptance of one version of one document, with the time."""

    workflow = pw.ForeignKeyField(Workflow, backref="acceptances", on_delete="CASCADE")
    workflow_id: uuid.UUID  # peewee's accessor
    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    customer = pw.ForeignKeyField(Customer, null=True, on_delete="SET NULL")
    customer_id: uuid.UUID | None  # peewee's accessor
    document_id = pw.CharField(max_length=64)
    document_version = pw.CharField(max_length=32)
    title = pw.CharField(max_length=120)
    accepted_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("workflow", "document_id"), True),)


class Transaction(BaseModel):
    """Money moving between a business account and a customer account, through one solution (rail)."""

    business = pw.ForeignKeyField(Business, backref="transactions", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    workflow = pw.ForeignKeyField(Workflow, null=True, unique=True, on_delete="SET NULL")
    workflow_id: uuid.UUID | None  # peewee's accessor
    customer = pw.ForeignKeyField(Customer, on_delete="RESTRICT")  # money records are never deleted in passing
    customer_id: uuid.UUID  # peewee's accessor
    customer_account = pw.ForeignKeyField(CustomerFinancialAccount, on_delete="RESTRICT")
    customer_account_id: uuid.UUID  # peewee's accessor
    business_account = pw.ForeignKeyField(BusinessFinancialAccount, on_delete="RESTRICT")
    business_account_id: uuid.UUID  # peewee's accessor
    type = pw.CharField(max_length=16)  # SEND | REQUEST | REVERSAL
    solution = pw.CharField(max_length=48)
    priority = pw.CharField(max_length=16, null=True)
    amount = MoneyField()
    currency = pw.CharField(max_length=3)
    payment_reason = pw.CharField(max_length=64, null=True)
    description = pw.CharField(max_length=100, null=True)
    memo = pw.CharField(max_length=140, null=True)
    status = pw.CharField(max_length=16, index=True)
    version = pw.IntegerField(default=1)
    rail_reference = pw.CharField(max_length=128, null=True)
    return_code = pw.CharField(max_length=8, null=True)
    message = pw.TextField(null=True)
    settle_at = UTCDateTimeField(null=True)  # when the rail will settle it, as the rail recorded it
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)


class TransactionStatus(BaseModel):
    """The status history of a transaction: every change, with its time and message."""

    transaction = pw.ForeignKeyField(Transaction, backref="history", on_delete="CASCADE")
    transaction_id: uuid.UUID  # peewee's accessor
    seq = pw.IntegerField()
    status = pw.CharField(max_length=16)
    message = pw.TextField(null=True)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        table_name = "transaction_history"  # "transaction_status" is the name of an index on transaction
        indexes = ((("transaction", "seq"), True),)


class Link(BaseModel):
    """A link sent to the customer. Only the token's hash is kept; each message gets its own link."""

    workflow = pw.ForeignKeyField(Workflow, backref="links", on_delete="CASCADE")
    workflow_id: uuid.UUID  # peewee's accessor
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField(default=_now)
    revoked_at = UTCDateTimeField(null=True)


class Notification(BaseModel):
    """One message to the customer: its serial, channel, origin and delivery status."""

    workflow = pw.ForeignKeyField(Workflow, backref="notifications", on_delete="CASCADE")
    workflow_id: uuid.UUID  # peewee's accessor
    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    serial = pw.IntegerField()
    channel = pw.CharField(max_length=16)
    origin = pw.CharField(max_length=24)  # INITIAL | MANUAL | REMINDER | EXPIRY | COMPLETION[_SEND|_REQUEST]
    status = pw.CharField(max_length=16, default="QUEUED")
    provider = pw.CharField(max_length=32, null=True)
    provider_id = pw.CharField(max_length=64, null=True, index=True)
    error_code = pw.CharField(max_length=32, null=True)
    reason = pw.TextField(null=True)
    notified_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("workflow", "serial"), True),)


class Event(BaseModel):
    """One state change: the audit trail and the source of webhooks."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    type = pw.CharField(max_length=64)
    subject_id = pw.UUIDField(index=True)
    data = JSONField()
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "created_at"), False),)


class Job(BaseModel):
    """An effect to carry out, written in the same transaction as its cause."""

    kind = pw.CharField(max_length=48)
    payload = JSONField(default=dict)
    business = pw.ForeignKeyField(Business, null=True, on_delete="CASCADE")
    business_id: uuid.UUID | None  # peewee's accessor
    status = pw.CharField(max_length=12, default="DUE")  # DUE | RUNNING | DONE | PARKED
    run_at = UTCDateTimeField(default=_now)
    attempts = pw.IntegerField(default=0)
    lease_until = UTCDateTimeField(null=True)
    locked_by = pw.CharField(max_length=64, null=True)
    last_error = pw.TextField(null=True)
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("status", "run_at"), False),)


class WebhookSubscription(BaseModel):
    """Where a business hears about events. Secrets are sealed; during a rotation both sign."""

    business = pw.ForeignKeyField(Business, backref="subscriptions", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    description = pw.CharField(max_length=200, default="")
    url = pw.CharField(max_length=2000)
    event_types = JSONField(default=list)
    status = pw.CharField(max_length=16, default="ACTIVE")  # ACTIVE | SUSPENDED | DISABLED
    sealed_secret = pw.TextField()
    sealed_previous_secret = pw.TextField(null=True)
    previous_expires_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)


class WebhookDelivery(BaseModel):
    """One attempt to deliver one event to one subscription."""

    subscription = pw.ForeignKeyField(WebhookSubscription, backref="deliveries", on_delete="CASCADE")
    subscription_id: uuid.UUID  # peewee's accessor
    event = pw.ForeignKeyField(Event, on_delete="CASCADE")
    event_id: uuid.UUID  # peewee's accessor
    attempt = pw.IntegerField()
    outcome = pw.CharField(max_length=16)  # SUCCEEDED | FAILED
    http_status = pw.IntegerField(null=True)
    error = pw.TextField(null=True)
    duration_ms = pw.IntegerField(default=0)
    manual = pw.BooleanField(default=False)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("subscription", "created_at"), False),)


class IdempotencyRecord(BaseModel):
    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    key = pw.CharField(max_length=255)
    request_hash = pw.CharField(max_length=64)
    state = pw.CharField(max_length=12, default="IN_FLIGHT")  # IN_FLIGHT | DONE
    response_status = pw.IntegerField(null=True)
    response_body = pw.TextField(null=True)
    created_at = UTCDateTimeField(default=_now)
    expires_at = UTCDateTimeField()

    class Meta:
        indexes = ((("business", "key"), True),)


class RateCounter(BaseModel):
    """One rate limit's counter: the hits on ``key`` in the window from ``window_start`` to ``expires_at``.

    Counters live here, not in a process's memory, so that every web process shares them
    (:mod:`linx_core.services.limits`). A window starts at its key's first hit; the first hit after it
    ends starts the next one. Rows whose window has ended are purged by the worker's maintenance.
    """

    key = pw.CharField(max_length=128, unique=True)  # kind:scope:window-seconds (a contact only as a hash)
    window_start = UTCDateTimeField()
    expires_at = UTCDateTimeField(index=True)
    count = pw.IntegerField(default=0)


MODELS = [
    Business, ApiKey, BusinessFinancialAccount, Customer, CustomerFinancialAccount,
    Workflow, WorkflowStep, DocumentAcceptance, Transaction, TransactionStatus, Link, Notification, Event, Job,
    WebhookSubscription, WebhookDelivery,
    IdempotencyRecord, RateCounter,
]
