"""The core's own job handlers, registered as a built-in plugin."""
from . import hookimpl
from .services import payments, sending, workflows


@hookimpl
def linx_job_handlers(rt):
    return {
        "notify": sending.send,
        "remind": workflows.remind,
        "expire": workflows.expire,
        payments.SUBMIT: payments.submit,
        payments.POLL: payments.poll,
    }
