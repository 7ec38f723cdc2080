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
    module.write_text("def f():\n    from qsconform.conformance.run import Run\n    import strategies\n")
    assert imports(module) == {"qsconform.conformance.run", "strategies"}
