"""Test helpers for LinX and for plugin authors: contract suites a plugin's tests subclass.

Importing this package needs pytest; the service itself never imports it.
"""
import pytest

# the contract's own asserts report their values, as a test module's would
pytest.register_assert_rewrite("linx_core.testing.channels", "linx_core.testing.solutions", "linx_core.testing.steps")
