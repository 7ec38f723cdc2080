"""The project's own set-up: the README's commands, .ci/run and the lock agree."""
import re
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    python3 -m pip install")]


def test_ci_runs_exactly_the_readme_test_command():
    main_job, tests = readme_commands()
    assert main_job.endswith("&& qsconform run") and tests.endswith("&& python3 -m pytest")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    installs = [line for line in ci if line.startswith("python3 -m pip install")]
    assert [line.replace(" -q", "") for line in installs] == [tests]
    for command in (main_job, tests):
        assert "-c constraints.txt" in command


def locked() -> dict[str, list[tuple[Version, str]]]:
    """Package -> [(version, marker)] from constraints.txt."""
    pins: dict[str, list] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        (pin,) = requirement.specifier
        assert pin.operator == "==", line
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        pins.setdefault(name, []).append((Version(pin.version), str(requirement.marker or "")))
    return pins


def test_the_lock_pins_every_dependency_within_its_range():
    import pytest

    if tomllib is None:
        pytest.skip("reading pyproject.toml needs Python 3.11 (tomllib)")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += [Requirement(r) for r in extra]
    pins = locked()
    environment = default_environment()
    for requirement in requirements:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not in constraints.txt: regenerate it (README, Versions)"
        for version, marker in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), \
                f"constraints.txt pins {name}=={version}, outside {requirement.specifier}: regenerate it"
        here = [v for v, m in pins[name] if not m or Requirement(f"x; {m}").marker.evaluate(environment)]
        assert len(here) == 1, f"{name}: {len(here)} pins apply to this Python"
