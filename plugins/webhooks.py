"""Webhook delivery as an event sink: every recorded event becomes signed push notifications.

Written as any third-party sink would be: it queues delivery jobs in the
transaction that records the event, and runs them when the worker calls.
"""
from linx_core import hookimpl
from linx_core.services import webhooks


@hookimpl
def linx_event_recorded(rt, event):
    webhooks.on_event(rt, event)


@hookimpl
def linx_job_handlers(rt):
    return {webhooks.JOB_KIND: webhooks.deliver}
