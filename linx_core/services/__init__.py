"""The operations, as plain functions over the store.

The API, the Gateway, the worker and the CLI call these; none repeats their logic.
Each takes the :class:`~linx_core.runtime.Runtime` first.
"""
