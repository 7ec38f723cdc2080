"""Hypothesis strategies for the operations in spec/: valid requests, labelled invalid ones, boundary cases.

Everything is read from the spec (conformance.spec): members and their
constraints, cross-field rules, outcomes. A new operation spec file gets
strategies without a line of code here.

    from strategies import valid_requests, invalid_requests
    @given(valid_requests("RegisterUser"))
    def test_x(req): ...
"""
from strategies.boundaries import boundary_examples
from strategies.config import StrategyConfig
from strategies.invalid import breakable_alone, invalid_requests, rules_with_generators
from strategies.request import Expected, Request
from strategies.valid import valid_requests

__all__ = ["StrategyConfig", "valid_requests", "invalid_requests", "boundary_examples", "rules_with_generators",
           "breakable_alone", "Request", "Expected"]
