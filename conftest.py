"""Registers the conformance plugin, so that `pytest conformance/suite --target ...` works from a checkout.

The plugin starts nothing unless a conformance test runs, so the suite's own tests (tests/) are unaffected.
"""
pytest_plugins = ("qsconform.conformance.plugin",)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The suite's own tests: the mutation score of tests/test_verdicts.py, when its fault tests ran. Each of
    them names its fault and how it was caught (record_property), so the score is read from the reports
    wherever the test ran (a pytest-xdist worker sends its reports to the session that prints this)."""
    caught: dict[str, bool] = {}
    ways: dict[str, set] = {}  # how the faults were caught whatever the seed -> the faults
    for status in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(status, []):
            fault = dict(getattr(report, "user_properties", ()) or ()).get("qsconform_fault")
            if fault is None or report.when != "call":
                continue
            name, whatever_the_seed, how = fault
            if whatever_the_seed:
                ways.setdefault(how, set()).add(name)
            caught[name] = caught.get(name, True) and report.passed
    if caught:
        missed = [name for name, ok in caught.items() if not ok]
        anyseed = ", ".join(f"{len(names)} by {how}" for how, names in sorted(ways.items(), key=lambda w: -len(w[1])))
        terminalreporter.write_line(
            f"mutation score: {len(caught) - len(missed)}/{len(caught)} faults caught with the first seed, and with "
            f"any seed: {anyseed}" + (f"; missed: {', '.join(missed)}" if missed else ""))
