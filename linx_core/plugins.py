"""The plugin manager: built-in plugins by module name, third-party ones by entry point.

The core names its built-in plugins here, as strings, and imports them only through the manager: it
never imports a plugin (or the web layer) itself.

Entry points (group ``linx``) are not loaded under tests unless a test asks,
so that a plugin installed on a developer's machine cannot change results.
"""
import importlib
import sys
from collections.abc import Iterable

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "linx_core.handlers",
    "linx_plugins.console",
    "linx_plugins.twilio_sms",
    "linx_plugins.smtp_email",
    "linx_plugins.webhooks",
    "linx_plugins.push_to_card",
    "linx_plugins.ach",
    "linx_plugins.wire",
    "linx_plugins.steps.notification",
    "linx_plugins.steps.customer_account",
    "linx_plugins.steps.lookup_profile",
    "linx_plugins.steps.enhance_profile",
    "linx_plugins.steps.financial_account",
    "linx_plugins.steps.lookup_financial_account",
    "linx_plugins.steps.document_acceptance",
    "linx_plugins.steps.move_money",
)

#: the web layer (``linx_web_app``), registered only for a process that serves HTTP: the others need no Flask
WEB_PLUGINS = (
    "gateway_app.wsgi",
)


def make_manager(load_entrypoints: bool | None = None, extra: Iterable[object] = (),
                 web: bool = False) -> pluggy.PluginManager:
    """The manager with the built-in plugins (and the web ones with ``web``), ``extra`` and, unless under tests,
    the plugins installed by entry point."""
    pm = pluggy.PluginManager("linx")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS + (WEB_PLUGINS if web else ()):
        pm.register(importlib.import_module(name), name=name)
    for plugin in extra:
        pm.register(plugin)
    if load_entrypoints is None:
        load_entrypoints = not getattr(sys, "_called_from_test", False)
    if load_entrypoints:
        pm.load_setuptools_entrypoints("linx")
    pm.check_pending()
    return pm
