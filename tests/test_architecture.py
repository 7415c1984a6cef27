"""The package's house rules, measured from the code's own imports (ast, every import statement,
function-local ones included): the layer order of slowfast/__init__.py holds, no module imports itself
through others (no circles), no module is longer than 450 lines (but the config defaults) and no
function longer than 80 lines, and the task is chosen from `cfg.DETECTION.ENABLE` in at most 3 places."""
import ast
import functools
import os
import re
from collections import defaultdict

import pytest

import slowfast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "slowfast")


def layer_order():
    """Packages in the order of slowfast/__init__.py's floor table."""
    order = []
    for line in slowfast.__doc__.splitlines():
        m = re.match(r"\s+floor \d+\s+([a-z_ ]+?)(\s{2,}|$)", line)
        if m:
            order += m.group(1).split()
    return order


@functools.lru_cache(maxsize=None)
def modules():
    """module name -> source path, for every .py file under slowfast/."""
    out = {}
    for d, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), ROOT)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = os.path.join(d, f)
    return out


def imports_of(name, path, known):
    """The slowfast modules that `name` imports (resolving relative imports and `from pkg import mod`)."""
    tree = ast.parse(open(path).read(), path)
    is_pkg = path.endswith("__init__.py")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t.startswith("slowfast") and t != name:
                out.add(t)
    return out


def moved_to(path):
    """The new home a deprecated re-export module names (its module-level `MOVED_TO`), else None."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MOVED_TO" for t in node.targets):
            return node.value.value
    return None


@functools.lru_cache(maxsize=None)
def shims():
    return {m: moved_to(p) for m, p in modules().items() if moved_to(p)}


@functools.lru_cache(maxsize=None)
def graph():
    """module -> the modules it imports; deprecated re-exports at old paths are left out (they point up by
    design, for one release, and nothing in slowfast/ may import them)."""
    known = modules()
    old = shims()
    return {m: imports_of(m, p, known) for m, p in known.items() if m not in old}


def package(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_layer_table_names_every_package():
    order = layer_order()
    found = {package(m) for m in modules()} - {None}
    assert sorted(order) == sorted(found), "slowfast/__init__.py's floor table must list every package once"


def test_no_import_runs_back_up():
    """Each package imports only from packages listed before it in slowfast/__init__.py."""
    rank = {p: i for i, p in enumerate(layer_order())}
    upward = []
    for mod, deps in graph().items():
        src = package(mod)
        for dep in deps:
            dst = package(dep)
            if src and dst and src != dst and rank[dst] > rank[src]:
                upward.append(f"{mod} -> {dep}")
    assert not upward, "imports that run back up:\n" + "\n".join(sorted(upward))


def strongly_connected(g):
    """Tarjan's algorithm: the strongly connected components of more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
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

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_module_circles():
    """No module reaches itself through its imports (a package's __init__ re-exporting its own modules
    is not a circle: it is left out of the graph of its own package's modules)."""
    g = graph()
    pruned = defaultdict(set)
    for mod, deps in g.items():
        for dep in deps:
            # `import slowfast.x.y` runs slowfast/x/__init__.py first; the re-exports there point down.
            if not mod.startswith(dep + "."):
                pruned[mod].add(dep)
    circles = strongly_connected(pruned)
    assert not circles, "modules that import each other: " + "; ".join(" <-> ".join(c) for c in circles)


def test_strongly_connected_finds_a_planted_circle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(g) == [["a", "b", "c"]]


def test_modules_are_at_most_450_lines():
    long = {os.path.relpath(p, ROOT): n for p in modules().values()
            if (n := sum(1 for _ in open(p))) > 450 and not p.endswith(os.path.join("config", "defaults.py"))}
    assert not long, f"modules over 450 lines: {long}"


def test_functions_are_at_most_80_lines():
    long = []
    for path in modules().values():
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 80:
                    long.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 80 lines: " + ", ".join(long)


def detection_reads():
    """Places outside config/ (which defines and validates the key) that read cfg.DETECTION.ENABLE."""
    out = []
    for path in modules().values():
        if os.path.join("slowfast", "config") in path:
            continue
        for node in ast.walk(ast.parse(open(path).read())):
            if (isinstance(node, ast.Attribute) and node.attr == "ENABLE" and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "DETECTION"):
                out.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}")
    return out


def test_the_task_is_chosen_in_at_most_three_places():
    """The task factory, the model builder and the dataset builder; loops ask the task."""
    reads = detection_reads()
    assert len(reads) <= 3, f"cfg.DETECTION.ENABLE read in {len(reads)} places: {reads}"


def test_old_paths_warn_and_still_work():
    """Public names kept at their old paths for one release: importing them warns, and they are the new objects."""
    import importlib
    import sys
    import warnings

    assert "slowfast.utils.checkpoint" in shims()
    for old, new in shims().items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught), old
        target = importlib.import_module(new)
        for name in getattr(target, "__all__", []):
            assert getattr(module, name) is getattr(target, name), f"{old}.{name}"
    from slowfast.checkpoint import load_checkpoint, save_checkpoint
    from slowfast.utils.checkpoint import load_checkpoint as old_load, save_checkpoint as old_save
    assert (old_load, old_save) == (load_checkpoint, save_checkpoint)


def test_nothing_in_the_package_imports_a_deprecated_path():
    users = [f"{m} -> {d}" for m, deps in graph().items() for d in deps if d in shims()]
    assert not users, users


def summary(top: int = 8) -> str:
    """The picture in numbers: modules and lines per package, imports that run back up, circles, the
    longest modules, cfg.DETECTION.ENABLE reads. `python tests/test_architecture.py` prints it."""
    mods, g = modules(), graph()
    rank = {p: i for i, p in enumerate(layer_order())}
    per_pkg = defaultdict(lambda: [0, 0])
    for m, p in mods.items():
        per_pkg[package(m) or "(root)"][0] += 1
        per_pkg[package(m) or "(root)"][1] += sum(1 for _ in open(p))
    upward = sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps
                    if package(m) and package(d) and package(m) != package(d)
                    and rank.get(package(d), -1) > rank.get(package(m), len(rank)))
    pruned = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in g.items()}
    longest = sorted(((sum(1 for _ in open(p)), os.path.relpath(p, ROOT)) for p in mods.values()), reverse=True)
    lines = ["package            modules  lines"]
    lines += [f"{k:<18} {v[0]:>7} {v[1]:>6}" for k, v in sorted(per_pkg.items(), key=lambda kv: rank.get(kv[0], -1))]
    lines += [f"imports that run back up: {len(upward)}"] + [f"  {u}" for u in upward]
    circles = strongly_connected(pruned)
    lines += [f"circles: {len(circles)}"] + [f"  {' <-> '.join(c)}" for c in circles]
    lines += [f"longest modules: " + ", ".join(f"{p} {n}" for n, p in longest[:top])]
    reads = detection_reads()
    lines += [f"cfg.DETECTION.ENABLE reads outside config/: {len(reads)} ({', '.join(reads)})"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary())
