"""The ``kfix`` Typer application: the global ``--version`` option and every command attached to it.

Exit codes: 0 nothing left to do; 1 changes proposed but not written, or findings that could not be
fixed remain; 2 usage or configuration error, or some input could not be processed.
"""

from __future__ import annotations

import typer

from kfix import __version__
from kfix.cli import commands, fleet, git, review

app = typer.Typer(add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Harden Kubernetes manifests in place, keeping every byte you wrote outside the edit.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kfix {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """kfix: Kubernetes manifest auto-remediation."""


commands.register(app)
review.register(app)
git.register(app)
fleet.register(app)
