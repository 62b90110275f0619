"""The core's own job handlers, registered as a built-in plugin."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import hookimpl
from .services import payments, sending, workflows

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
    }
