"""The package's import layering, read from the source with ``ast`` (nothing is imported).

``src/mtlner/`` is grouped by stage, and a stage imports only the stages below it::

    cli, __main__         the command line (parser and dispatch)
    run/   tag/           running jobs (fork server, GPU slots, sizing) | tagging text; peers,
                          neither imports the other
    report/               tables, figures, statistics over finished jobs
    training/             one job: settings, model, inference, metrics, the loop
    data/                 label scheme, corpora, windows, leak audit, HUNER
    errors, atomic        what every stage shares (one-message errors, atomic writes)

Within a stage, modules may import each other; across stages only downward. Every import
counts, including those inside functions and under ``TYPE_CHECKING`` (a lazy import is still a
dependency, and a cycle through one is still a cycle), and the whole module graph has no
cycle. A module started by name (the fork server runs ``mtlner.cli:main`` given in the job's
request) is not an import, so the last check reads the names written as text instead: every
``mtlner.<module>`` in a command (``-m mtlner.run.gpu_slots``), a preload list, a docstring or a
doc names a module that exists.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# the checkout: the first folder above this file with a pyproject.toml (wherever tests/ puts it)
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PACKAGE = ROOT / "src" / "mtlner"

# rank of each stage; equal ranks are peers and may not import each other
RANKS = {
    "base": 0,
    "data": 1,
    "training": 2,
    "report": 3,
    "run": 4,
    "tag": 4,
    "cli": 5,
}
TOP = {"__init__": "base", "errors": "base", "atomic": "base", "cli": "cli", "__main__": "cli"}


def _modules() -> dict[str, Path]:
    """Dotted name of every module of the package -> its file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["mtlner", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "base"  # the package's own __init__
    if parts[1] in TOP and len(parts) == 2:
        return TOP[parts[1]]
    return parts[1]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            # from mtlner.report import plots: the module plots; from x import name: x itself
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # import mtlner.x.y binds mtlner.x.y's package chain
                name = name.rpartition(".")[0]
            if name.startswith("mtlner") and name != module:
                found.add(name)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def test_the_graph_is_read():
    # guards against a parser that silently finds nothing: these edges exist today
    assert "mtlner.data.corpus" in GRAPH["mtlner.data.windows"]
    assert "mtlner.errors" in GRAPH["mtlner.cli"]
    assert all(stage(m) in RANKS for m in MODULES), sorted({stage(m) for m in MODULES} - set(RANKS))


def test_stages_import_only_downward():
    wrong = []
    for module, targets in GRAPH.items():
        for target in targets:
            own, other = stage(module), stage(target)
            if own != other and RANKS[other] >= RANKS[own]:
                wrong.append(f"{module} ({own}) imports {target} ({other})")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    cycles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_finds_a_cycle_and_an_upward_import(monkeypatch):
    """The two checks on a made-up graph: data -> training is upward, a <-> b is a cycle."""
    made_up = {
        "mtlner.data.a": {"mtlner.training.b"},
        "mtlner.training.b": {"mtlner.data.a"},
    }
    monkeypatch.setitem(globals(), "GRAPH", made_up)
    for check in (test_stages_import_only_downward, test_no_import_cycles):
        try:
            check()
        except AssertionError as err:
            assert "mtlner.data.a" in str(err)
        else:
            raise AssertionError(f"{check.__name__} passed on a broken graph")


# --------------------------------------------------------------------------- names in strings

# where module names are written as text: `-m mtlner.x`, the fork server's preload list and
# entry point, :mod: references in docstrings, commands in docs and rules
TEXT_FILES = [
    ROOT / name for name in ("Snakefile", "Makefile", "README.md", "BENCHMARKS.md", "pyproject.toml")
] + sorted(
    path
    for folder in ("src", "workflow", "tests", "benchmarks", "docs", ".test", "ci", "profiles", "config")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in {".py", ".smk", ".md", ".sh", ".yaml", ".toml", ".rst", ""}
    and path.is_file()
    # pip's build record (src/mtlner.egg-info/PKG-INFO copies the README of the last install)
    and not any(part.endswith(".egg-info") for part in path.parts)
)
# this file's examples
SELF_EXAMPLES = {Path(__file__).resolve()}
NOT_MODULES = {"mtlner.yaml", "mtlner.key", "mtlner.egg"}  # a file name (envs/mtlner.yaml), a BioC key
DOTTED = re.compile(r"(?<![\w./-])mtlner(?:\.[A-Za-z_]\w*)+")


def _top_level_names(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def stale_names(text: str) -> list[tuple[int, str]]:
    """(line, name) of every dotted ``mtlner.`` name in ``text`` that is no module, and no
    module followed by one of its top-level names (``mtlner.cli:main``, ``mtlner.data.labels.LABELS``)."""
    stale = []
    for match in DOTTED.finditer(text):
        name = match.group(0)
        if name in NOT_MODULES:
            continue
        parts = name.split(".")
        k = max(i for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES)
        module, rest = ".".join(parts[:k]), parts[k:]
        if rest and not rest[0].startswith("__") and rest[0] not in _top_level_names(module):
            stale.append((text.count("\n", 0, match.start()) + 1, name))
    return stale


def test_every_module_named_in_text_exists():
    """A moved module leaves no stale ``mtlner.<old name>`` behind in a command, a preload list
    or a docstring (the examples in SELF_EXAMPLES aside)."""
    stale = []
    for path in TEXT_FILES:
        if path in SELF_EXAMPLES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        stale += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in stale_names(text)]
    assert not stale, "names of no module (or of nothing in it):\n" + "\n".join(stale)


def test_stale_names_finds_an_old_module_name():
    text = "python -m mtlner.train\nmtlner.training.loop.train, mtlner.cli:main, mtlner.__file__, envs/mtlner.yaml"
    assert stale_names(text) == [(1, "mtlner.train")]
