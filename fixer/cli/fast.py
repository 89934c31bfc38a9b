"""``scan``, ``apply`` and ``diff`` command lines run without building typer's parser.

Typer builds a validator for every parameter of the command it runs (with pydantic, in recent
versions), which costs more than a CI run over an already-hardened tree once the cache answers. The
plain command lines CI and pre-commit use are read here from the same declarations typer reads (the
commands' ``typer.Option`` defaults and annotations) and the command function is called with the values
typer would pass. Anything else — help, an unknown or combined option, a value typer would have to
convert or refuse, shell completion — is left to typer, which answers as it always does.
"""

from __future__ import annotations

import errno
import inspect
import os
import sys
import typing
from enum import Enum

COMMANDS = ("scan", "apply", "diff")


class _Fallback(Exception):
    """The command line is one for typer."""


def run(argv: list[str]) -> int | None:
    """The exit code of running ``argv`` (without the program name); None: typer must run it."""
    if not argv or argv[0] not in COMMANDS or any(k.startswith("_KFIX_COMPLETE") for k in os.environ):
        return None
    import typer

    from kfix.cli import commands

    func = getattr(commands, argv[0])
    try:
        kwargs = _parse(func, argv[1:])
    except _Fallback:
        return None
    try:
        try:
            func(**kwargs)
        except EOFError:
            sys.stderr.write("\n")
            sys.stderr.write("Aborted!\n")
            return 1
        except KeyboardInterrupt:
            return 130
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            from typer._click.utils import PacifyFlushWrapper

            sys.stdout = PacifyFlushWrapper(sys.stdout)
            sys.stderr = PacifyFlushWrapper(sys.stderr)
            return 1
    except typer.Exit as exc:
        return exc.exit_code
    return 0


def _parse(func, args: list[str]) -> dict:
    """The keyword arguments typer would call ``func`` with for ``args``; _Fallback when unsure."""
    import typer.models

    hints = typing.get_type_hints(func)
    options: dict[str, tuple[str, str, object]] = {}  # option name -> (parameter, kind, converter)
    kwargs: dict = {}
    positional_param = None
    for name, parameter in inspect.signature(func).parameters.items():
        info = parameter.default
        kind, convert = _kind(hints[name], info)
        if isinstance(info, typer.models.ArgumentInfo):
            if kind != "multi" or positional_param is not None:
                raise _Fallback
            positional_param = name
            continue
        if not isinstance(info, typer.models.OptionInfo) or info.default is ... or callable(info.default):
            raise _Fallback
        kwargs[name] = info.default
        for decl in info.param_decls:
            if "/" in decl or not decl.startswith("-"):
                raise _Fallback
            options[decl] = (name, kind, convert)
    given: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in options:  # --help, --, an unknown option, -j4, -qw
            raise _Fallback
        param, kind, convert = options[name]
        if kind == "flag":
            if eq:
                raise _Fallback
            kwargs[param] = True
            continue
        if not eq:
            if i >= len(args):
                raise _Fallback
            inline = args[i]
            i += 1
        value = convert(inline)
        if kind == "multi":
            kwargs[param] = (kwargs[param] if param in given else []) + [value]
        elif param in given:
            raise _Fallback
        else:
            kwargs[param] = value
        given.add(param)
    if positional_param is None or not positional:
        raise _Fallback
    kwargs[positional_param] = positional
    return kwargs


def _kind(annotation, info) -> tuple[str, object]:
    """How an option is given on the command line and how typer converts its value."""
    optional = typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(annotation)
    if optional:
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation is bool and not optional:
        return "flag", None
    if annotation is str:
        return "value", _text
    if typing.get_origin(annotation) in (list, typing.List) and typing.get_args(annotation) == (str,):
        return "multi", _text
    if annotation is int and not optional:
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if high is not None or getattr(info, "clamp", False):
            raise _Fallback
        return "value", lambda text: _number(text, low)
    if isinstance(annotation, type) and issubclass(annotation, Enum) and \
            not getattr(info, "case_sensitive", True) is False:
        return "value", lambda text: _choice(annotation, text)
    raise _Fallback


def _text(text: str) -> str:
    return text


def _number(text: str, low: int | None) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _Fallback
    value = int(text)
    if low is not None and value < low:
        raise _Fallback
    return value


def _choice(enum: type[Enum], text: str) -> Enum:
    for member in enum:
        if member.value == text:
            return member
    raise _Fallback
