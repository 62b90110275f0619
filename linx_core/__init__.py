"""LinX core: the domain of do-it-by-link finance.

The core imports no web framework and no plugin module. Plugins import the
public names re-exported here.
"""
import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("linx")
"""Marker for plugin hook implementations: ``@hookimpl def linx_...``."""

__all__ = ["hookimpl", "__version__"]
