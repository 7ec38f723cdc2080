"""The typed model stays typed: mypy (pyproject's [tool.mypy]) passes over the packages below.

The code imports itself as qsconform.spec, qsconform.strategies... while the folders are spec/, strategies/...
(pyproject's package-dir); mypy follows imports by path, so it is run in a tree of links that names the folders
as they are imported (docs/typing.md). `python tests/test_types.py` prints the checker's findings."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("spec", "strategies", "conformance")


def link_tree(root: Path, into: Path, packages=PACKAGES) -> Path:
    """`into`/qsconform/<package> -> `root`/<package>: the import names as paths."""
    (into / "qsconform").mkdir(parents=True, exist_ok=True)
    (into / "qsconform" / "__init__.py").touch()  # a namespace package when installed; a plain one to mypy
    for package in packages:
        (into / "qsconform" / package).symlink_to(root / package, target_is_directory=True)
    return into


def mypy(root: Path, tree: Path, packages=PACKAGES) -> subprocess.CompletedProcess:
    """mypy over `packages` seen through `tree`, its findings with the paths of `root` (spec/model.py:12: ...)."""
    args = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", os.devnull,
            "--no-error-summary", "--hide-error-context", "--no-pretty"]
    for package in packages:
        args += ["-p", f"qsconform.{package}"]
    env = {**os.environ, "MYPYPATH": str(tree)}
    result = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    result.stdout = result.stdout.replace("qsconform/", "")  # qsconform/spec/model.py -> spec/model.py
    return result


def test_the_type_checker_passes(tmp_path):
    result = mypy(ROOT, link_tree(ROOT, tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_type_checker_finds_a_wrong_type_at_its_path(tmp_path):
    # A package that breaks a signature of its own, seen the same way: the check can fail, and says where.
    bad = tmp_path / "project" / "spec"
    bad.mkdir(parents=True)
    (bad / "__init__.py").write_text("")
    (bad / "model.py").write_text("def top(path: str) -> str:\n    return path.split('.')\n")
    (bad / "user.py").write_text("from qsconform.spec.model import top\n\nlength: int = top('Tags[].Key')\n")
    result = mypy(tmp_path / "project", link_tree(tmp_path / "project", tmp_path / "tree", ("spec",)), ("spec",))
    assert result.returncode == 1
    assert sorted(line.split(" error: ")[0] for line in result.stdout.splitlines()) == [
        "spec/model.py:2:", "spec/user.py:3:"]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        found = mypy(ROOT, link_tree(ROOT, Path(tmp)))
    print(found.stdout + found.stderr, end="")
    sys.exit(found.returncode)
