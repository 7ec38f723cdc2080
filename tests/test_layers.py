"""Imports flow one way: spec (the data and its model) -> strategies (generation) -> conformance (sending,
judging, reporting). Every module is read, lazy imports inside functions included."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("spec", "strategies", "conformance")  # each may import only those before it


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            if node.module == "qsconform":
                found |= {f"qsconform.{a.name}" for a in node.names}
    return found


def modules(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer):
    forbidden = LAYERS[LAYERS.index(layer) + 1:]
    wrong = {}
    for path in modules(layer):
        bad = {m for m in imports(path) for f in forbidden if m == f"qsconform.{f}" or m.startswith(f"qsconform.{f}.")}
        bare = {m for m in imports(path) if m.split(".")[0] in LAYERS}  # the installed names are qsconform.*
        if bad | bare:
            wrong[str(path.relative_to(ROOT))] = sorted(bad | bare)
    assert wrong == {}


def test_the_check_sees_a_wrong_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from qsconform.conformance.engine.run import Run\n    import strategies\n")
    assert imports(module) == {"qsconform.conformance.engine.run", "strategies"}


# What the spec files hold as read: OperationSpec.raw / http / common / shapes, Spec.common / shapes. Outside
# spec/, callers ask the typed model what a rule or an operation means. A rule keeps nothing of its file but its
# typed fields: no `.data` dict, read nowhere, the model included.
RAW = {"data", "raw", "http", "common", "shapes"}
RULE_DATA = {"data"}


def raw_reads(path: Path, names: set[str] = RAW) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return {f"{node.lineno}: .{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in names}


def test_no_module_outside_the_model_reads_the_spec_files_dictionaries():
    wrong = {str(p.relative_to(ROOT)): sorted(found) for layer in LAYERS[1:] for p in modules(layer)
             if (found := raw_reads(p))}
    assert wrong == {}


def test_no_module_reads_a_rules_data():
    wrong = {str(p.relative_to(ROOT)): sorted(found) for layer in LAYERS for p in modules(layer)
             if (found := raw_reads(p, RULE_DATA))}
    assert wrong == {}


def test_a_rule_is_its_kinds_typed_fields():
    """Each kind of rule is a dataclass of the fields it has: no dict of what its file held, no field of another kind."""
    from dataclasses import fields

    from qsconform.spec.loader import load_spec

    spec = load_spec()
    by_kind: dict[str, set[type]] = {}
    for rule in spec.rules:
        by_kind.setdefault(rule.kind, set()).add(type(rule))
        assert not hasattr(rule, "data"), rule.id
        assert not any(isinstance(getattr(rule, f.name), dict) for f in fields(rule)), rule.id
    assert {kind: len(types) for kind, types in by_kind.items()} == dict.fromkeys(
        ("member", "cross", "protocol", "response", "lifecycle"), 1)
    names = {kind: {f.name for f in fields(types.pop())} for kind, types in by_kind.items()}
    assert "check" in names["response"] and "check" not in names["cross"] | names["member"] | names["lifecycle"]
    assert "when" in names["cross"] and "when" not in names["member"] | names["response"] | names["protocol"]


def test_the_check_sees_a_raw_read(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(rule, op):\n    return rule.data['when'], op.raw\n")
    assert raw_reads(module) == {"2: .data", "2: .raw"}
    assert raw_reads(module, RULE_DATA) == {"2: .data"}


# botocore's service model is loaded in one place (spec/service.py); everything else asks it.
MODEL_LOADING = ("load_service_model", "data_loader", "botocore.loaders", "create_loader")


def model_loads(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return {name for name in MODEL_LOADING if name in names} | {m for m in imports(path) if m in MODEL_LOADING}


def test_one_module_loads_botocores_service_model():
    loaders = {str(p.relative_to(ROOT)) for layer in LAYERS for p in modules(layer) if model_loads(p)}
    assert loaders == {"spec/service.py"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(["qsconform", *(parts[:-1] if parts[-1] == "__init__" else parts)])


def import_graph(paths: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of `paths` it imports (`from a import b` is a.b when b is a module)."""
    names = {module_name(p, root): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                          for a in node.names}
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's strongly connected
    components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_modules_import_each_other(layer):
    # Lazy imports inside functions count: a cycle hidden in a function is a cycle all the same.
    assert cycles(import_graph(modules(layer))) == []


def test_the_check_sees_a_cycle_through_a_lazy_import(tmp_path):
    package = tmp_path / "conformance"
    package.mkdir()
    (package / "a.py").write_text("from qsconform.conformance import b\n")
    (package / "b.py").write_text("def f():\n    from qsconform.conformance.c import g\n")
    (package / "c.py").write_text("from qsconform.conformance.a import x\n")
    (package / "d.py").write_text("from qsconform.conformance import a\n")
    graph = import_graph(sorted(package.glob("*.py")), root=tmp_path)
    assert cycles(graph) == [["qsconform.conformance.a", "qsconform.conformance.b", "qsconform.conformance.c"]]


def optional_specs(path: Path) -> set[str]:
    """Functions whose `spec` parameter may be left out or None (and so be filled in from a global)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            defaults = dict(zip([a.arg for a in positional][len(positional) - len(args.defaults):], args.defaults))
            defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
            for arg in positional + args.kwonlyargs:
                if arg.arg == "spec" and ("spec" in defaults or "None" in ast.unparse(arg.annotation or ast.Constant(0))):
                    found.add(f"{node.lineno}: {node.name}")
    return found


def test_no_function_takes_a_spec_that_may_be_missing():
    wrong = {str(p.relative_to(ROOT)): sorted(found) for layer in LAYERS for p in modules(layer)
             if (found := optional_specs(p))}
    assert wrong == {}


def test_the_check_sees_an_optional_spec(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(op, spec=None):\n    pass\n\ndef g(op, *, spec: 'Spec | None'):\n    pass\n\n"
                      "def h(op, spec: Spec, *, config=None):\n    pass\n")
    assert optional_specs(module) == {"1: f", "4: g"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(path: Path) -> set[str]:
    """Private names (`_x`) of the package's modules used from another module: imported (`from m import _x`), or
    read off an imported module (`m._x`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found, modules_bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("qsconform"):
            for alias in node.names:
                if _private(alias.name):
                    found.add(f"{node.lineno}: {node.module}.{alias.name}")
                elif is_module(f"{node.module}.{alias.name}"):
                    modules_bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qsconform"):
                    if any(_private(part) for part in alias.name.split(".")):
                        found.add(f"{node.lineno}: {alias.name}")
                    if alias.asname:
                        modules_bound.add(alias.asname)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name) \
                and node.value.id in modules_bound:
            found.add(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def is_module(name: str) -> bool:
    parts = name.split(".")[1:]  # qsconform.<layer>.<...>
    return bool(parts) and parts[0] in LAYERS and (
        ROOT.joinpath(*parts).with_suffix(".py").is_file() or ROOT.joinpath(*parts, "__init__.py").is_file())


def test_no_module_uses_another_modules_private_names():
    paths = [p for layer in (*LAYERS, "tests", "benchmarks") for p in modules(layer)]
    wrong = {str(p.relative_to(ROOT)): sorted(found) for p in paths if (found := private_uses(p))}
    assert wrong == {}


def test_the_check_sees_a_private_use(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from qsconform.conformance.engine.run import _size, Run\nfrom qsconform.conformance.tools import cli\n"
                      "from qsconform.conformance.engine import interrupt as i\n\ndef f():\n    cli._spec_of(None)\n"
                      "    i._handler\n    Run._private_method\n")
    assert private_uses(module) == {"1: qsconform.conformance.engine.run._size", "6: cli._spec_of", "7: i._handler"}
