"""One test per rule of the spec: its requests are drawn, sent and checked (see conformance/run.py)."""


def test_rule(rule, run):
    run.check_rule(rule)
