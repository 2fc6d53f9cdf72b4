"""The `flipsim` command line.

Exit codes: 0 success, 2 bad input (unreadable or invalid scenario, bad
option); anything else is a bug. Problems are printed one per line on stderr,
without a traceback, and nothing is written for bad input.
"""

from __future__ import annotations

import importlib

from simulator.cli.common import app

for _module in ("runs", "experiments"):  # importing adds the commands, in order
    importlib.import_module(f"simulator.cli.{_module}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        app(args=argv, prog_name="flipsim")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
