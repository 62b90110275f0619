"""The core's own job handlers, registered as a built-in plugin."""
from . import hookimpl
from .services import notifications, payments, workflows


@hookimpl
def linx_job_handlers(rt):
    return {
        "notify": notifications.send,
        "remind": workflows.remind,
        "expire": workflows.expire,
        payments.SUBMIT: payments.submit,
        payments.POLL: payments.poll,
    }
