"""The module structure of docs/architecture.md: shared pieces below the stages, no import cycle.

Imports are read from the source (``ast``), those inside functions included: a lazy import that closes a
circle hides it at start-up but still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stancekit

PACKAGE = Path(stancekit.__file__).parent
# what a run imports; evaluation and training code (evaluate/, attribution/, train) may reach back into
# the stages they measure
RUN_PATH = ("ingest", "headlines", "quotemarks", "syntax", "resources", "ner", "speakers", "quotes", "claims",
            "quantities", "stance", "aggregate", "targets", "engine", "device", "sources", "analysis", "pipeline",
            "corpus", "records", "schema", "config", "errors", "budget", "progress", "extras")
SHARED = ("quotemarks", "syntax", "headlines")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The stancekit modules that ``name`` imports (at any depth of its code), the package root aside."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{target}.{a.name}".strip(".") for a in node.names} & set(modules)
            found |= subs or ({target} & set(modules))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stancekit."):
            found |= {node.module[len("stancekit."):]} & set(modules)
    return {m for m in found if m and m != name}


def _graph(names) -> dict[str, set[str]]:
    modules = _modules()
    keep = {m for m in modules if m.split(".")[0] in names}
    return {m: _imports(m, modules[m], modules) & keep for m in keep}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module names in order), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        state[m] = 2
        path.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def _outside_own_package(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph with each package's imports of its own modules left out (``quotes/__init__`` and its
    submodules import each other by design)."""
    top = lambda m: m.split(".")[0]  # noqa: E731
    return {m: {n for n in deps if top(n) != top(m)} for m, deps in graph.items()}


def test_the_run_path_has_no_import_cycle():
    graph = _outside_own_package(_graph(RUN_PATH))
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("shared", SHARED)
def test_shared_modules_import_no_stage(shared):
    """The shared helpers sit below the stages: they import no stage module."""
    stages = {"ner", "speakers", "quotes", "claims", "stance", "analysis", "pipeline", "corpus"}
    deps = {d.split(".")[0] for d in _graph(RUN_PATH)[shared]}
    assert not deps & stages, deps & stages


def test_speakers_and_claims_do_not_import_the_quote_stage():
    graph = _graph(RUN_PATH)
    assert not {d for d in graph["speakers"] if d.startswith("quotes")}
    assert not {d for d in graph["claims"] if d.startswith("quotes")}


def test_dependency_constants_are_defined_once():
    """``SUBJECT_DEPS``, ``NAME_LABELS`` and the quote-mark sets live in one module each."""
    where: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name) and t.id in ("SUBJECT_DEPS", "NOMINAL_SUBJECT_DEPS", "NAME_LABELS",
                                                        "QUOTE_CHARS", "QUOTE_MARKS", "QUOTE_TOKENS", "OPENERS"):
                    where.setdefault(t.id, []).append(name)
    assert where["SUBJECT_DEPS"] == ["syntax"] and where["NAME_LABELS"] == ["syntax"]
    assert where["QUOTE_CHARS"] == ["quotemarks"] and "QUOTE_MARKS" not in where
