"""What a page shows of the business: its display name, brand colour and logo (from its settings)."""
import base64
import binascii
import re
import uuid

from flask import abort, make_response, url_for

from linx_core.store.models import Business

from .blueprint import bp

HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
LOGO = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)")
LOGO_MAX = 256 * 1024


def brand(business):
    """The template values that brand a page for ``business`` (or LinX's own, for None)."""
    if business is None:
        return {"brand_name": "", "brand_css": None, "logo_url": None}
    settings = business.settings or {}
    color = settings.get("brandColor")
    logo = settings.get("logo")
    return {
        "brand_name": business.display_name,
        "brand_css": url_for("gateway.brand_css", business_id=str(business.id))
        if isinstance(color, str) and HEX_COLOR.fullmatch(color) else None,
        "logo_url": url_for("gateway.brand_logo", business_id=str(business.id))
        if isinstance(logo, str) and LOGO.fullmatch(logo) else None,
    }


def _business_by_id(business_id):
    try:
        return Business.get_or_none(Business.id == uuid.UUID(business_id))
    except ValueError:
        return None


@bp.get("/g/brand/<business_id>.css")
def brand_css(business_id):
    business = _business_by_id(business_id)
    color = ((business.settings or {}).get("brandColor") if business else None) or ""
    css = f":root{{--brand:{color};}}\n" if HEX_COLOR.fullmatch(color) else "\n"
    response = make_response(css)
    response.mimetype = "text/css"
    return response


@bp.get("/g/brand/<business_id>/logo")
def brand_logo(business_id):
    business = _business_by_id(business_id)
    match = LOGO.fullmatch(((business.settings or {}).get("logo") if business else None) or "")
    if not match:
        abort(404)
    try:
        data = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError):
        abort(404)
    if len(data) > LOGO_MAX:
        abort(404)
    response = make_response(data)
    response.mimetype = match.group(1)
    return response
