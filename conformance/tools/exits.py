"""The exit codes of every qsconform command (README, "Exit codes")."""

OK = 0  # no rule failed (run), no difference (compare), done (sweep, merge, schema)
FAILED = 1  # some rule failed (with --strict: or is advisory), or -x/--maxfail stopped the run; compare: the targets
# differ; sweep: some user could not be deleted
USAGE = 2  # bad usage or configuration: one clear line, no traceback (a live target without --live too)
UNREACHABLE = 3  # the target does not answer, or not as a QuickSight endpoint
INTERNAL = 4  # a bug of the suite
INTERRUPTED = 130  # Ctrl-C or SIGTERM, in any command; what it created is still deleted
