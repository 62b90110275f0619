""""Send me a new link": the customer recovers an expired workflow from its link's page.

The page of an expired link offers the button where the business allows it (:mod:`.pages`); its post comes
here, with the session the link bound and its CSRF token. What happens is the core's
(:func:`linx_core.services.recovery.recover_for_customer`): one recovery per workflow, its link sent to the
same phone or email, within the recipient limits. This module only tells the customer how it went.
"""
from flask import redirect, url_for

from linx_core.errors import LinxError
from linx_core.services import journey, recovery
from linx_core.services.limits import LimitReached
from linx_core.store.models import Workflow

from ..forms import RecoverForm
from . import security
from .blueprint import bp
from .pages import dead_end, message
from .words import _, rt


@bp.post("/g/<workflow_id>/recover")
def recover(workflow_id):
    workflow = security.bound_workflow(workflow_id)
    security.limit("link")
    RecoverForm().validate()  # nothing to read: the CSRF token was checked before this view ran
    business = journey.business_of(workflow)
    name = business.display_name
    try:
        recovery.recover_for_customer(rt(), workflow.id)
    except recovery.AlreadyRecovered:
        return message(200, _("A new link was sent"),
                       _("{business} sent you a new link already. Open it from your newest message.", business=name),
                       business, dead_end=True)
    except LimitReached as exc:
        response = message(429, _("No new link for now"), _limit_text(exc, name), business, dead_end=True)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except LinxError as exc:
        if exc.status >= 500:
            raise
        current = Workflow.get_by_id(workflow.id)
        if journey.availability(current) is None:  # open again (its business extended it meanwhile): go on there
            return redirect(url_for("gateway.landing", workflow_id=str(current.id)), 303)
        if isinstance(exc, recovery.SelfServiceUnavailable):
            return dead_end("EXPIRED", current)
        return message(409, _("A new link could not be sent"), _("Ask {business} for a new link.", business=name),
                       business, dead_end=True)
    where = {"SMS": _("Look for a text message from {business} at the phone number this link was sent to.",
                      business=name),
             "EMAIL": _("Look for an email from {business} at the address this link was sent to.", business=name)}
    return message(200, _("A new link is on its way"),
                   where.get(workflow.channel) or _("Look for a new message from {business}.", business=name),
                   business, dead_end=True)


def _limit_text(exc, name):
    """Words by the limit's scope: the messages to this recipient, or all its business may send in a day."""
    if exc.code == "BUSINESS_MESSAGE_LIMIT":
        return _("{business} has sent as many messages as it may today. Try again later.", business=name)
    return _("{business} has sent you as many messages as it may for now. Try again later.", business=name)
