"""Registers the conformance plugin, so that `pytest conformance/suite --target ...` works from a checkout.

The plugin starts nothing unless a conformance test runs, so the suite's own tests (tests/) are unaffected.
"""
pytest_plugins = ("conformance.plugin",)
