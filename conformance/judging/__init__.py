"""Judging: the checks, the results and their statuses, a baseline of accepted deviations."""
