"""The one guard at the CLI's edge: what no command can handle itself becomes one line on
standard error and a documented exit code (docs/cli.md, "Exit codes"), never a traceback.

- a closed standard output (`cohortql sql q.cohort >&-`): writing to it is an error, exit 1;
- output that cannot be written (`> /dev/full`: no space left), exit 1; a reader that went away
  (`| head`) ends the command quietly, exit 1;
- Ctrl-C, wherever it lands (Python's KeyboardInterrupt, Click's Abort, DuckDB's interrupt of a
  running query): `interrupted`, exit 130; files being written are written beside their target
  and renamed into place only when complete (common.write_whole, report/document.write_report,
  the loaders), so none is left half written;
- a number too large for what it reaches (an OverflowError), exit 2;
- usage errors as Click reports them, exit 2.
"""

from __future__ import annotations

import errno
import os
import sys

import typer

from cohortql.cli.common import err

try:  # Typer >= 0.20 ships its own copy of Click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older Typer on Click
    from click.exceptions import ClickException

EXIT_INTERRUPTED = 130


class _ClosedOutput:
    """Standard output when the process started without one (fd 1 closed): Python leaves
    `sys.stdout` None, and `print` would drop the output silently."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _is_interrupt(error: BaseException) -> bool:
    """Ctrl-C as an engine reports it: DuckDB raises its InterruptException, not KeyboardInterrupt."""
    kind = type(error)
    return kind.__module__.split(".")[0].lstrip("_") == "duckdb" and "Interrupt" in kind.__name__


def _silence_stdout() -> None:
    """After an output error, nothing more goes to standard output (nor fails again at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        sys.stdout = _ClosedOutput()
        return
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", closefd=False)


def _output_error(error: OSError) -> int:
    if error.filename is None:  # standard output itself
        _silence_stdout()
        if error.errno != errno.EPIPE:  # a reader that went away (`| head`) needs no message
            reason = "standard output is closed" if error.errno == errno.EBADF else error.strerror or str(error)
            err.print(f"error: cannot write the output: {reason}")
        return 1
    err.print(f"error: {error.filename}: {error.strerror or error}")
    return 1


def _show_usage_error(error: ClickException) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(error)
    except Exception:  # noqa: BLE001 - Rich or Typer's helper missing: Click's plain form
        error.show()


def run(app: typer.Typer) -> None:
    """Run the app and exit with its code; see the module's docstring."""
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    try:
        try:
            result = app(standalone_mode=False)
            code = result if isinstance(result, int) else 0
            if code == EXIT_INTERRUPTED:  # Typer turns a KeyboardInterrupt into Exit(130), silently
                code = _interrupted()
        finally:
            sys.stdout.flush()  # a full disk shows here, not at interpreter exit
    except typer.Exit as exit_:
        code = exit_.exit_code
    except (KeyboardInterrupt, typer.Abort):
        code = _interrupted()
    except ClickException as error:
        _show_usage_error(error)
        code = error.exit_code
    except OSError as error:
        code = _output_error(error)
    except OverflowError as error:
        err.print(f"error: a number is too large: {error}")
        err.print("  hint: ids and counts are at most 9223372036854775807 (2^63 - 1)")
        code = 2
    except Exception as error:
        if not _is_interrupt(error):
            raise
        code = _interrupted()
    sys.exit(code)


def _interrupted() -> int:
    err.print("interrupted")
    return EXIT_INTERRUPTED
