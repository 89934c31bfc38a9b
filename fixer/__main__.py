"""``python -m kfix``: the kfix command."""

from kfix.cli import main

main()
