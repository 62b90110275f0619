"""Webhooks (push notifications) as a plugin: every recorded event becomes signed POSTs to its subscribers.

Written as any third-party plugin would be, over ``linx_core``'s public names only:

- :mod:`.subscriptions`: a business's subscriptions and their secrets;
- :mod:`.guard`: the address guard (receivers must be on the internet, checked again at connect);
- :mod:`.signing`: the envelope and its Standard Webhooks signatures;
- :mod:`.delivery`: the ``webhook.deliver`` job, retries, the delivery log and manual redelivery;
- :mod:`.api`: ``/v2/push-notifications`` and its part of the OpenAPI document.

The tables (``WebhookSubscription``, ``WebhookDelivery``) stay in the core's store and migrations.
"""
from linx_core import hookimpl

from . import delivery
from .delivery import (
    JOB_KIND,
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    deliver,
    deliveries,
    next_attempt_at,
    on_event,
    parse_retry_after,
    redeliver,
)
from .guard import AddressPolicy, check_url
from .signing import envelope, iso, payload, signature_header
from .subscriptions import (
    ALL_TYPES,
    STATUSES,
    check_event_types,
    create,
    delete,
    get,
    list_subscriptions,
    matches,
    rotate_secret,
    suspend,
    unsuspend,
    update,
)

__all__ = ["ALL_TYPES", "AddressPolicy", "JOB_KIND", "MAX_ATTEMPTS", "RETRY_SCHEDULE", "STATUSES", "check_event_types",
           "check_url", "create", "delete", "deliver", "deliveries", "envelope", "get", "iso", "list_subscriptions",
           "matches", "next_attempt_at", "on_event", "parse_retry_after", "payload", "redeliver", "rotate_secret",
           "signature_header", "suspend", "unsuspend", "update"]


@hookimpl
def linx_event_recorded(rt, event):
    delivery.on_event(rt, event)


@hookimpl
def linx_job_handlers(rt):
    return {JOB_KIND: deliver}


@hookimpl
def linx_register_blueprints(rt, web):
    from . import api  # Flask, only in a process that serves HTTP (a worker never loads the web layer)

    return [(api.blueprint(web), "/v2")]


@hookimpl
def linx_openapi(rt, spec, errors):
    from . import api

    api.add_paths(spec, errors, rt.event_types)
