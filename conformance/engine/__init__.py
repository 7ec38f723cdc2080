"""The engine: a run from start to end, one rule judged with Hypothesis, the exchanges with the target."""
