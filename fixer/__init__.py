"""kfix: harden Kubernetes workloads in the sources people keep in git, editing only the exact spans it must.

Where things are:

- the shared core, here: ``api`` (the library API the CLI, review and the bot use), ``planner`` (rules ->
  changes per file, verification), ``ops`` (the operations rules emit), ``workloads`` (where pods live in
  objects), ``inventory`` (cross-file facts), ``config``, ``files``, ``diffs``, ``report``, ``errors``,
  ``review`` (accepting changes one at a time, the decisions file);
- ``kfix.rules``: what a hardened pod looks like (no text, no files);
- backends, which know nothing about security: ``kfix.yaml`` (span-exact YAML source editing) and
  ``kfix.helm`` (chart templates analysis, values-file planning, render proof);
- subsystems: ``kfix.git`` (branches, the pull-request bot, forge clients) and ``kfix.cli`` (the command).
"""

__version__ = "0.1.0"
