"""The core's imports, read from the source: what it may import, no circle, no one else's private name.

DESIGN.md's rules of the house, checked with no exemption:

- ``linx_core`` imports nothing above it: no ``gateway_app``, no plugin (``linx_plugins``, ``plugins``),
  no Flask. The plugin manager finds plugins by the module names it lists as strings; the core never
  imports them itself, not even inside a function or through ``importlib`` with a name written in the call.
- The modules of ``linx_core`` form no import circle, counting the imports inside functions as well as
  those at the top (a function-local import does not remove a circle, it only hides it). An import under
  ``if TYPE_CHECKING:`` is never run and is left out of the circles (annotating ``rt: Runtime`` is no
  dependency), but not out of the other two rules.
- No module uses another module's private name (``from x import _y``, ``x._y``).

The checker reads every file's syntax tree (it imports nothing it checks); the tests at the bottom run it
over small packages written to ``tmp_path`` so that each rule is seen to fail.
"""
import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT

#: what linx_core must not import (top-level names)
FORBIDDEN = ("gateway_app", "linx_plugins", "plugins", "flask", "werkzeug")
#: calls that import the module named by their first argument
DYNAMIC_IMPORTS = ("import_module", "__import__")


@dataclass(frozen=True)
class Finding:
    module: str
    line: int
    message: str

    def __str__(self):
        return f"{self.module}:{self.line}: {self.message}"


class Package:
    """A package's modules, read from ``root`` (the package's folder) without importing any of them."""

    def __init__(self, root: Path, name: str | None = None):
        self.root = Path(root)
        self.name = name or self.root.name
        self.files = {}
        for path in sorted(self.root.rglob("*.py")):
            parts = path.relative_to(self.root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            self.files[".".join((self.name, *parts))] = path
        self.trees = {module: ast.parse(path.read_text(), str(path)) for module, path in self.files.items()}

    def is_package(self, module):
        return self.files[module].name == "__init__.py"

    def absolute(self, module, node):
        """The module an ``ImportFrom`` names, made absolute (``from .. import x`` in ``a.b.c`` is ``a``)."""
        if not node.level:
            return node.module or ""
        base = module.split(".")
        if not self.is_package(module):
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def imports(self, module):
        """``(line, target, names, typing_only)`` for each import statement anywhere in ``module`` (functions
        included): ``target`` the absolute module, ``names`` what ``from target import ...`` takes (empty for
        ``import``), ``typing_only`` when it sits under ``if TYPE_CHECKING:`` (never run)."""
        for node, typing_only in _import_statements(self.trees[module]):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield node.lineno, alias.name, (), typing_only
            else:
                yield node.lineno, self.absolute(module, node), tuple(alias.name for alias in node.names), typing_only

    def dependencies(self, module):
        """``(line, imported module)`` for the package's own modules that ``module`` imports when it runs (an import
        for type annotations only, under ``if TYPE_CHECKING:``, is no dependency: the runtime passed everywhere
        is annotated so without a circle)."""
        for line, target, names, typing_only in self.imports(module):
            if typing_only:
                continue
            for name in names or (None,):
                if name is not None and f"{target}.{name}" in self.files:  # from package import submodule
                    yield line, f"{target}.{name}"
                elif target in self.files:
                    yield line, target

    def aliases(self, module):
        """Local names bound to the package's own modules (``from . import clock``, ``import a.b as c``)."""
        bound = {}
        for node in ast.walk(self.trees[module]):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        bound[top] = top
            elif isinstance(node, ast.ImportFrom):
                target = self.absolute(module, node)
                for alias in node.names:
                    if f"{target}.{alias.name}" in self.files:
                        bound[alias.asname or alias.name] = f"{target}.{alias.name}"
        return {name: target for name, target in bound.items() if target in self.files}

    # -- the three rules ---------------------------------------------------------------------------------

    def forbidden_imports(self, forbidden=FORBIDDEN):
        found = []
        for module, tree in self.trees.items():
            for line, target, _, _ in self.imports(module):  # for annotations too: the core does not know them
                if target.split(".")[0] in forbidden:
                    found.append(Finding(module, line, f"imports {target}"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str) and _called(node) in DYNAMIC_IMPORTS
                        and node.args[0].value.split(".")[0] in forbidden):
                    found.append(Finding(module, node.lineno, f"imports {node.args[0].value} by name"))
        return found

    def graph(self):
        """Each module's imported modules of this package (top-level and function-local imports alike)."""
        return {module: {target for _, target in self.dependencies(module) if target != module}
                for module in self.files}

    def cycles(self):
        """The import circles: each a list of modules, the first repeated at the end."""
        graph, found = self.graph(), []
        while True:
            try:
                graphlib.TopologicalSorter(graph).prepare()
                return found
            except graphlib.CycleError as exc:
                cycle = exc.args[1]
                found.append(cycle)
                graph[cycle[1]].discard(cycle[0])  # graphlib lists the circle backwards: drop one edge of it

    def private_uses(self):
        found = []
        for module, tree in self.trees.items():
            for line, target, names, _ in self.imports(module):
                for name in names:
                    if (target in self.files and target != module and _private(name)
                            and f"{target}.{name}" not in self.files):
                        found.append(Finding(module, line, f"imports {target}.{name}"))
                if _private(target.rpartition(".")[2]) and target in self.files and target != module:
                    found.append(Finding(module, line, f"imports the private module {target}"))
            aliases = self.aliases(module)
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and _private(node.attr):
                    owner = _module_of(node.value, aliases, self.files)
                    if owner is not None and owner != module:
                        found.append(Finding(module, node.lineno, f"uses {owner}.{node.attr}"))
        return found


def _import_statements(node, typing_only=False):
    """Every ``Import`` and ``ImportFrom`` at or under ``node``, and whether it sits under ``if TYPE_CHECKING:``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, typing_only
    elif isinstance(node, ast.If) and _called_name(node.test) == "TYPE_CHECKING":
        for child in node.body:
            yield from _import_statements(child, True)
        for child in node.orelse:
            yield from _import_statements(child, typing_only)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _import_statements(child, typing_only)


def _called_name(node):
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _called(call):
    return _called_name(call.func)


def _module_of(node, aliases, modules):
    """The package module an expression such as ``clock`` or ``linx_core.services.flow`` names, else None."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _module_of(node.value, aliases, modules)
        if owner is not None and f"{owner}.{node.attr}" in modules:
            return f"{owner}.{node.attr}"
    return None


# -- the rules over linx_core -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def core():
    return Package(ROOT / "linx_core")


def test_the_checker_reads_the_whole_core(core):
    assert {"linx_core.cli", "linx_core.services.workflows", "linx_core.store.models"} <= set(core.files)
    assert "linx_core.services.flow" in core.graph()["linx_core.services.journey"]


def test_the_core_imports_no_web_layer_and_no_plugin(core):
    found = core.forbidden_imports()
    assert not found, "linx_core must not import these:\n" + "\n".join(map(str, found))


def test_the_core_has_no_import_circle(core):
    found = core.cycles()
    assert not found, "import circles in linx_core:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_core_module_uses_another_ones_private_names(core):
    found = core.private_uses()
    assert not found, "private names used across linx_core modules:\n" + "\n".join(map(str, found))


# -- the checker can fail --------------------------------------------------------------------------------

def _package(tmp_path, files):
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Package(root)


def test_the_checker_finds_forbidden_imports_top_level_local_and_by_name(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "import gateway_app.wsgi\n",
        "b.py": "def f():\n    from linx_plugins import console\n",
        "c.py": "import importlib\n\ndef f():\n    return importlib.import_module('plugins.steps')\n",
        "d.py": "from . import plugins\nfrom .plugins import x\nimport json\n",  # the package's own plugins
        "plugins.py": "import importlib\nNAMES = ('linx_plugins.console',)\n"
                      "def load(name):\n    return importlib.import_module(name)\n",
    })
    found = {(f.module, f.line) for f in package.forbidden_imports()}
    assert found == {("pkg.a", 1), ("pkg.b", 2), ("pkg.c", 4)}


def test_the_checker_finds_a_circle_hidden_in_a_function(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "services/__init__.py": "",
        "services/one.py": "from . import two\n",
        "services/two.py": "def f():\n    from .three import g\n",
        "services/three.py": "def g():\n    from ..services.one import h\n",
        "flow.py": "from .services import one\n",  # imports into the circle, is not part of it
    })
    cycles = package.cycles()
    assert len(cycles) == 1
    assert set(cycles[0]) == {"pkg.services.one", "pkg.services.two", "pkg.services.three"}
    assert cycles[0][0] == cycles[0][-1]


def test_the_checker_finds_every_circle(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "", "a.py": "from . import b\n", "b.py": "from . import a\n",
        "c.py": "import pkg.d\n", "d.py": "from pkg import c\n", "e.py": "from . import a, c\n",
    })
    assert sorted(sorted(set(c)) for c in package.cycles()) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]


def test_a_tree_has_no_circle(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "", "flow.py": "from . import jobs\n", "jobs.py": "",
        "a.py": "from . import flow, jobs\n", "b.py": "def f():\n    from .a import x\n    from .flow import y\n",
    })
    assert package.cycles() == []


def test_an_import_for_annotations_only_makes_no_circle_but_is_still_checked(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "runtime.py": "from . import rules\n",
        "rules.py": "from typing import TYPE_CHECKING\nimport typing\n\n"
                    "if TYPE_CHECKING:\n    from .runtime import Runtime\n    from gateway_app import create_app\n"
                    "else:\n    from . import steps\n"
                    "if typing.TYPE_CHECKING:\n    from .runtime import _private\n",
        "steps.py": "def f():\n    from .runtime import x\n",
    })
    assert [sorted(set(c)) for c in package.cycles()] == [["pkg.rules", "pkg.runtime", "pkg.steps"]]  # via else:
    assert [(f.module, f.line) for f in package.forbidden_imports()] == [("pkg.rules", 6)]
    assert [(f.module, f.line) for f in package.private_uses()] == [("pkg.rules", 10)]


def test_the_checker_finds_private_names_imported_or_reached_through_a_module(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "services/__init__.py": "",
        "services/flow.py": "def _locked(): pass\ndef locked(): return _locked()\n",
        "services/a.py": "from .flow import _locked\n",
        "services/b.py": "from . import flow\n\ndef f():\n    return flow._locked()\n",
        "services/c.py": "import pkg.services.flow\npkg.services.flow._locked()\n",
        "services/d.py": "from .flow import locked as _mine\n\nclass C:\n    def _own(self):\n        return self._x\n"
                         "    __slots__ = ()\n\nflow_version = __name__.__class__\n",
        "services/e.py": "from .. import services\nservices.flow._locked\n",
    })
    found = {(f.module, f.line) for f in package.private_uses()}
    assert found == {("pkg.services.a", 1), ("pkg.services.b", 4), ("pkg.services.c", 2), ("pkg.services.e", 2)}
