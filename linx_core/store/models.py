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
    # made from a template (its version) or by a batch (issue 14); ids, no foreign key: tenancy is ``business``
    template_id = pw.UUIDField(null=True)
    template_version = pw.IntegerField(null=True)
    batch_id = pw.UUIDField(null=True, index=True)

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


class Authorization(BaseModel):
    """A customer's debit authorization: the record NACHA asks the business to keep (issue 14).

    Made when a customer accepts a document whose catalog entry has ``kind: debit-authorization`` on a
    workflow with a bank account: the document and version, the sha256 of the exact text shown, the
    time, the account (its id and masked number), and the Gateway session's IP address and user agent.
    Revoking keeps the row (``retain_until`` two years on); erasing the customer blanks ``ip_address`` and
    ``user_agent`` (``personal_data_erased_at``), never the rest.
    """

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    workflow = pw.ForeignKeyField(Workflow, null=True, on_delete="SET NULL")
    workflow_id: uuid.UUID | None  # peewee's accessor
    customer = pw.ForeignKeyField(Customer, on_delete="RESTRICT")
    customer_id: uuid.UUID  # peewee's accessor
    financial_account = pw.ForeignKeyField(CustomerFinancialAccount, on_delete="RESTRICT")
    financial_account_id: uuid.UUID  # peewee's accessor
    status = pw.CharField(max_length=16, default="ACTIVE", index=True)
    document_id = pw.CharField(max_length=64)
    document_version = pw.CharField(max_length=32)
    document_title = pw.CharField(max_length=120)
    language = pw.CharField(max_length=8)
    text_sha256 = pw.CharField(max_length=64)
    masked_number = pw.CharField(max_length=32)
    account_type = pw.CharField(max_length=8)
    account_subtype = pw.CharField(max_length=16)
    ip_address = pw.CharField(max_length=45, null=True)
    user_agent = pw.CharField(max_length=512, null=True)
    accepted_at = UTCDateTimeField(default=_now, index=True)
    revoked_at = UTCDateTimeField(null=True)
    retain_until = UTCDateTimeField(null=True)
    personal_data_erased_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "debit_authorization"  # AUTHORIZATION is an SQL keyword
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


# -- the Portal (issue 15) ---------------------------------------------------------------------------------------
ROLES = ("admin", "operator", "viewer")


class PortalUser(BaseModel):
    """A person of one business who signs in to the Portal: ``role`` is admin, operator or viewer.

    Only an argon2 hash of the password is kept; the TOTP secret (when enrolled) is sealed with the data key,
    as webhook secrets are. A disabled user (``disabled_at``) cannot sign in, and their sessions have ended.
    """

    business = pw.ForeignKeyField(Business, backref="portal_users", on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    email = pw.CharField(max_length=254, unique=True)  # lower case
    role = pw.CharField(max_length=16)
    password_hash = pw.CharField(max_length=255)
    totp_sealed = pw.TextField(null=True)
    disabled_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=_now)


class PortalSession(BaseModel):
    """A signed-in browser: the cookie carries a random token, the row only its hash. A session ends at
    sign-out, after ``LINX_PORTAL_IDLE_SECONDS`` unused, or when revoked (a disabled user, a new password)."""

    user = pw.ForeignKeyField(PortalUser, backref="sessions", on_delete="CASCADE")
    user_id: uuid.UUID  # peewee's accessor
    token_hash = pw.CharField(max_length=64, unique=True)
    address = pw.CharField(max_length=64, null=True)
    created_at = UTCDateTimeField(default=_now)
    seen_at = UTCDateTimeField(default=_now)
    ended_at = UTCDateTimeField(null=True)


class AuditEvent(BaseModel):
    """One change made by a person: who (``actor``, and the user when it was one), what (``action``), which
    object, when and from which address (``cli`` for the command line)."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    user = pw.ForeignKeyField(PortalUser, null=True, on_delete="SET NULL")
    user_id: uuid.UUID | None  # peewee's accessor
    actor = pw.CharField(max_length=254)
    action = pw.CharField(max_length=64)
    object_type = pw.CharField(max_length=32)
    object_id = pw.CharField(max_length=64, null=True)
    address = pw.CharField(max_length=64, null=True)
    details = JSONField(default=dict)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "created_at"), False),)


class Template(BaseModel):
    """A business's reusable workflow definition; its content lives in versions (:class:`TemplateVersion`).

    ``version`` is the optimistic lock of :func:`linx_core.lifecycle.save_status`; ``latest`` is the number of
    the newest version. A name names one template among the business's templates not DELETED (a partial
    unique index, below): a deleted template's name may be reused.
    """

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    name = pw.CharField(max_length=64)
    status = pw.CharField(max_length=16)
    version = pw.IntegerField(default=1)
    latest = pw.IntegerField(default=1)
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)


Template.add_index(Template.index(Template.business, Template.name, unique=True,
                                  where=Template.status != "DELETED", name="template_live_name"))


class TemplateVersion(BaseModel):
    """One version of a template, never changed once written."""

    template = pw.ForeignKeyField(Template, backref="versions", on_delete="CASCADE")
    template_id: uuid.UUID  # peewee's accessor
    number = pw.IntegerField()
    title = pw.CharField(max_length=200)
    description = pw.TextField(null=True)
    steps = JSONField(default=list)
    parameters = JSONField(default=dict)
    overridable = JSONField(default=list)
    expire_in = pw.IntegerField(null=True)  # days
    passcode = pw.BooleanField(null=True)
    customer_memo = pw.TextField(null=True)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("template", "number"), True),)


class Batch(BaseModel):
    """One request to make a workflow per entry from one template version, expanded by the worker."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    template = pw.ForeignKeyField(Template, on_delete="RESTRICT")
    template_id: uuid.UUID  # peewee's accessor
    template_version = pw.IntegerField()
    status = pw.CharField(max_length=16, index=True)
    version = pw.IntegerField(default=1)
    idempotency_key = pw.CharField(max_length=255)
    request_hash = pw.CharField(max_length=64)
    source = pw.CharField(max_length=8)  # JSON | CSV
    total = pw.IntegerField()
    valid = pw.IntegerField(default=0)
    invalid = pw.IntegerField(default=0)
    created = pw.IntegerField(default=0)
    expanded_at = UTCDateTimeField(null=True)
    passcodes_taken_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=_now)
    updated_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "idempotency_key"), True), (("business", "created_at"), False))


class BatchEntry(BaseModel):
    """One entry of a batch: what was asked (``parameters``), then its workflow or its errors."""

    batch = pw.ForeignKeyField(Batch, backref="entries", on_delete="CASCADE")
    batch_id: uuid.UUID  # peewee's accessor
    position = pw.IntegerField()  # the entry's index (JSON, from 0) or row number (CSV, the header is row 1)
    status = pw.CharField(max_length=16, default="PENDING")  # PENDING | CREATED | INVALID | CANCELLED
    external_id = pw.CharField(max_length=128, null=True)
    title = pw.CharField(max_length=400, null=True)
    parameters = JSONField(default=dict)
    errors = JSONField(null=True)
    workflow_id = pw.UUIDField(null=True)
    sealed_passcode = pw.TextField(null=True)

    class Meta:
        indexes = ((("batch", "position"), True), (("batch", "status", "position"), False))


class SendBucket(BaseModel):
    """One sender's pace: the next moment a message may leave it (:mod:`linx_core.services.throttle`)."""

    key = pw.CharField(max_length=160, unique=True)  # channel:sender
    next_at = UTCDateTimeField()  # the next slot to give
    sent_at = UTCDateTimeField(null=True)  # when a message last left
    held_until = UTCDateTimeField(null=True)  # a provider's Retry-After: nothing leaves before then
    shift = pw.FloatField(default=0)  # seconds the holds pushed every slot reserved so far


class OptOut(BaseModel):
    """A recipient who asked one business (or its sender) to send no more on a channel."""

    business = pw.ForeignKeyField(Business, on_delete="CASCADE")
    business_id: uuid.UUID  # peewee's accessor
    channel = pw.CharField(max_length=16)
    contact = pw.CharField(max_length=254)
    reason = pw.CharField(max_length=200)
    created_at = UTCDateTimeField(default=_now)

    class Meta:
        indexes = ((("business", "channel", "contact"), True),)


MODELS = [
    Business, ApiKey, BusinessFinancialAccount, Customer, CustomerFinancialAccount,
    Workflow, WorkflowStep, DocumentAcceptance, Authorization, Transaction, TransactionStatus, Link, Notification,
    Event, Job, WebhookSubscription, WebhookDelivery,
    IdempotencyRecord, RateCounter, Template, TemplateVersion, Batch, BatchEntry,
    SendBucket, OptOut,
    PortalUser, PortalSession, AuditEvent,
]
