"""kfix engine: finding files, locating pod specs, planning and applying source edits, diffs, CLI."""

__version__ = "0.1.0"
