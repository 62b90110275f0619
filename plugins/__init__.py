"""LinX's built-in plugins (installed as ``linx_plugins``).

Each module here is written exactly as a third-party plugin would be: it imports
``linx_core``'s public names and never another plugin. Channels, payment
solutions and event sinks arrive with the lifecycle and payments work.
"""
