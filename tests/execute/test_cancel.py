"""Ctrl-C stops database work that runs many statements, not only the one running at the time.

Each case runs in a fresh interpreter where SIGINT raises KeyboardInterrupt, as in a shell (a
test runner may ignore SIGINT), and sends itself SIGINT while the worker is between statements:
the worker waits, in Python, until the cancel has reached it (no timer decides when Ctrl-C comes).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time
    import duckdb
    from cohortql.execute.cancel import run_cancellable

    signal.signal(signal.SIGINT, signal.default_int_handler)
    con = duckdb.connect()
    ran = []

    class Witness:  # watched like a connection: its cancel() shows the main thread has sent the cancel
        reached = threading.Event()
        def cancel(self):
            self.reached.set()

    def work(cancellable):
        try:
            cancellable.watch(con)
            cancellable.watch(Witness())
            con.execute("SELECT 1").fetchall()
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, handled by the main thread
            # Python between statements until the cancel has come: it finds no query to interrupt
            assert Witness.reached.wait(30), "the cancel never came"
            {between}
            ran.append("long query")
            con.execute("SELECT count(*) FROM range(1000000000000)").fetchall()  # hours, unless cancelled
            return "finished"
        finally:
            ran.append("worker ended")

    started = time.monotonic()
    try:
        run_cancellable(work)
        print("finished")
    except KeyboardInterrupt:
        quick = time.monotonic() - started < 5  # the cancel grace period is 10 s
        print("interrupted", ran, "quickly" if quick else "slowly")
    """
)


def _run(between: str) -> str:
    script = SCRIPT.replace("{between}", between)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_check_between_statements_stops_before_the_next():
    assert _run("cancellable.check()") == "interrupted ['worker ended'] quickly"


def test_a_statement_started_after_the_cancel_is_cancelled_too():
    # No check: the long query starts after Ctrl-C; the repeated cancel still stops it at once.
    assert _run("pass") == "interrupted ['long query', 'worker ended'] quickly"
