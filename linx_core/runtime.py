"""The runtime: settings, rules, vault and database, built once per process.

The API, the Gateway, the worker and the CLI each hold one :class:`Runtime`
and pass it to the services; nothing else is global but the model proxy.
"""
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import peewee
import pluggy

from . import store
from .config import Settings
from .events import EventTypes
from .events import registry as event_registry
from .rules import load_rules, solution_fragments, step_entries
from .rules.book import RuleBook
from .steps import kinds_by_name
from .vault import Vault

if TYPE_CHECKING:
    from .channels import Channel
    from .payments import Solution
    from .steps import StepKind
    from .store.models import Job

#: A job handler: ``handler(rt, job)``; raising :class:`linx_core.jobs.RetryLater` or anything else retries it.
JobHandler = Callable[["Runtime", "Job"], Any]


class Runtime:
    """``plugins``: a plugin manager to use instead of :func:`linx_core.plugins.make_manager`'s.

    The rule book is built from the rule files and the rule fragments of this runtime's solutions
    (``linx_solutions``), so a solution's ``linx_solutions`` must not read ``rt.rules``.
    """

    def __init__(self, settings: Settings | None = None, rules: RuleBook | None = None,
                 database: peewee.Database | None = None, plugins: pluggy.PluginManager | None = None) -> None:
        self.settings = settings or Settings.load()
        if plugins is not None:
            self.__dict__["plugins"] = plugins
        self.database = database or store.open_database(self.settings.database_url)
        store.bind(self.database)
        self.rules = rules or load_rules(self.settings.rules_dir or None, solution_fragments(self.solutions.values()),
                                         installed_only=True, steps=step_entries(self.step_kinds.values()))
        if self.settings.clock_speed != 1:
            from . import clock

            clock.set_clock(clock.ScaledClock(self.settings.clock_speed))

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.settings.data_key)

    @cached_property
    def plugins(self) -> pluggy.PluginManager:
        from .plugins import make_manager

        return make_manager()

    def job_handlers(self) -> dict[str, JobHandler]:
        handlers: dict[str, JobHandler] = {}
        for mapping in self.plugins.hook.linx_job_handlers(rt=self):
            handlers.update(mapping or {})
        return handlers

    @cached_property
    def solutions(self) -> dict[str, "Solution"]:
        """Payment solutions by name, from the ``linx_solutions`` hook."""
        found: dict[str, Solution] = {}
        for group in self.plugins.hook.linx_solutions(rt=self):
            for solution in group or []:
                found.setdefault(solution.name, solution)
        return found

    @cached_property
    def step_kinds(self) -> dict[str, "StepKind"]:
        """Step kinds by name, from the ``linx_step_kinds`` hook (the first plugin to name one wins)."""
        return kinds_by_name(self.plugins.hook.linx_step_kinds(rt=self))

    @cached_property
    def event_types(self) -> EventTypes:
        """The registered event types (:class:`linx_core.events.EventTypes`): the core's and ``linx_event_types``'."""
        return event_registry(self.plugins)

    def solution(self, name: str) -> "Solution | None":
        return self.solutions.get(name)

    def channel(self, name: str) -> "Channel":
        """The channel that serves ``name`` (console when nothing else is configured)."""
        return self.plugins.hook.linx_channel(name=name, rt=self)

    def bind(self) -> None:
        """Point the model proxy at this runtime's database (cheap; call per request)."""
        if store.db.obj is not self.database:
            store.bind(self.database)

    def migrate(self) -> list[str]:
        from .store.migrate import migrate

        self.bind()
        with self.database.connection_context():
            return migrate(self.database)
