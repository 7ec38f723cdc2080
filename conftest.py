"""Registers the conformance plugin, so that `pytest conformance/suite --target ...` works from a checkout.

The plugin starts nothing unless a conformance test runs, so the suite's own tests (tests/) are unaffected.
"""
pytest_plugins = ("qsconform.conformance.plugin",)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The suite's own tests: the mutation score of tests/test_verdicts.py, when it ran."""
    for line in getattr(config, "_qsconform_mutation_score", []):
        terminalreporter.write_line(line)
