"""The business API under ``/v2``."""
