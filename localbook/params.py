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

Scale presets. A chapter declares its settings once, in ``localbook.chapters``, as a :class:`Presets` of
:class:`Setting` s: each with its specification, its value at each scale — ``"quick"`` (the default: CI, a few
minutes on a 2-core CPU), ``"medium"`` (about an hour on that CPU), ``"thesis"`` (the thesis' settings, for a GPU)
and ``"smoke"`` (CI's tiny run of the same code path) — and what the thesis used. The notebook's parameters cell
holds ``scale = "quick"`` and each preset setting ``= None``; ``check(globals(), chapter.PRESETS)`` fills every
``None`` from the chosen scale (from the smoke column when ``smoke`` is True), so that any single parameter given
to papermill overrides its preset; validates every value; refuses a bad combination (the chapter's own
``check``, e.g. a margin narrower than the widest wavelet) before anything runs; and prints the table of
settings: the value in this run, where it came from, and the thesis' value.
"""
from __future__ import annotations

import ast
import difflib
import math
import os
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ParameterError", "Int", "Float", "Bool", "Str", "Choice", "ListOf", "Device", "check", "headless",
           "SCALES", "Setting", "Presets", "GPU_SPEEDUP", "MEMORY_OVERRIDE", "machine_memory_gb"]

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


SCALES = ("quick", "medium", "thesis")
"""The scale presets of every chapter, smallest first (``"smoke"`` is CI's, chosen by the ``smoke`` parameter)."""

STANDARD_SPECS: dict[str, Spec] = {
    "scale": Choice(*SCALES),
    "device": Device(),
    "interactive": Bool(),
    "smoke": Bool(),
    "seed": Int(0, 2**32 - 1),
}


_SAME = object()

GPU_SPEEDUP = 30.0
"""The speed-up of a data-centre GPU over this book's reference machine (2 CPU cores) assumed by the cost lines of
:meth:`Presets.cost` for dense tensor work: a stated assumption for planning a run, not a measurement."""

MEMORY_OVERRIDE = "LOCALBOOK_ALLOW_MEMORY"
"""Set this environment variable to 1 to run a preset whose memory estimate exceeds this machine's memory."""


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 \
        else f"{seconds / 3600:.1f} h"


def machine_memory_gb() -> float | None:
    """This machine's physical memory (GB), or None when the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class Setting:
    """One setting of a chapter: its specification (a shorthand of :func:`as_spec` or a :class:`Spec`), its value
    at each scale, what the thesis used, and what it means.

    ``medium`` defaults to ``quick``, ``thesis`` to ``medium``, ``smoke`` to ``quick``. ``thesis_value`` is the
    thesis' value as text, when it says more than the ``thesis`` preset (``"not stated"``, ``"130,831 (all)"``);
    it defaults to the ``thesis`` preset's value.
    """

    spec: Any
    quick: Any
    medium: Any = _SAME
    thesis: Any = _SAME
    smoke: Any = _SAME
    thesis_value: str | None = None
    help: str = ""

    def value(self, scale: str) -> Any:
        """The preset value at ``scale`` (``"quick"``, ``"medium"``, ``"thesis"`` or ``"smoke"``)."""
        chain = {"quick": ("quick",), "smoke": ("smoke", "quick"), "medium": ("medium", "quick"),
                 "thesis": ("thesis", "medium", "quick")}
        if scale not in chain:
            raise ValueError(f"unknown scale {scale!r}: use one of {', '.join(map(repr, (*SCALES, 'smoke')))}")
        for name in chain[scale]:
            v = getattr(self, name)
            if v is not _SAME:
                return v
        raise AssertionError("unreachable: quick is always set")

    def thesis_text(self) -> str:
        return self.thesis_value if self.thesis_value is not None else _show(self.value("thesis"))


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class Presets:
    """The settings of one chapter at each scale (see the module docstring).

    ``settings``: name -> :class:`Setting`, in the order the table prints them; ``check``: an optional function
    of the resolved values (a dict) returning a list of problems (strings; empty when the combination is valid),
    each naming the parameters involved and what to change.
    """

    def __init__(self, chapter: str, settings: Mapping[str, Setting],
                 check: Callable[[dict[str, Any]], list[str]] | None = None,
                 work: Callable[[dict[str, Any]], float] | None = None,
                 memory_gb: Callable[[dict[str, Any]], float] | None = None,
                 reference_seconds: Callable[[], float | None] | None = None):
        self.chapter = chapter
        self.settings = dict(settings)
        self.combination_check = check
        self.work = work
        self.memory_gb = memory_gb
        self.reference_seconds = reference_seconds
        for name, setting in self.settings.items():
            if not isinstance(setting, Setting):
                raise TypeError(f"{chapter}: setting {name!r} must be a localbook.params.Setting")
            spec = as_spec(setting.spec)
            for scale in (*SCALES, "smoke"):  # every preset must itself be valid
                spec.validate(f"{name} (preset {scale!r} of {chapter})", setting.value(scale))

    def values(self, scale: str) -> dict[str, Any]:
        """Every setting's preset value at ``scale``."""
        return {name: s.value(scale) for name, s in self.settings.items()}

    def cost(self, values: Mapping[str, Any]) -> str:
        """One line: the run's work relative to the quick preset, its estimated wall time on this machine (from
        the measured quick run, ``reference_seconds``), and its memory estimate; empty when the chapter declares
        no cost model (``work``)."""
        if self.work is None:
            return ""
        ratio = self.work(dict(values)) / self.work(self.values("quick"))
        text = f"cost: {ratio:.3g} x the quick run"
        seconds = self.reference_seconds() if self.reference_seconds else None
        if seconds:
            text += (f", about {_duration(ratio * seconds)} on this machine (its quick run took {_duration(seconds)});"
                     f" on a GPU about {_duration(ratio * seconds / GPU_SPEEDUP)} if its {GPU_SPEEDUP:g}x speed-up "
                     "on dense tensor work holds (an assumption, not a measurement)")
        if self.memory_gb is not None:
            text += f"; peak memory about {self.memory_gb(dict(values)):.2g} GB"
        return text

    def problems(self, values: Mapping[str, Any]) -> list[str]:
        """The chapter's combination check on ``values`` (empty when none is defined)."""
        return list(self.combination_check(dict(values))) if self.combination_check else []

    def table(self, values: Mapping[str, Any], origin: Mapping[str, str] | None = None):
        """A :class:`~localbook.tables.Table` of the settings: this run's value, where it came from, the thesis'
        value, the meaning."""
        from localbook.tables import text_table

        origin = origin or {}
        rows = [(name, _show(values[name]), origin.get(name, ""), s.thesis_text(), s.help)
                for name, s in self.settings.items()]
        return text_table(rows, header=("setting", "this run", "from", "thesis", "meaning"))

    def __repr__(self) -> str:
        return f"Presets({self.chapter!r}, {list(self.settings)})"


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


def _show_table(table) -> None:
    """Display a table as HTML in a notebook (IPython running), print it as text otherwise."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(table)
    else:
        print(table)


def check(namespace: dict[str, Any], presets: Presets | None = None, *, show: bool = True,
          **specs: Any) -> dict[str, Any]:
    """Validate the parameters in ``namespace`` (a notebook's ``globals()``) in place.

    Every parameter-like name (a plain value: number, string, bool, list, tuple, dict, None; not starting
    with ``_``) must be specified, by ``presets`` (a chapter's :class:`Presets`), by a keyword of ``specs``, or
    as one of the standard parameters (``scale``, ``device``, ``interactive``, ``smoke``, ``seed``). With
    ``presets``, a setting left ``None`` takes its value at ``scale`` (the smoke column when ``smoke`` is
    True), the chapter's combination check runs, and (``show``) the table of settings is printed. Returns the
    validated parameters as a dict, and writes them back into ``namespace``.
    """
    full = {name: spec for name, spec in STANDARD_SPECS.items() if name in namespace}
    if presets is None and "scale" in namespace:
        raise ParameterError("parameter 'scale' is given, but this chapter has no scale presets yet: set its "
                             "parameters one by one (they are listed in its parameters cell)")
    origin: dict[str, str] = {}
    if presets is not None:
        if "scale" not in namespace:
            raise ParameterError(f"{presets.chapter}: the parameters cell must define scale = \"quick\" "
                                 f"(one of {', '.join(map(repr, SCALES))}) to use its presets")
        scale = STANDARD_SPECS["scale"].validate("scale", namespace["scale"])
        column = "smoke" if namespace.get("smoke") is True else scale
        clash = sorted(set(presets.settings) & set(specs))
        if clash:
            raise TypeError(f"{', '.join(clash)} specified both by the presets of {presets.chapter} and by keyword")
        for name, setting in presets.settings.items():
            full[name] = as_spec(setting.spec)
            if name in namespace and namespace[name] is None:
                namespace[name] = setting.value(column)
                origin[name] = f"{column} preset"
            elif name in namespace:
                origin[name] = "given"
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

    from localbook.checks import InjectedParameterError, check_injected_names

    try:  # papermill's -p name value, silently lost when the notebook rebinds the name (-p plt 3)
        check_injected_names(namespace, parameters=full)
    except InjectedParameterError as err:
        raise ParameterError(str(err)) from None
    values = {name: spec.validate(name, namespace[name]) for name, spec in full.items()}
    if "interactive" in values and headless():
        values["interactive"] = False
    if presets is not None:
        problems = presets.problems(values)
        memory, available = (presets.memory_gb(values) if presets.memory_gb else None), machine_memory_gb()
        if memory and available and memory > 0.9 * available and os.environ.get(MEMORY_OVERRIDE) != "1":
            problems.append(f"this run needs about {memory:.3g} GB of memory and this machine has {available:.3g} GB:"
                            " lower the sizes above, or run it on a larger machine (set "
                            f"{MEMORY_OVERRIDE}=1 to try anyway)")
        if problems:
            raise ParameterError(f"{presets.chapter}: these settings do not fit together:\n- " + "\n- ".join(problems))
    namespace.update(values)
    if presets is not None and show:
        print(f"{presets.chapter}, scale {values['scale']!r}" + (" (smoke run)" if column == "smoke" else "") + ":")
        _show_table(presets.table(values, origin))
        cost = presets.cost(values)
        if cost:
            print(cost)
    return values
