import os

import pytest


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere and no metadata service to ask; returns the folder of the empty shared files."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """The runs of tests/test_verdicts.py first, the longest first: the test command's workers (pytest-xdist,
    which hands tests out in this order) start them while every other test is still to come, so that no worker
    is left with a long run at the end while the other waits. Every other test keeps its place."""
    from reference_runs import Job, cost

    def weight(item):
        callspec = getattr(item, "callspec", None)
        job = callspec.params.get("job") if callspec else None
        if isinstance(job, Job):
            return cost(job)
        if item.module.__name__ == "test_verdicts" and "command_line" in item.name:
            return 120.0  # a quick run of every rule, and an interpreter's start
        return None

    weights = {id(item): weight(item) for item in items}
    first = sorted((item for item in items if weights[id(item)] is not None), key=lambda i: -weights[id(i)])
    items[:] = first + [item for item in items if weights[id(item)] is None]


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the option (conftests register after it)
def pytest_cmdline_main(config):
    """The suite's own tests on every core (pytest-xdist, `-n auto`; --pdb makes it one process), unless the
    command line says how many (`-n 0`: one process) or leaves xdist out (`-p no:xdist`). Here and not in
    pyproject.toml's addopts: `qsconform run` from a checkout reads that file too, and its runs must stay serial
    unless asked."""
    option = config.option
    worker = hasattr(config, "workerinput")  # a worker runs its share of the session in one process
    if config.pluginmanager.hasplugin("xdist") and getattr(option, "numprocesses", 0) is None \
            and not worker and not option.collectonly:
        option.numprocesses = "auto"
        if option.dist == "no":
            # One test at a time to whichever worker is free, in the order of the collection (longest first,
            # above); the tests of a module marked xdist_group together, so its module fixture is built once.
            option.dist = "loadgroup"


def pytest_configure(config):
    # A deprecation Hypothesis warns of today is an error in a later version: the suite's own tests fail on
    # one, wherever it is raised (a rule judged side by side runs in a thread of the run).
    config.addinivalue_line("filterwarnings", "error::hypothesis.errors.HypothesisDeprecationWarning")
