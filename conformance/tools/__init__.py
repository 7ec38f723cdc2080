"""The command line and its tools: options, exit codes, explain, sweep, probe, observe."""
