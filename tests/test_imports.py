"""The import graph of rbdm_core: no cycle, and every import follows the documented layer order.

Every module under rbdm_core/ is parsed with `ast` (nothing is imported). Each `import` and
`from ... import` that names an rbdm_core module, at module level or inside a function, absolute
or relative, becomes an edge to the module it names (`from rbdm_core.data import faces`: the
module data.faces; `from rbdm_core.masking import apply_mask`: the package masking).

Packages, as Python runs them: importing `a.b.c` first runs the packages `a` and `a.b`, so an
edge to a module is also an edge to each package above it, except the packages above the
importer itself (they are already being initialised when it runs). A package's `__init__` that
imports its own modules (the re-exports of gaze, masking, viz) is an edge like any other; a
module that imports its own package by name would be one too (and would close a cycle).

Deferred imports: an import inside a function whose line carries `# deferred: <reason>` is left
out of both checks. It is the one way to break a cycle the layers cannot (there is none today),
and the one way to keep a slow import (TensorFlow, MediaPipe, matplotlib, ...) out of the modules
that load fast (`import rbdm_core`, `rbdm --help`); the reason must be written; at module level
the marker is refused. Every import inside a function carries it (issue 26, item 6): the rest go
at the top of the file, which then says what the file depends on.

Long functions: a function of more than `LONG_LINES` lines carries `# long: <reason>` on its
signature or on the line after its docstring.

The layer order is read from docs/architecture.md, section "Import layers": one numbered line per
layer, modules in backticks, named below `rbdm_core.` (a package stands for all its modules; a
longer name wins; `rbdm_core` is the package's own `__init__`). Every module must be in a layer.
Not seen: imports made from strings (`cli` loads `rbdm_core.commands.<name>` with importlib,
`saliency.methods` its implementations) and `python -m` worker processes.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "rbdm_core"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
LAYERS_HEADING = "## Import layers"
DEFERRED = re.compile(r"#\s*deferred:\s*\S")


# ---------------------------------------------------------------------------------------------
# The walker
# ---------------------------------------------------------------------------------------------


def find_modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file of every module under `root/package` (a package by its `__init__`)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _ancestors(name: str) -> list[str]:
    """The packages above `name`: a.b.c -> [a, a.b]."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _known(name: str, modules) -> str | None:
    """`name`, or the longest dotted prefix of it that is a module (None outside the package)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _in_function(tree: ast.AST) -> set[int]:
    """ids of the import nodes that sit inside a function (or a lambda, or a method)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside |= {id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return inside


def _shown(path: Path) -> str:
    """`path` relative to the repository where it is inside it."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def import_edges(modules: dict[str, Path], package: str = PACKAGE) -> list[dict]:
    """Every import between modules: dicts with source, target, file, line, deferred, in_function,
    implicit (an edge to a package above the named module)."""
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    edges = []
    for name, path in modules.items():
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        inside = _in_function(tree)
        for node in ast.walk(tree):
            named = []
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if name in packages else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                named = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            else:
                continue
            source = "\n".join(lines[node.lineno - 1: (node.end_lineno or node.lineno)])
            for full in named:
                if full != package and not full.startswith(package + "."):
                    continue
                target = _known(full, modules)
                if target is None or target == name:
                    continue
                own = set(_ancestors(name)) | {name}  # already running when `name` imports
                for t, implicit in [(a, True) for a in _ancestors(target) if a not in own] + [(target, False)]:
                    edges.append(dict(source=name, target=t, file=_shown(path), line=node.lineno,
                                      deferred=bool(DEFERRED.search(source)), in_function=id(node) in inside,
                                      implicit=implicit))
    return edges


def cycles(edges: list[dict]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e["source"], set()).add(e["target"])
        graph.setdefault(e["target"], set())
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def read_layers(markdown: str, package: str = PACKAGE) -> list[tuple[str, list[str]]]:
    """(layer name, module names) per numbered line of the "Import layers" section, in order."""
    if LAYERS_HEADING not in markdown:
        raise AssertionError(f"docs/architecture.md: no section {LAYERS_HEADING!r}")
    section = markdown.split(LAYERS_HEADING, 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in section.splitlines():
        m = re.match(r"^(\d+)\. \*\*([^*]+)\*\*: (.*)$", line)
        if m:
            assert int(m.group(1)) == len(layers) + 1, f"layer numbers out of order at {line!r}"
            names = re.findall(r"`([\w.]+)`", m.group(3))
            layers.append((m.group(2), [package if n == package else f"{package}.{n}" for n in names]))
    return layers


def layer_of(modules, layers, package: str = PACKAGE) -> dict[str, int]:
    """Module -> its layer's number (1-based): the longest listed name that is it or a package above it."""
    where = {}
    for i, (_, names) in enumerate(layers, 1):
        for n in names:
            where[n] = i
    out = {}
    for m in modules:
        candidates = [m] + ([] if m == package else _ancestors(m)[::-1])
        hit = next((c for c in candidates if c in where and (c != package or m == package)), None)
        if hit is not None:
            out[m] = where[hit]
    return out


# ---------------------------------------------------------------------------------------------
# The checks on rbdm_core
# ---------------------------------------------------------------------------------------------

MODULES = find_modules(ROOT)
EDGES = import_edges(MODULES)
CHECKED = [e for e in EDGES if not e["deferred"]]


@functools.cache
def _layers() -> tuple[list[tuple[str, list[str]]], dict[str, int]]:
    """The documented layers and each module's layer number (read once, when a test first asks)."""
    layers = read_layers(ARCHITECTURE.read_text())
    return layers, layer_of(MODULES, layers)


def _where(e) -> str:
    return f"{e['file']}:{e['line']} ({e['source']} -> {e['target']}{', implicit package' if e['implicit'] else ''})"


def test_the_walker_sees_the_package():
    assert len(MODULES) > 100 and "rbdm_core.masking.apply" in MODULES and "rbdm_core" in MODULES
    pairs = {(e["source"], e["target"]) for e in EDGES}
    assert ("rbdm_core", "rbdm_core.timing") in pairs  # `from . import timing` in the package's __init__
    assert ("rbdm_core.masking.apply", "rbdm_core.masking.fills") in pairs  # absolute, module level
    assert ("rbdm_core.gaze.heatmaps", "rbdm_core.gaze.geometry") in pairs  # relative
    assert ("rbdm_core.pipeline", "rbdm_core.gaze.recordings") in pairs  # inside a method
    assert ("rbdm_core.pipeline", "rbdm_core.gaze") in pairs  # and the package that runs first


def test_no_import_cycle():
    found = cycles(CHECKED)
    lines = []
    for comp in found:
        lines += [f"cycle among {comp}:"] + [f"  {_where(e)}" for e in CHECKED
                                             if e["source"] in comp and e["target"] in comp]
    assert not found, "\n".join(lines)


def test_every_module_is_in_a_documented_layer():
    LAYERS, LAYER = _layers()
    listed = [n for _, names in LAYERS for n in names]
    assert len(LAYERS) >= 10, f"docs/architecture.md {LAYERS_HEADING!r}: read {len(LAYERS)} layers"
    unknown = sorted(n for n in listed if n not in MODULES)
    twice = sorted({n for n in listed if listed.count(n) > 1})
    missing = sorted(m for m in MODULES if m not in LAYER)
    assert not unknown, f"docs/architecture.md names modules that do not exist: {unknown}"
    assert not twice, f"docs/architecture.md lists modules in two layers: {twice}"
    assert not missing, f"modules in no layer of docs/architecture.md {LAYERS_HEADING!r}: {missing}"


def test_imports_follow_the_layer_order():
    LAYERS, LAYER = _layers()
    bad = [e for e in CHECKED if LAYER[e["target"]] > LAYER[e["source"]]]
    name = {i: n for i, (n, _) in enumerate(LAYERS, 1)}
    assert not bad, "imports of a later layer (docs/architecture.md, " + LAYERS_HEADING + "):\n" + "\n".join(
        f"  {_where(e)}: layer {LAYER[e['source']]} {name[LAYER[e['source']]]} imports layer "
        f"{LAYER[e['target']]} {name[LAYER[e['target']]]}" for e in bad)


def test_deferred_imports_are_inside_functions_and_say_why():
    bad = [e for e in EDGES if e["deferred"] and not e["in_function"]]
    assert not bad, "a `# deferred:` marker outside a function:\n" + "\n".join(f"  {_where(e)}" for e in bad)


# ---------------------------------------------------------------------------------------------
# The walker on a made-up package: what it must catch
# ---------------------------------------------------------------------------------------------


def _package(tmp_path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        p = tmp_path / "pkg" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return find_modules(tmp_path, "pkg")


def test_walker_finds_a_cycle_through_a_package_and_a_function(tmp_path):
    mods = _package(tmp_path, {
        "__init__.py": "",
        "a/__init__.py": "from .x import f\n",
        "a/x.py": "def f():\n    from pkg.b.y import g\n",
        "b/__init__.py": "from pkg.b.y import g\n",
        "b/y.py": "from pkg.a.z import h\ndef g():\n    pass\n",  # runs pkg.a, whose __init__ runs a.x
        "a/z.py": "h = 1\n",
    })
    edges = import_edges(mods, "pkg")
    assert cycles(edges) == [["pkg.a", "pkg.a.x", "pkg.b", "pkg.b.y"]]


def test_walker_skips_only_marked_function_imports_and_own_packages(tmp_path):
    mods = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg import b  # deferred: b needs a at import time\n",
        "b.py": "from . import a\n",
        "c/__init__.py": "from .d import x\n",
        "c/d.py": "from ..a import f\nx = 1\n",  # runs pkg.c (its own package): no edge to it
    })
    edges = import_edges(mods, "pkg")
    assert cycles([e for e in edges if not e["deferred"]]) == []
    assert cycles(edges) == [["pkg.a", "pkg.b"]]
    assert {(e["source"], e["target"]) for e in edges} == {
        ("pkg.a", "pkg.b"), ("pkg.b", "pkg.a"), ("pkg.c", "pkg.c.d"), ("pkg.c.d", "pkg.a")}


def test_layers_are_read_and_a_longer_name_wins():
    md = ("# x\n## Import layers\n1. **base**: `rbdm_core`, `checks`\n2. **data**: `data`\n"
          "3. **late**: `data.late`, text with `no.such` is still read\n## Next\n4. **not**: `viz`\n")
    layers = read_layers(md)
    assert [n for n, _ in layers] == ["base", "data", "late"]
    mods = ["rbdm_core", "rbdm_core.checks", "rbdm_core.data", "rbdm_core.data.a", "rbdm_core.data.late",
            "rbdm_core.viz"]
    assert layer_of(mods, layers) == {"rbdm_core": 1, "rbdm_core.checks": 1, "rbdm_core.data": 2,
                                      "rbdm_core.data.a": 2, "rbdm_core.data.late": 3}


@pytest.mark.parametrize("module, never", [("rbdm_core.gaze", "rbdm_core.masking"),
                                           ("rbdm_core.locks", "rbdm_core.artifacts"),
                                           ("rbdm_core.video", "rbdm_core.commands")])
def test_the_broken_cycles_stay_broken(module, never):
    """The cycles of issue 26: nothing in `module` reaches `never` by any chain of imports
    (gaze <-> masking, locks <-> artifacts, the video modules <-> the CLI)."""
    reach, todo = set(), [m for m in MODULES if m == module or m.startswith(module + ".")]
    while todo:
        m = todo.pop()
        for e in CHECKED:
            if e["source"] == m and e["target"] not in reach:
                reach.add(e["target"])
                todo.append(e["target"])
    assert not any(r == never or r.startswith(never + ".") for r in reach), f"{module} reaches {never}"


# ---------------------------------------------------------------------------------------------
# Imports inside functions say why; long functions say why
# ---------------------------------------------------------------------------------------------

LONG = re.compile(r"#\s*long:\s*\S")
LONG_LINES = 80

#: Files whose imports inside functions are not yet moved or marked (issue 26, item 6): others
#: edited them in parallel, so they were left alone. Remove an entry once its file is done; the
#: test fails on an entry with nothing left to do.
UNMARKED_IMPORTS_ALLOWED = ()

#: Functions over LONG_LINES lines without a `# long:` reason, in those same files (same reason).
LONG_FUNCTIONS_ALLOWED = ()


def _listed(rel: str, entry: str) -> bool:
    return rel == entry or (entry.endswith("/") and rel.startswith(entry))


def function_imports(modules: dict[str, Path]) -> list[dict]:
    """Every import statement inside a function, of any module: file, line, names, deferred."""
    out = []
    for path in modules.values():
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        inside = _in_function(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) in inside:
                source = "\n".join(lines[node.lineno - 1: (node.end_lineno or node.lineno)])
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else ["." * node.level + (node.module or "")])
                out.append(dict(file=_shown(path), line=node.lineno, names=names,
                                deferred=bool(DEFERRED.search(source))))
    return sorted(out, key=lambda i: (i["file"], i["line"]))


def long_functions(modules: dict[str, Path], limit: int = LONG_LINES) -> list[dict]:
    """Every function or method of more than `limit` lines (def line to last line): file, name,
    line, lines, said (`# long:` on its signature, in its docstring's lines or on the line after)."""
    out = []
    for path in modules.values():
        text = path.read_text()
        lines = text.splitlines()
        for f in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) or f.end_lineno - f.lineno + 1 <= limit:
                continue
            header_end = f.body[0].end_lineno if ast.get_docstring(f) is not None else f.body[0].lineno - 1
            said = any(LONG.search(line) for line in lines[f.lineno - 1: header_end + 1])
            out.append(dict(file=_shown(path), name=f.name, line=f.lineno, lines=f.end_lineno - f.lineno + 1,
                            said=said))
    return sorted(out, key=lambda f: (f["file"], f["line"]))


def test_every_import_inside_a_function_is_deferred_with_a_reason():
    found = function_imports(MODULES)
    bad = [i for i in found if not i["deferred"] and not any(_listed(i["file"], a) for a in UNMARKED_IMPORTS_ALLOWED)]
    assert not bad, ("imports inside functions without `# deferred: <reason>` (move them to the top of the file, "
                     "or say why they must wait):\n" + "\n".join(f"  {i['file']}:{i['line']} {i['names']}" for i in bad))
    stale = [a for a in UNMARKED_IMPORTS_ALLOWED if not any(not i["deferred"] and _listed(i["file"], a) for i in found)]
    assert not stale, f"UNMARKED_IMPORTS_ALLOWED names files with nothing left to do: {stale}"


def test_every_long_function_says_why():
    found = long_functions(MODULES)
    bad = [f for f in found if not f["said"] and f"{f['file']}:{f['name']}" not in LONG_FUNCTIONS_ALLOWED]
    assert not bad, (f"functions over {LONG_LINES} lines without `# long: <reason>` (split them, or say why not on "
                     "the line after the docstring):\n"
                     + "\n".join(f"  {f['file']}:{f['line']} {f['name']} ({f['lines']} lines)" for f in bad))
    left = {f"{f['file']}:{f['name']}" for f in found if not f["said"]}
    stale = [a for a in LONG_FUNCTIONS_ALLOWED if a not in left]
    assert not stale, f"LONG_FUNCTIONS_ALLOWED names functions that are short now or say why: {stale}"


def test_the_marker_checks_catch_what_they_should(tmp_path):
    body = "    x = 1\n" * 85
    mods = _package(tmp_path, {
        "__init__.py": "",
        "a.py": ("def f():\n    import json\n    import os  # deferred: a reason\n"
                 'def g():\n    """doc"""\n    # long: a reason\n' + body
                 + "def h(\n    a,  # long: on the signature\n):\n" + body
                 + "def k():\n" + body
                 + "def m():\n    # long: no docstring: the line after the signature\n" + body
                 + "def n():\n" + body + "    # long: at the end is not read\n    x = 2\n"),
    })
    assert [(i["names"], i["deferred"]) for i in function_imports(mods)] == [(["json"], False), (["os"], True)]
    assert [(f["name"], f["said"]) for f in long_functions(mods)] == [("g", True), ("h", True), ("k", False),
                                                                       ("m", True), ("n", False)]
