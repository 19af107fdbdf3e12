"""Validation of papermill parameters.

A chapter's first code cell (tagged ``parameters``) holds plain assignments: the quick-scale defaults.
The cell right after it calls :func:`check` with a specification of every parameter::

    params.check(globals(), n_train=(int, 10, 100_000), potential=("AM04", "M03"), dims=[int, 1, 64])

Shorthands: ``(int, lo, hi)`` / ``(float, lo, hi)`` a bounded number, ``(bool,)``, ``(str,)``, a tuple of
strings the allowed choices, ``[int, lo, hi]`` a non-empty list of bounded numbers. The spec classes
(:class:`Int`, :class:`Float`, :class:`Choice`, :class:`ListOf`, ...) can be used directly.
``device``, ``interactive``, ``smoke`` and ``seed`` have standard specs and need not be repeated.

What :func:`check` does, and why:

* a name defined in the notebook namespace but absent from the specification is refused, with the
  closest known names: papermill injects ``-p dimz 3`` as a new variable without complaint, so a typo
  would otherwise run the defaults silently;
* a wrong type or an out-of-range value raises :class:`ParameterError` naming the parameter and what is
  allowed;
* ``papermill -p dims '[2, 32]'`` passes a string: a list-valued parameter given as a string is parsed
  as a Python literal; an int given to a float parameter is converted;
* when the environment variable ``LOCALBOOK_HEADLESS`` is set (``make`` sets it), ``interactive`` is
  forced to False: building ipywidgets in a kernel without a front end can stall it.
"""
from __future__ import annotations

import ast
import difflib
import math
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["ParameterError", "Int", "Float", "Bool", "Str", "Choice", "ListOf", "Device", "check", "headless"]

_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_PLAIN_TYPES = (bool, int, float, str, list, tuple, dict, type(None))


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type or out of range."""


class Spec:
    """Base class: ``validate(name, value)`` returns the (possibly converted) value or raises."""

    def validate(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fail(self, name: str, value: Any, why: str = "") -> ParameterError:
        why = f" ({why})" if why else ""
        return ParameterError(f"parameter {name!r} = {value!r} is invalid{why}: allowed is {self.describe()}")


@dataclass(frozen=True)
class _Number(Spec):
    lo: float | None = None
    hi: float | None = None

    kind = float

    def describe(self) -> str:
        lo = "-inf" if self.lo is None else f"{self.lo:,}"
        hi = "+inf" if self.hi is None else f"{self.hi:,}"
        return f"{self.kind.__name__} in [{lo}, {hi}]"

    def _convert(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def validate(self, name: str, value: Any) -> Any:
        value = self._convert(name, value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise self._fail(name, value, "out of range")
        return value


class Int(_Number):
    """An integer in ``[lo, hi]``."""

    kind = int

    def _convert(self, name, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, value, f"a {type(value).__name__}, not an int")
        return value


class Float(_Number):
    """A finite real number in ``[lo, hi]`` (ints are converted)."""

    kind = float

    def _convert(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(name, value, f"a {type(value).__name__}, not a number")
        if not math.isfinite(value):
            raise self._fail(name, value, "not finite")
        return float(value)


class Bool(Spec):
    """True or False."""

    def describe(self) -> str:
        return "True or False"

    def validate(self, name, value):
        if not isinstance(value, bool):
            raise self._fail(name, value, f"a {type(value).__name__}, not a bool")
        return value


class Str(Spec):
    """Any string."""

    def describe(self) -> str:
        return "a string"

    def validate(self, name, value):
        if not isinstance(value, str):
            raise self._fail(name, value, f"a {type(value).__name__}, not a string")
        return value


class Choice(Spec):
    """One of a fixed set of values."""

    def __init__(self, *choices: Any):
        if not choices:
            raise ValueError("Choice needs at least one allowed value")
        self.choices = choices

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def validate(self, name, value):
        if value not in self.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            raise self._fail(name, value, f"did you mean {close[0]!r}?" if close else "")
        return value


class Device(Choice):
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""

    def __init__(self):
        super().__init__("auto", "cpu", "cuda", "mps")

    def describe(self) -> str:
        return "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"

    def validate(self, name, value):
        if isinstance(value, str) and value.startswith("cuda:") and value[5:].isdigit():
            return value
        return super().validate(name, value)


class ListOf(Spec):
    """A non-empty list whose items satisfy ``item``; a string is parsed as a Python literal first."""

    def __init__(self, item: Spec, min_len: int = 1, max_len: int | None = None):
        self.item, self.min_len, self.max_len = item, min_len, max_len

    def describe(self) -> str:
        n = f"at least {self.min_len}" + (f" and at most {self.max_len}" if self.max_len else "")
        return f"a list of {n} items, each {self.item.describe()}"

    def validate(self, name, value):
        if isinstance(value, str):  # papermill -p dims '[2, 32]' passes a string
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise self._fail(name, value, "not a Python list literal") from None
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise self._fail(name, value, f"a {type(value).__name__}, not a list")
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            raise self._fail(name, value, f"{len(value)} items")
        return [self.item.validate(f"{name}[{i}]", v) for i, v in enumerate(value)]


STANDARD_SPECS: dict[str, Spec] = {
    "device": Device(),
    "interactive": Bool(),
    "smoke": Bool(),
    "seed": Int(0, 2**32 - 1),
}


def as_spec(shorthand: Any) -> Spec:
    """Turn a shorthand (see the module docstring) into a :class:`Spec`."""
    if isinstance(shorthand, Spec):
        return shorthand
    if isinstance(shorthand, list) and shorthand and shorthand[0] in (int, float):
        return ListOf(as_spec(tuple(shorthand)))
    if isinstance(shorthand, tuple) and shorthand:
        head, rest = shorthand[0], shorthand[1:]
        if head is int:
            return Int(*rest)
        if head is float:
            return Float(*rest)
        if head is bool and not rest:
            return Bool()
        if head is str and not rest:
            return Str()
        if all(not isinstance(c, type) for c in shorthand):
            return Choice(*shorthand)
    raise TypeError(f"cannot read the parameter specification {shorthand!r}; see localbook.params")


def headless() -> bool:
    """True when ``LOCALBOOK_HEADLESS`` is set to a non-empty value other than ``0``."""
    return os.environ.get("LOCALBOOK_HEADLESS", "") not in ("", "0")


def _looks_like_parameter(name: str, value: Any) -> bool:
    return not name.startswith("_") and name not in _IPYTHON_NAMES and isinstance(value, _PLAIN_TYPES)


def check(namespace: dict[str, Any], **specs: Any) -> dict[str, Any]:
    """Validate the parameters in ``namespace`` (a notebook's ``globals()``) in place.

    Every parameter-like name (a plain value: number, string, bool, list, tuple, dict, None; not starting
    with ``_``) must be specified. Returns the validated parameters as a dict, and writes converted values
    back into ``namespace``.
    """
    full = {name: spec for name, spec in STANDARD_SPECS.items() if name in namespace}
    full.update({name: as_spec(s) for name, s in specs.items()})

    unknown = sorted(n for n, v in namespace.items() if _looks_like_parameter(n, v) and n not in full)
    if unknown:
        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n, list(full), n=1)
            hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
            f"this notebook takes: {', '.join(sorted(full))}"
        )
    missing = sorted(n for n in full if n not in namespace)
    if missing:
        raise ParameterError(f"parameter(s) {', '.join(missing)} specified but not defined in the parameters cell")

    values = {name: spec.validate(name, namespace[name]) for name, spec in full.items()}
    if "interactive" in values and headless():
        values["interactive"] = False
    namespace.update(values)
    return values
