"""The rule files: loaded, checked, and compiled into schemas and checks.

``load_rules(directory)`` returns a :class:`~linx_core.rules.book.RuleBook`, or
raises :class:`~linx_core.errors.RuleFileError` naming every fault with its file
and place. Nothing about steps, parameters or allowed values is written in
Python: it is all in the rule files.
"""
from importlib import resources
from pathlib import Path

from .book import RuleBook
from .loader import read_rule_files


def default_rules_dir():
    """The rule files installed with LinX."""
    return Path(str(resources.files("linx_rules")))


def load_rules(directory=None):
    directory = Path(directory) if directory else default_rules_dir()
    return RuleBook.build(read_rule_files(directory))


__all__ = ["RuleBook", "load_rules", "default_rules_dir"]
