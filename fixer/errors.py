"""Errors that end the processing of one input, always with a place a person can open."""

from __future__ import annotations


class InputError(Exception):
    """An input kfix cannot handle safely: reported as ``file:line: message``, file left untouched."""

    def __init__(self, message: str, line: int | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path

    def located(self, path: str) -> "InputError":
        """This error, placed in ``path``, to be kept on a plan: without the frames it was raised through
        (they would keep the whole run's data alive, in a reference cycle, after the run)."""
        if self.path is None:
            self.path = path
        self.__context__ = self.__cause__ = None
        return self.with_traceback(None)

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class EditUnsupported(Exception):
    """The editing backend cannot express an operation without touching bytes it must keep."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class VerificationError(Exception):
    """The rewritten text does not re-parse to the intended data: a kfix bug, never written."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class ConfigError(Exception):
    """Bad command-line options or configuration file (exit code 2)."""
