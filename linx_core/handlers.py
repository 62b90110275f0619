"""The core's own job handlers, registered as a built-in plugin."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import hookimpl
from .services import batch_expansion, batches, payments, sending, workflows

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import JobHandler, Runtime


@hookimpl
def linx_job_handlers(rt: Runtime) -> dict[str, JobHandler]:
    return {
        "notify": sending.send,
        "remind": workflows.remind,
        "expire": workflows.expire,
        payments.SUBMIT: payments.submit,
        payments.POLL: payments.poll,
        batches.EXPAND: batch_expansion.expand,
        batches.CANCEL: batch_expansion.cancel,
        batches.FORGET_PASSCODES: batch_expansion.forget_passcodes,
    }
