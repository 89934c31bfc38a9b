"""The ``kfix`` command line: thin layers over the library API (``kfix.api``, ``kfix.review``, ``kfix.git``).

``options`` holds what every command shares, ``commands`` the file commands (scan, apply, diff, rules),
``review`` and ``git`` their own commands, and ``app`` puts them together.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Console entry point; ``--version`` answers before anything heavy is imported.

    kfix is a short-lived process that allocates millions of small objects and keeps no reference
    cycles: the cyclic garbage collector stays off (its passes over a large run's data cost time).
    """
    from kfix import __version__

    if sys.argv[1:] == ["--version"]:
        print(f"kfix {__version__}")
        return
    import gc

    gc.disable()
    os.environ.setdefault("TYPER_USE_RICH", "0")
    from kfix.cli.fast import run

    code = run(sys.argv[1:])  # scan, apply, diff: without building typer's parser when typer is not needed
    if code is not None:
        sys.exit(code)
    from kfix.cli.app import app

    app(prog_name="kfix")
