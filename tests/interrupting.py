"""Run a qsconform command that interrupts itself (SIGINT, as Ctrl-C does) when it reaches a point of its work:
the point is an event in the code, never a timer.

    python tests/interrupting.py POINT[@first] MARK -- qsconform arguments...

POINT is where the signal is sent from:
  compile   a keyword of the oracle's JSON Schemas being instantiated by jsonschema-rs (the signal lands inside
            the library's callback, which turns the KeyboardInterrupt into an error of its own)
  draw      a request being drawn by the strategies (inside Hypothesis)
  send      a registration answered by the target, before the command reads the answer
  cleanup   the first delete of the users the command made (also: sweep's first delete)
  list      sweep's first ListUsers
Each fires at its first occurrence once the command holds a user it registered; with @first, at its very first
(a comparison draws everything before it registers anyone; a sweep registers nobody). When the signal is sent,
"interrupting at POINT" is written to the file MARK (the command's own output may be captured by pytest). The
process exits with the command's exit code.
"""
import os
import signal
import sys
import threading

HOLDING = threading.Event()  # the command holds a user it registered
FIRED = threading.Event()
MARK = []


def fire(point: str, first: bool) -> None:
    if FIRED.is_set() or not (first or HOLDING.is_set()):
        return
    FIRED.set()
    with open(MARK[0], "a", encoding="utf-8") as mark:
        mark.write(f"interrupting at {point}\n")
    os.kill(os.getpid(), signal.SIGINT)


def install(point: str, first: bool) -> None:
    from qsconform import strategies
    from qsconform.conformance.engine.ledger import UserLedger
    from qsconform.conformance.tools import sweep
    from qsconform.conformance.wire.transport import Transport
    from qsconform.spec import oracle

    send = Transport.send

    def sending(self, request, *args, **kwargs):
        holding = HOLDING.is_set()
        response = send(self, request, *args, **kwargs)
        if request.operation == self.spec.setup_operation and 200 <= response.status < 300:
            HOLDING.set()
            if point == "send" and (first or holding):
                fire(point, True)  # the target has registered the user; the command has not read the answer
        return response

    Transport.send = sending
    if point == "compile":
        for name, keyword in list(oracle.RS_KEYWORDS.items()):
            class Firing(keyword):
                def __init__(self, *args):
                    fire(point, first)
                    super().__init__(*args)
            oracle.RS_KEYWORDS[name] = Firing
    if point == "draw":
        for name in ("valid_requests", "invalid_requests"):
            made = getattr(strategies, name)

            def drawing(*args, _made=made, **kwargs):
                return _made(*args, **kwargs).map(lambda request: (fire(point, first), request)[1])
            setattr(strategies, name, drawing)
    if point == "cleanup":  # the deletes of a command's cleanup (UserLedger.cleanup), or of a sweep
        cleanup, delete = UserLedger.cleanup, sweep.delete_user

        def cleaning(self, remove, *args, **kwargs):
            return cleanup(self, lambda name: (fire(point, first), remove(name))[1], *args, **kwargs)

        def deleting(*args, **kwargs):
            fire(point, first)
            return delete(*args, **kwargs)
        UserLedger.cleanup, sweep.delete_user = cleaning, deleting
    if point == "list":
        listing = sweep.list_user_names

        def listed(*args, **kwargs):
            fire(point, first)
            return listing(*args, **kwargs)
        sweep.list_user_names = listed


def main(argv: list[str]) -> int:
    where, args = argv[0], argv[argv.index("--") + 1:]
    MARK.append(argv[1])
    point, _, when = where.partition("@")
    install(point, when == "first")
    from qsconform.conformance.tools.cli import main as qsconform

    return qsconform(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
