"""What one workflow state move costs, three ways, measured in the same run.

- per-object: a transitions Machine built for each workflow (the FAQ's simple way);
- attach: one shared Machine, the model added and removed around each move;
- table (LinX): the shared Machine's transition table, asked once per (state, trigger) and cached.

Prints microseconds per move and each way's cost as a multiple of the table's,
writes bench/results/lifecycle.json, and checks the shared machine keeps no model.
"""
import json
import timeit
import tracemalloc
from pathlib import Path

from transitions import Machine

from linx_core.lifecycle import WORKFLOW, WORKFLOWS

N = 20_000


class Model:
    pass


def per_object():
    model = Model()
    Machine(model=model, states=WORKFLOW["states"], transitions=WORKFLOW["transitions"], initial="CREATED",
            auto_transitions=False)
    model.activate()
    return model.state


SHARED = Machine(model=None, states=WORKFLOW["states"], transitions=WORKFLOW["transitions"], initial="CREATED",
                 auto_transitions=False)


def attach():
    model = Model()
    SHARED.add_model(model, initial="CREATED")
    model.activate()
    SHARED.remove_model(model)
    return model.state


def table():
    return WORKFLOWS.next_state("CREATED", "activate")


def measure(fn, n):
    assert fn() == "ACTIVE"
    return min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6


def main():
    results = {"per-object": measure(per_object, N // 10), "attach": measure(attach, N), "table": measure(table, N)}
    tracemalloc.start()
    for _ in range(10_000):
        table()
    growth = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    base = results["table"]
    print(f"{'way':<12}{'us/move':>10}{'x table':>10}")
    for name, us in results.items():
        print(f"{name:<12}{us:>10.2f}{us / base:>10.1f}")
    print(f"models left on the shared machine: {len(WORKFLOWS.machine.models)}; "
          f"memory held after 10,000 moves: {growth} bytes")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "lifecycle.json").write_text(json.dumps({"us_per_move": results, "memory_bytes": growth}, indent=2))


if __name__ == "__main__":
    main()
