"""``python -m fixer``: the kfix command."""

from fixer.cli import main

main()
