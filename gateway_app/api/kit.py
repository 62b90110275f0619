"""The web layer's helpers for a plugin's business-API blueprint, handed over by ``linx_register_blueprints``.

Plugins never import ``gateway_app``; a plugin that serves part of the business API
(webhooks' ``/v2/push-notifications``) receives this module as ``web`` and builds
its views with it, so that its routes authenticate, honour ``Idempotency-Key``,
read JSON and page exactly as the core's do.
"""
from .auth import idempotent, require_business
from .body import json_body, parse_json
from .paging import page_dict, query_int

__all__ = ["idempotent", "json_body", "page_dict", "parse_json", "query_int", "require_business"]
