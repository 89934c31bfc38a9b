"""``kfix fleet``: propose hardening across an organisation's repositories.

For every repository of an organisation (listed through the forge's API, or named in a file) a job
runs what ``kfix pr`` does — the library call :func:`kfix.git.bot.propose`, with its rules: one bot
branch, one request, no duplicates, a request closed unmerged or a branch a person pushed to left
alone. Jobs run either in this process (``kfix.fleet.embedded``: a thread pool, nothing to install)
or through Dramatiq with a Redis broker on any number of ``kfix fleet worker`` processes
(``kfix.fleet.distributed``, the ``fleet`` extra). Both share:

- a forge-wide budget of content-creating API calls per minute (``kfix.fleet.limits``; Dramatiq's
  Redis-backed window limiter when distributed), on top of the client's own waits for Retry-After,
  x-ratelimit-reset and GitHub's secondary-limit 403 (``kfix.git.http``);
- a per-repository lock, so no repository is handled by two jobs at once;
- a record of what was proposed on which base commit (``kfix.fleet.state``), so a run that is
  interrupted and started again skips what is already done.

Modules: ``model`` (the campaign, outcomes, results), ``targets`` (which repositories), ``job`` (one
repository), ``limits``, ``state``, ``embedded``, ``distributed``, ``report`` (table, JSON, progress).
"""

from __future__ import annotations
