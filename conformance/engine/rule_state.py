"""What the thread judging a rule knows of it, shared by the parts of a run (rules are judged side by side, one
per thread), and the ways a rule's judging ends without a verdict from its examples."""
from __future__ import annotations

import threading
import time

from hypothesis.control import current_build_context


class RuleState(threading.local):
    """The rule the calling thread is judging: its shrinking clock, its boundary examples, its live-target quota."""

    rejected: str | None = None  # why the last example was set aside
    failed_at: float | None = None  # when the rule under test first failed
    shrink_seconds: float | None = None  # the rule under test's shrinking time (None: unbounded)
    explicit: frozenset = frozenset()  # ids of the rule under test's boundary examples
    canonical: bool = False  # judging the lifecycle's canonical program (deterministic, minimal)
    trail: list | None = None  # what a lifecycle program sent so far (transport.Sent), for its evidence's steps
    # What the rule under test may still register on a live target (conformance/engine/budget.py); None: no limit.
    quota: int | None = None
    registered: int = 0  # registrations its examples made or found made (its own count: the quota's)
    accepted: int = 0  # its invalid registrations the target accepted
    held_back: int = 0  # its examples not sent for want of a registration
    capped: str | None = None  # why --max-users stopped it (the run's count: a target that accepts too much)

    def shrink_time_up(self) -> bool:
        """Whether the rule under test failed and its shrinking time (if bounded) has run out."""
        return (self.failed_at is not None and self.shrink_seconds is not None
                and time.perf_counter() - self.failed_at >= self.shrink_seconds)


def final_replay() -> bool:
    """Whether Hypothesis is replaying the example it settled on (False outside a Hypothesis test)."""
    try:
        return current_build_context().is_final
    except Exception:  # outside a Hypothesis test (the lifecycle machine's own replay)
        return False


class Stopped(BaseException):
    """The run is closing (an interrupt, a failure elsewhere): a rule still being judged sends nothing more.
    A BaseException, as KeyboardInterrupt is: Hypothesis must not take it for a failure to shrink."""


class NotJudged(Exception):
    """The rule gets no verdict from its examples: `status` (inconclusive, skipped, unsent) says why."""

    def __init__(self, status: str, why: str):
        super().__init__(why)
        self.status, self.why = status, why


class CapReached(NotJudged):
    """A registration --max-users does not allow any more (live targets): nothing was sent. Never raised to
    Hypothesis: the example that meets it is passed over, and its rule ends skipped (RuleRunner.exercise)."""

    def __init__(self, why: str):
        super().__init__("skipped", why)
