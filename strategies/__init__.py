"""Hypothesis strategies for the operations in spec/: valid requests, labelled invalid ones, boundary cases.

Everything is read from the spec (qsconform.spec.model): members and their
constraints, cross-field rules, outcomes. A new operation spec file gets
strategies without a line of code here.

    from qsconform.strategies import valid_requests, invalid_requests
    @given(valid_requests("RegisterUser", spec=load_spec()))
    def test_x(req): ...
"""
from qsconform.strategies.boundaries import boundary_examples
from qsconform.strategies.config import StrategyConfig
from qsconform.strategies.invalid import breakable_alone, invalid_requests, rules_with_generators
from qsconform.spec.request import Expected, Request
from qsconform.strategies.valid import valid_requests

__all__ = ["StrategyConfig", "valid_requests", "invalid_requests", "boundary_examples", "rules_with_generators",
           "breakable_alone", "Request", "Expected"]
