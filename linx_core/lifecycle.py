"""Lifecycles of workflows, steps and (later) transactions, declared as data.

Each lifecycle is a list of states and a list of transitions, built once into a
``transitions`` Machine with no models attached. A move asks that machine for
the transition from the current state (``get_transitions``) and caches the
answer: ``bench/bench_lifecycle.py`` measures this against a Machine per
object and against attaching a model to the shared machine, and it is the
cheapest by far while no model (and so no per-row state) is ever kept. An
illegal move raises :class:`IllegalTransition` (HTTP 409). Persisting the new state, with its
effects, is the caller's job: :func:`save_status` writes it under an optimistic ``version`` check, so two
concurrent writers can never both win.

A transition marked ``"ends": True`` ends the lifecycle: its destination, and every
state reachable from there (an ARCHIVED workflow, a REVERSED transaction), is final;
the rest are open. Code asks ``WORKFLOWS.open_states`` or ``TRANSACTIONS.final_states``
rather than typing the states again.
"""
from typing import TYPE_CHECKING, Any, TypeVar

from transitions import Machine

from .errors import Conflict

if TYPE_CHECKING:  # pragma: no cover
    from .store.models import Batch, Template, Transaction, Workflow

#: a lifecycle as data: ``{"states": [...], "transitions": [{"trigger", "source", "dest", "ends"?}, ...]}``
Spec = dict[str, Any]

WORKFLOW: Spec = {
    "states": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "EXPIRED", "CANCELLED", "ARCHIVED", "FAILED"],
    "transitions": [
        {"trigger": "activate", "source": "CREATED", "dest": "ACTIVE"},
        {"trigger": "complete", "source": "ACTIVE", "dest": "COMPLETED", "ends": True},
        {"trigger": "decline", "source": ["CREATED", "ACTIVE"], "dest": "DECLINED", "ends": True},
        {"trigger": "expire", "source": ["CREATED", "ACTIVE"], "dest": "EXPIRED", "ends": True},
        {"trigger": "cancel", "source": ["CREATED", "ACTIVE"], "dest": "CANCELLED", "ends": True},
        {"trigger": "fail", "source": ["CREATED", "ACTIVE"], "dest": "FAILED", "ends": True},
        {"trigger": "archive", "source": ["COMPLETED", "DECLINED", "EXPIRED", "CANCELLED", "FAILED"],
         "dest": "ARCHIVED"},
        # Moves that keep the state but are allowed only from some states.
        {"trigger": "extend", "source": ["CREATED", "ACTIVE"], "dest": None},
        {"trigger": "resend", "source": ["CREATED", "ACTIVE"], "dest": None},
        {"trigger": "remind", "source": ["ACTIVE"], "dest": None},
        {"trigger": "progress", "source": ["ACTIVE"], "dest": None},
        {"trigger": "recover", "source": ["EXPIRED", "CANCELLED", "DECLINED", "FAILED"], "dest": None},
    ],
}

STEP: Spec = {
    "states": ["CREATED", "ACTIVE", "COMPLETED", "DECLINED", "FAILED"],
    "transitions": [
        {"trigger": "start", "source": "CREATED", "dest": "ACTIVE"},
        {"trigger": "complete", "source": ["CREATED", "ACTIVE"], "dest": "COMPLETED", "ends": True},
        {"trigger": "decline", "source": ["CREATED", "ACTIVE"], "dest": "DECLINED", "ends": True},
        {"trigger": "fail", "source": ["CREATED", "ACTIVE"], "dest": "FAILED", "ends": True},
    ],
}

TRANSACTION: Spec = {
    "states": ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED", "CLEARED", "DECLINED", "CANCELLED", "ERROR",
               "REVERSED"],
    "transitions": [
        {"trigger": "submit", "source": "NEW", "dest": "PENDING"},
        {"trigger": "process", "source": "PENDING", "dest": "PROCESSING"},
        {"trigger": "cancel", "source": "PENDING", "dest": "CANCELLED", "ends": True},
        {"trigger": "approve", "source": "PROCESSING", "dest": "APPROVED"},
        {"trigger": "decline", "source": "PROCESSING", "dest": "DECLINED", "ends": True},
        {"trigger": "error", "source": ["PENDING", "PROCESSING"], "dest": "ERROR", "ends": True},
        {"trigger": "settle", "source": "APPROVED", "dest": "SETTLED", "ends": True},  # SEND
        {"trigger": "clear", "source": "APPROVED", "dest": "CLEARED", "ends": True},  # REQUEST
        {"trigger": "reverse", "source": ["SETTLED", "CLEARED"], "dest": "REVERSED"},
    ],
}


TEMPLATE: Spec = {
    "states": ["ACTIVE", "SUSPENDED", "ARCHIVED", "DELETED"],
    "transitions": [
        {"trigger": "suspend", "source": "ACTIVE", "dest": "SUSPENDED"},
        {"trigger": "activate", "source": ["SUSPENDED", "ARCHIVED"], "dest": "ACTIVE"},
        {"trigger": "archive", "source": ["ACTIVE", "SUSPENDED"], "dest": "ARCHIVED"},
        {"trigger": "delete", "source": ["ACTIVE", "SUSPENDED", "ARCHIVED"], "dest": "DELETED", "ends": True},
        {"trigger": "revise", "source": ["ACTIVE", "SUSPENDED", "ARCHIVED"], "dest": None},
        {"trigger": "use", "source": ["ACTIVE"], "dest": None},  # make workflows (a create, a batch)
    ],
}

# A batch is open while its workflows may still be cancelled with it: COMPLETED says every entry was handled,
# FAILED that the expansion stopped (the workflows it made before run on, and may be cancelled with it).
BATCH: Spec = {
    "states": ["NEW", "QUEUED", "COMPLETED", "INVALID", "CANCELLING", "CANCELLED", "FAILED"],
    "transitions": [
        {"trigger": "queue", "source": "NEW", "dest": "QUEUED"},
        {"trigger": "complete", "source": "QUEUED", "dest": "COMPLETED"},
        {"trigger": "invalidate", "source": "QUEUED", "dest": "INVALID", "ends": True},
        {"trigger": "cancel", "source": ["NEW", "QUEUED", "COMPLETED", "FAILED"], "dest": "CANCELLING"},
        {"trigger": "cancelled", "source": "CANCELLING", "dest": "CANCELLED", "ends": True},
        {"trigger": "fail", "source": ["NEW", "QUEUED"], "dest": "FAILED"},
    ],
}


class IllegalTransition(Conflict):
    def __init__(self, kind: str, state: str, trigger: str) -> None:
        super().__init__(f"A {kind} that is {state} cannot {trigger}.", f"{kind.upper()}_{state}")
        self.state = state
        self.trigger = trigger


def _sources(transition: dict[str, Any]) -> list[str]:
    source = transition["source"]
    return source if isinstance(source, list) else [source]


class Lifecycle:
    """One lifecycle: ``next_state(current, trigger)`` or :class:`IllegalTransition`.

    ``final_states`` and ``open_states`` (tuples, in declaration order) are derived
    from the transitions marked ``ends``; ``states`` is every state.
    """

    def __init__(self, kind: str, spec: Spec) -> None:
        self.kind = kind
        self.states = tuple(spec["states"])
        transitions = [{k: v for k, v in t.items() if k != "ends"} for t in spec["transitions"]]
        self.machine = Machine(model=None, states=list(self.states), transitions=transitions,
                               initial=self.states[0], auto_transitions=False, send_event=False)
        self.triggers = {t["trigger"] for t in spec["transitions"]}
        self.final_states = self._final(spec["transitions"])
        self.open_states = tuple(s for s in self.states if s not in self.final_states)
        self._cache: dict[tuple[str, str], str | None] = {}

    def _final(self, transitions: list[dict[str, Any]]) -> tuple[str, ...]:
        """The destinations of ending transitions and everything reachable from them."""
        final = {t["dest"] for t in transitions if t.get("ends")}
        if not final:
            raise ValueError(f"the {self.kind} lifecycle marks no transition as ending it")
        grew = True
        while grew:
            reached = {t["dest"] for t in transitions if t["dest"] and final & set(_sources(t))}
            grew = not reached <= final
            final |= reached
        return tuple(s for s in self.states if s in final)

    def is_open(self, state: str) -> bool:
        return state in self.open_states

    def next_state(self, current: str, trigger: str) -> str:
        key = (current, trigger)
        if key not in self._cache:
            if trigger not in self.triggers:
                raise ValueError(f"{trigger!r} is not a {self.kind} trigger")
            found = self.machine.get_transitions(trigger=trigger, source=current) if current in self.states else []
            self._cache[key] = (found[0].dest or current) if found else None
        dest = self._cache[key]
        if dest is None:
            raise IllegalTransition(self.kind, current, trigger)
        return dest

    def allowed(self, current: str, trigger: str) -> bool:
        try:
            self.next_state(current, trigger)
            return True
        except IllegalTransition:
            return False


WORKFLOWS = Lifecycle("workflow", WORKFLOW)
STEPS = Lifecycle("step", STEP)
TRANSACTIONS = Lifecycle("transaction", TRANSACTION)
TEMPLATES = Lifecycle("template", TEMPLATE)
BATCHES = Lifecycle("batch", BATCH)

ENDED = WORKFLOWS.final_states
"""A workflow's final states (kept for the callers that named them so)."""


#: the rows with a lifecycle and a ``version`` column
Row = TypeVar("Row", "Workflow", "Transaction", "Template", "Batch")


def save_status(row: Row, new_status: str, **changes: Any) -> Row:
    """Write ``new_status`` (and ``changes``) only if nobody changed ``row`` since it was read.

    Call inside the transaction that also writes the move's events and jobs.
    Raises :class:`Conflict` when another writer got there first.
    """
    model = type(row)
    values = dict(changes, status=new_status, version=row.version + 1)
    updated = (model.update(**values)
               .where((model.id == row.id) & (model.version == row.version)).execute())
    if updated != 1:
        raise Conflict(f"The {model.__name__.lower()} changed meanwhile; read it again and retry.",
                       "CONCURRENT_UPDATE")
    for key, value in values.items():
        setattr(row, key, value)
    return row
