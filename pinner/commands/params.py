"""Cheap coercion of command-line values, so that parsing a command line does not import pydantic.

typer (0.2x) coerces every parameter through a pydantic ``TypeAdapter`` built on first use,
even a ``None`` default: for ``pinner pin`` that is 14 adapters and the pydantic import, about
0.3 s of CPU on every run, longer than pinner's own start-up. pinner's options are only ``str``,
``bool``, ``int`` and ``float`` with bounds, ``Path`` and lists of those, whose coercion is
trivial.

:class:`FastCommand` (the ``cls`` of every command) gives each such parameter a coercer that
handles the ordinary values itself and hands anything else (a malformed number, an
out-of-range value, a type it does not know) to the coercer typer would have used, built only
then: every error message stays typer's own, word for word. On a typer without lazily built
coercers (older releases coerce through click types, with no pydantic) it changes nothing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

import typer.core

_MISS = object()
"""A fast coercer's answer for "not mine": the value goes to typer's own coercion."""

_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,8})\Z")
"""A decimal integer as people type it; every other spelling goes to typer (and pydantic)."""

_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,6})?\Z")
"""A number of seconds as people type it (``30``, ``2.5``); the rest goes to typer."""


Fast = Callable[[Any, Any, Any], Any]
"""``(value, param, ctx) -> coerced value`` or :data:`_MISS`."""


def _fast_str(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is str else _MISS


def _fast_bool(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is bool else _MISS


def _fast_int(low: float | None, high: float | None) -> Fast:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is str and _PLAIN_INT.match(value):
            number = int(value)
        elif type(value) is int:
            number = value
        else:
            return _MISS
        if (low is not None and number < low) or (high is not None and number > high):
            return _MISS  # typer words the range error
        return number

    return coerce


def _fast_float(low: float | None, high: float | None) -> Fast:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        plain = type(value) is str and _PLAIN_DECIMAL.match(value)
        if not (plain or type(value) in (int, float)):
            return _MISS
        number = float(value)
        if (
            number != number
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            return _MISS  # NaN, or out of range: typer words the error
        return number

    return coerce


def _fast_path(info: Any) -> Fast:
    from typer._param_types import coerce_cli_path

    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is str and value:
            # what typer's pydantic adapter makes of a string; messages quote the string as
            # given, so only one that ``Path`` keeps as it is (no "a//b", no trailing "/")
            path = Path(value)
            if str(path) != value:
                return _MISS
        elif type(value) is Path:
            path = value
        else:
            return _MISS
        return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)

    return coerce


def _leaf(annotation: Any, info: Any) -> Fast | None:
    """A fast coercer for one value of ``annotation``, or None when typer must do it."""
    if annotation is str:
        return _fast_str
    if annotation is bool:
        return _fast_bool
    if annotation is int and not info.clamp:
        return _fast_int(info.min, info.max)
    if annotation is float and not info.clamp:
        return _fast_float(info.min, info.max)
    if annotation is Path and info.path_type is None:
        return _fast_path(info)
    return None


def _fast_coercer(param: Any) -> Fast | None:
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return None
    annotation = descriptor.annotation
    if get_origin(annotation) is not list:
        return _leaf(annotation, info)
    (item_type,) = get_args(annotation)
    item = _leaf(item_type, info)
    if item is None:
        return None

    def coerce_list(value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return _MISS
        items = [item(v, param, ctx) for v in value]
        return _MISS if any(v is _MISS for v in items) else items

    return coerce_list


class _FastRuntimeParam:
    """Stands in for typer's ``RuntimeParam``: same contract, pydantic only on a miss."""

    __slots__ = ("fast", "slow")

    def __init__(self, fast: Fast) -> None:
        self.fast = fast
        self.slow: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:  # as typer's RuntimeParam.coerce
            return () if (param.multiple or param.nargs == -1) else None
        result = self.fast(value, param, ctx)
        if result is not _MISS:
            return result
        if self.slow is None:
            from typer._coercion import build_runtime_param

            self.slow = build_runtime_param(param.type_descriptor)
        return self.slow.coerce(value, param=param, ctx=ctx)


def install_fast_coercion(params: list[Any]) -> None:
    """Give every parameter whose values pinner can coerce cheaply a :class:`_FastRuntimeParam`."""
    for param in params:
        if getattr(param, "_runtime_param", _MISS) is not None:
            continue  # not a lazily coerced typer parameter (or already coerced)
        if not hasattr(param, "type_descriptor"):
            continue
        fast = _fast_coercer(param)
        if fast is not None:
            param._runtime_param = _FastRuntimeParam(fast)


_click_errors: Any = importlib.import_module(
    (getattr(typer.core, "_click", None) or typer.core.click).__name__ + ".exceptions"  # type: ignore[attr-defined]
)
"""The exceptions of the click typer runs on: its own vendored copy since typer 0.2x, the
``click`` package before."""


class OneLineUsageError(_click_errors.UsageError):  # type: ignore[misc]
    """click's usage error, said the way pinner says every error: one line on stderr.

    click prints the usage, a hint and the error on four lines; a CI log or a pre-commit hook
    shows a user the last line or the first, so the one line says both what is wrong and where
    to look (``pinner: error: No such option: --bogus; see 'pinner pin --help'``).
    """

    def __init__(self, message: str, ctx: Any = None, command: str | None = None) -> None:
        super().__init__(message, ctx=ctx)
        self.command = command or (ctx.command_path if ctx is not None else "pinner")

    def show(self, file: Any = None) -> None:
        message = self.format_message().rstrip(".")
        typer.echo(f"pinner: error: {message}; see '{self.command} --help'", file=file, err=True)


def _one_line(error: Any, command: str | None = None) -> Any:
    """``error`` as a :class:`OneLineUsageError` naming ``command`` (default: the error's own);
    a bare ``pinner`` (or ``pinner cache``) still prints its help, as asked."""
    if isinstance(error, (_click_errors.NoArgsIsHelpError, OneLineUsageError)):
        return error
    return OneLineUsageError(error.format_message(), ctx=error.ctx, command=command)


class _FastCoercion:
    """Mixin for typer's command classes: install the fast coercers once the params exist, and
    say usage errors in one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        install_fast_coercion(self.params)  # type: ignore[attr-defined]

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[misc]
        except _click_errors.UsageError as error:
            command = f"{parent.command_path} {info_name}" if parent is not None else info_name
            raise _one_line(error, command) from None

    def get_help_option(self, ctx: Any) -> Any:
        # built on first use, outside ``params``; its (unset) value is coerced like any other
        option = super().get_help_option(ctx)  # type: ignore[misc]
        install_fast_coercion([option])
        return option


class FastCommand(_FastCoercion, typer.core.TyperCommand):
    """A typer command whose ordinary option values are coerced without pydantic, and whose
    ``--help`` lists its own options first and the shared ones in sections of their own."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Arguments, the command's own options, then one section per ``rich_help_panel``
        (the forge options every command shares, container images, graph bounds), in the
        order they are declared. typer draws those sections only with rich installed; pinner
        does not depend on rich, so it draws them itself, and names arguments as the usage
        line does (``PATH...``, not ``PATH <list[Path]>``)."""
        arguments: list[tuple[str, str]] = []
        sections: dict[str | None, list[tuple[str, str]]] = {None: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name = param.metavar or (param.name or "").upper()
                arguments.append((name + ("..." if param.nargs != 1 else ""), record[1]))
            else:
                panel = getattr(param, "rich_help_panel", None)
                sections.setdefault(panel, []).append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        for title, rows in sections.items():
            if rows:
                with formatter.section(title or "Options"):
                    formatter.write_dl(rows)


class FastGroup(_FastCoercion, typer.core.TyperGroup):
    """A typer group (``pinner`` itself, ``pinner cache``) whose own options skip pydantic."""

    def resolve_command(self, ctx: Any, args: Any) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _click_errors.UsageError as error:  # "No such command 'x'."
            raise _one_line(error) from None
