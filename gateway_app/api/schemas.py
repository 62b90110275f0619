"""The API's response shapes (camelCase), used to render and to document."""
from marshmallow import Schema, fields


class Out(Schema):
    class Meta:
        ordered = True


class ProblemOut(Out):
    path = fields.String(metadata={"description": "Where: a dotted path into the request (`parameters.amount`)."})
    message = fields.String()
    errorCode = fields.String()


class ErrorOut(Out):
    timestamp = fields.String(metadata={"format": "date-time"})
    traceId = fields.String()
    message = fields.String()
    errorCode = fields.String()
    errors = fields.List(fields.Nested(ProblemOut))


class StepOut(Out):
    id = fields.UUID()
    name = fields.String()
    displayName = fields.String()
    description = fields.String()
    status = fields.String(metadata={"enum": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "FAILED"]})


class WorkflowOut(Out):
    id = fields.UUID()
    status = fields.String(metadata={"enum": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "EXPIRED",
                                              "CANCELLED", "ARCHIVED", "FAILED"]})
    title = fields.String()
    currentStep = fields.Integer(metadata={"description": "Index of the step the customer does next."})
    steps = fields.List(fields.Nested(StepOut))
    channel = fields.String()
    phoneNumber = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    customerId = fields.UUID(allow_none=True)
    parameters = fields.Dict(metadata={"description": "The parameters as accepted; amounts as decimal strings."})
    customerMemo = fields.String(allow_none=True)
    passcodeRequired = fields.Boolean()
    expireAt = fields.String(metadata={"format": "date-time"})
    nextNotificationAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    completedAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    declineReason = fields.String(allow_none=True)
    createdAt = fields.String(metadata={"format": "date-time"})
    updatedAt = fields.String(metadata={"format": "date-time"})


class WorkflowCreatedOut(WorkflowOut):
    passcode = fields.String(allow_none=True, metadata={
        "description": "The passcode the customer must enter, returned this once and stored only as a hash."})


class NotificationOut(Out):
    id = fields.UUID()
    serial = fields.Integer()
    channel = fields.String()
    origin = fields.String(metadata={"enum": ["INITIAL", "MANUAL", "REMINDER", "EXPIRY", "COMPLETION",
                                              "COMPLETION_SEND", "COMPLETION_REQUEST"]})
    status = fields.String(metadata={"enum": ["QUEUED", "SENDING", "SENT", "DELIVERED", "UNDELIVERED", "FAILED",
                                              "SKIPPED", "UNKNOWN"]})
    errorCode = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    notifiedAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    createdAt = fields.String(metadata={"format": "date-time"})


class NotificationHistoryOut(Out):
    content = fields.List(fields.Nested(NotificationOut))


class WorkflowPageOut(Out):
    content = fields.List(fields.Nested(WorkflowOut))
    page = fields.Integer()
    size = fields.Integer()
    totalElements = fields.Integer()
    totalPages = fields.Integer()


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def workflow_dict(rules, workflow, steps, **extra):
    """A workflow as the API shows it."""
    data = {
        "id": str(workflow.id),
        "status": workflow.status,
        "title": workflow.title,
        "currentStep": workflow.current_step,
        "steps": [{
            "id": str(step.id), "name": step.name,
            "displayName": rules.steps.get(step.name, {}).get("displayName", step.name),
            "description": rules.steps.get(step.name, {}).get("description", ""),
            "status": step.status,
        } for step in steps],
        "channel": workflow.channel,
        "phoneNumber": workflow.phone_number,
        "email": workflow.email,
        "customerId": str(workflow.customer_id) if workflow.customer_id else None,
        "parameters": workflow.parameters,
        "customerMemo": workflow.customer_memo,
        "passcodeRequired": workflow.passcode_hash is not None,
        "expireAt": iso(workflow.expire_at),
        "nextNotificationAt": iso(workflow.next_notification_at),
        "completedAt": iso(workflow.completed_at),
        "declineReason": workflow.decline_reason,
        "createdAt": iso(workflow.created_at),
        "updatedAt": iso(workflow.updated_at),
    }
    data.update(extra)
    return data
