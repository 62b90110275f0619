"""``notification``: send the customer the link. It has no page: the first message completes it."""
from linx_core import hookimpl
from linx_core.steps import StepKind


class Notification(StepKind):
    name = "notification"
    has_page = False


@hookimpl
def linx_step_kinds(rt):
    return [Notification()]
