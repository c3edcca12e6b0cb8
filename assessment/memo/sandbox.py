"""Memo templates render here: in Jinja's immutable sandbox with every size bounded, inside a
separate process with CPU-time and memory limits.

A memo template is written by firm staff and renders client data, so it is treated as hostile:

- The sandbox (`sandbox()`) has no `safe`, `urlize` or `xmlattr` filter (each writes raw markup
  into the document's XML: a `|safe` string could add an INCLUDEPICTURE field carrying the
  client's name) and no `lipsum`, `cycler` or `joiner` global. Every operation that builds a
  value (`+`, `%`, `*`, `**`, `~`, the string filters and the string methods) checks the size of
  what it would build BEFORE building it: no value past `MAX_BUILT` characters or items, unless
  it is no longer than what it was made from; no number past `MAX_INT_BITS` bits; no part of the
  document past `MAX_OUTPUT` characters. A refused operation raises jinja2's SecurityError.
- This file is also the worker process: `runner.run()` (the parent's side, called by memo.render)
  starts it by path as `python -I sandbox.py --cpu S --memory MB`, so it imports nothing of the
  package. The worker sets its limits after its imports and before it reads anything:
  RLIMIT_CPU, RLIMIT_AS (the address space it has after its imports, about 36 MB, plus the
  memory limit), RLIMIT_FSIZE 0 (it writes no file) and RLIMIT_CORE 0 (no core dump of client
  data), renders the template from stdin and writes the .docx, or a located failure, to stdout.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import json
import math
import re
import signal
import string
import sys
import traceback
import types
from collections.abc import Callable, ItemsView, Iterable, KeysView, ValuesView
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, _PassArg
from markupsafe import soft_str

MAX_BUILT = 1_000_000       # characters (or items) in one value a template builds
MAX_PRODUCT = MAX_BUILT     # the same bound for `*`
MAX_POWER = 64              # the largest exponent of `**`
MAX_INT_BITS = 4096         # the largest number `*` and `**` may make (about 1,200 digits)
MAX_OUTPUT = 50_000_000     # characters one part of the document (the body, a header) may reach


# ---- sizes ---------------------------------------------------------------------------------------
def _size(value: Any, limit: int = MAX_BUILT, indent: int = 0) -> int:
    """How many characters printing `value` would write, roughly: a string's length; for a list,
    tuple, set, dict (or dict view) or namespace, four per item (quotes and commas) plus its
    items' sizes, and with `indent` (tojson) a new line indented by depth per item. Counting stops
    just past `limit`, so a list holding 100,000 references to one long string costs no more to
    measure than `limit`."""
    total, stack = 0, [(value, 0)]
    while stack and total <= limit:
        v, depth = stack.pop()
        if isinstance(v, str):
            total += len(v)
            continue
        if isinstance(v, Namespace):
            v = object.__getattribute__(v, "_Namespace__attrs")
        if isinstance(v, (list, tuple, set, frozenset, dict, KeysView, ValuesView, ItemsView)):
            total += len(v) * (4 + (indent * (depth + 1) + 1 if indent else 0))
            if total <= limit:
                stack.extend((item, depth + 1) for item in (v.items() if isinstance(v, dict) else v))
        else:
            total += 1
    return total


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _check(size: int, what: str, *inputs: Any) -> None:
    """Refuse to build a value of `size` characters or items past MAX_BUILT, unless it is no longer
    than one of the values it is made from (so a long narrative can still be printed in capitals)."""
    if size > MAX_BUILT and size > max(map(_length, inputs), default=0):
        raise SecurityError(f"{what} would build a value of {size:,} characters or items; a template may build "
                            f"at most {MAX_BUILT:,}")


def _printable(value: Any, what: str) -> None:
    """Refuse to turn a list or dict into text when the text would pass MAX_BUILT."""
    if not isinstance(value, str) and (size := _size(value)) > MAX_BUILT:
        raise SecurityError(f"{what} would write out a value of more than {min(size, MAX_BUILT):,} characters; "
                            f"a template may build at most {MAX_BUILT:,}")


def _int(value: Any) -> int:
    """A width or count argument as a number for the checks (the call itself rejects a wrong type)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def _spec_numbers(spec: str) -> int:
    """The sum of the numbers in a format specification (widths and precisions), an upper bound
    of the padding it asks for."""
    numbers = re.findall(r"\d+", spec)
    if any(len(n.lstrip("0")) > 9 for n in numbers):
        raise SecurityError(f"the format {spec[:40]!r} asks for a width or precision that is too large")
    return sum(map(int, numbers))


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z%]")


def _percent_size(fmt: str, args: Any) -> int:
    """An upper bound of the length of `fmt % args`."""
    values = list(args.values()) if isinstance(args, dict) else list(args) if isinstance(args, tuple) else [args]
    biggest = max((_size(v) for v in values), default=0)
    total = len(fmt)
    for m in _PERCENT.finditer(fmt):
        if "*" in m.group(0):
            raise SecurityError("a '*' width or precision in a % format is not allowed in a memo template")
        total += _spec_numbers(m.group(0)) + biggest
    return total


def _format_size(fmt: str, args: tuple, kwargs: dict) -> int:
    """An upper bound of the length of `fmt.format(*args, **kwargs)`."""
    biggest = max((_size(v) for v in (*args, *kwargs.values())), default=0)
    total = 0
    for literal, name, spec, _conversion in string.Formatter().parse(fmt):
        total += len(literal)
        if name is not None:
            if spec and "{" in spec:
                raise SecurityError("a nested {} inside a format specification is not allowed in a memo template")
            total += _spec_numbers(spec or "") + biggest
    return total


# ---- filters ---------------------------------------------------------------------------------------
def _pre_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    _check(max(len(soft_str(value)), _int(width)), "center", value)


def _pre_indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    s = soft_str(s)
    step = len(width) if isinstance(width, str) else _int(width)
    _check(step, "indent", s)
    _check(len(s) + (s.count("\n") + 2) * step, "indent", s)


def _pre_wordwrap(env: Any, s: Any, width: Any = 79, break_long_words: bool = True, wrapstring: Any = None,
                  *_: Any, **__: Any) -> None:
    s = soft_str(s)
    joint = len(soft_str(wrapstring)) if wrapstring is not None else len(env.newline_sequence)
    lines = 2 * len(s) // max(_int(width), 1) + 2 * (s.count("\n") + 1)   # a short line is followed by a long one
    _check(len(s) + lines * joint, "wordwrap", s)


def _pre_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> None:
    s, old, new = soft_str(s), soft_str(old), soft_str(new)
    n = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        n = min(n, count)
    _check(len(s) + n * (len(new) - len(old)), "replace", s)


def _pre_format(value: Any, *args: Any, **kwargs: Any) -> None:
    fmt = soft_str(value)
    _check(_percent_size(fmt, kwargs or args), "format", fmt)


def _pre_batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    if fill_with is not None:
        _check(_int(linecount), "batch", value)


def _pre_slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    _check(_int(slices), "slice", value)


def _pre_tojson(value: Any, indent: Any = None) -> None:
    if indent is not None:
        _check(_size(value, indent=max(_int(indent), 1)), "tojson", value)


PRECHECKS: dict[str, Callable[..., None]] = {
    "center": _pre_center, "indent": _pre_indent, "wordwrap": _pre_wordwrap, "replace": _pre_replace,
    "format": _pre_format, "batch": _pre_batch, "slice": _pre_slice, "tojson": _pre_tojson,
}
# filters that turn their value into text: a list or dict must be small enough to write out
PRINTING = {"capitalize", "center", "e", "escape", "filesizeformat", "forceescape", "format", "indent", "lower",
            "pprint", "replace", "string", "striptags", "title", "tojson", "trim", "truncate", "upper", "urlencode",
            "wordcount", "wordwrap"}
REMOVED_FILTERS = {"safe", "urlize", "xmlattr"}      # each writes raw markup into the document
REMOVED_GLOBALS = {"lipsum", "cycler", "joiner"}


def _guard(name: str, fn: Callable) -> Callable:
    """A builtin filter with its size checks: before the call where the size is known from the
    arguments, after it (against the value it was given) otherwise."""
    skip = 1 if _PassArg.from_obj(fn) is not None else 0
    pre = PRECHECKS.get(name)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if name in PRINTING:
            _printable(value, name)
        if pre is not None:
            pre(*(args if name in ("wordwrap", "replace") else args[skip:]), **kwargs)
        result = fn(*args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check(len(result), name, value)
        return result
    return guarded


def _join(eval_ctx: Any, value: Iterable, d: Any = "", attribute: Any = None) -> str:
    """`join`, measured before joining: the items and the separators."""
    items = list(map(make_attrgetter(eval_ctx.environment, attribute), value) if attribute is not None else value)
    size = len(soft_str(d)) * max(len(items) - 1, 0)
    for item in items:
        _printable(item, "join")
        size += len(soft_str(item)) if isinstance(item, str) else _size(item)
        _check(size, "join")
    return FILTERS["join"](eval_ctx, items, d)


def _sum(env: Any, iterable: Iterable, attribute: Any = None, start: Any = 0) -> Any:
    """`sum`, measured before adding when it adds lists, and adding lists in linear time (Python's
    sum copies the growing list once per item)."""
    items = list(map(make_attrgetter(env, attribute), iterable) if attribute is not None else iterable)
    if isinstance(start, (list, tuple)) or any(isinstance(i, (list, tuple, str)) for i in items):
        _check(_length(start) + sum(map(_length, items)), "sum")
        if isinstance(start, list) and all(isinstance(i, list) for i in items):
            out = list(start)
            for item in items:
                out.extend(item)
            return out
    return FILTERS["sum"](env, items, start=start)


_join.jinja_pass_arg = _PassArg.eval_context          # type: ignore[attr-defined]
_sum.jinja_pass_arg = _PassArg.environment            # type: ignore[attr-defined]


def bounded_filters() -> dict[str, Callable]:
    filters = {name: _guard(name, fn) for name, fn in FILTERS.items() if name not in REMOVED_FILTERS}
    filters["join"], filters["sum"] = _join, _sum
    return filters


# ---- string methods ------------------------------------------------------------------------------
# what a template may call on a string; anything else (encode, translate, ...) is refused
STR_METHODS = {"capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
               "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
               "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex",
               "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
               "upper"}
NUMBER_ATTRIBUTES = {"real", "imag", "numerator", "denominator", "is_integer", "bit_length"}


def _str_method_size(s: str, name: str, args: tuple, kwargs: dict) -> int:
    """The length the string method `name` would give, known before calling it."""
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(s), _int(args[0] if args else kwargs.get("width", 0)))
    if name == "expandtabs":
        return len(s) + s.count("\t") * _int(args[0] if args else kwargs.get("tabsize", 8))
    if name == "replace":
        old, new = (soft_str(a) for a in (list(args) + ["", ""])[:2])
        n = s.count(old) if old else len(s) + 1
        limit = args[2] if len(args) > 2 else kwargs.get("count", -1)
        return len(s) + (min(n, limit) if isinstance(limit, int) and limit >= 0 else n) * (len(new) - len(old))
    if name == "join":
        return 0        # measured in _sized_method, which lists the items first
    raise KeyError(name)


SIZED_STR_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"}


def _sized_method(method: Any) -> Callable:
    s, name = method.__self__, method.__name__

    def call(*args: Any, **kwargs: Any) -> Any:
        if name == "join":
            items = list(args[0]) if args else []
            for item in items:
                _printable(item, "join")
            _check(sum(map(_length, items)) + len(s) * max(len(items) - 1, 0), "join")
            return method(items)
        _check(_str_method_size(s, name, args, kwargs), name, s)
        return method(*args, **kwargs)
    return call


# ---- the environment -------------------------------------------------------------------------------
class _CodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a call of the environment's `bounded_concat`, which measures first
    (Jinja's own code calls markup_join or str_join directly, out of the sandbox's reach)."""

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.autoescape"
        else:
            markup = "True" if frame.eval_ctx.autoescape else "False"
        self.write(f"environment.bounded_concat({markup}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with every size bounded (see the module's docstring): `{{ 'a' *
    10**9 }}` or a string doubled in a loop would otherwise take gigabytes of memory."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])
    code_generator_class = _CodeGenerator

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.filters = bounded_filters()
        self.finalize = self._finalize

    @staticmethod
    def _finalize(value: Any) -> Any:
        """Each `{{ value }}`: a list or dict must be small enough to write out."""
        _printable(value, "printing a value")
        return value

    def bounded_concat(self, markup: bool, values: tuple) -> str:
        size = 0
        for v in values:
            _printable(v, "~")
            size += _size(v)
        _check(size, "~", *values)
        return markup_join(values) if markup else str_join(values)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER:
                raise SecurityError(f"the power {right} is too large for a template (at most {MAX_POWER})")
            if isinstance(left, int) and isinstance(right, int) and right > 0 \
                    and abs(left).bit_length() * right > MAX_INT_BITS:
                raise SecurityError(f"the template would compute a number of about {abs(left).bit_length() * right:,} "
                                    f"bits (at most {MAX_INT_BITS:,})")
        elif operator == "*":
            if isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple)):
                seq, times = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
                if isinstance(times, int) and len(seq) * times > MAX_PRODUCT:
                    raise SecurityError(f"the template would build a value of {len(seq) * times:,} items "
                                        f"(at most {MAX_PRODUCT:,})")
            elif isinstance(left, int) and isinstance(right, int) \
                    and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
                raise SecurityError(f"the template would compute a number of more than {MAX_INT_BITS:,} bits")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check(len(left) + len(right), "+", left, right)
        elif operator == "%" and isinstance(left, str):
            _check(_percent_size(left, right), "%", left)
        return self.binop_table[operator](left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in STR_METHODS:
            return False
        if isinstance(obj, (int, float, complex)) and attr not in NUMBER_ATTRIBUTES:
            return False       # (1).to_bytes(10**9) would take a gigabyte
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's hook for a string method fetched by a template: `format` and `format_map`
        (sandboxed by Jinja) are measured first, and so are the methods that pad, replace or join."""
        fmt = getattr(value, "__self__", None)
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or not isinstance(fmt, str):
            return None
        name = value.__name__
        if name in ("format", "format_map"):
            sandboxed = super().wrap_str_format(value)
            if sandboxed is None:       # Jinja wraps every str.format: refuse rather than run one unsandboxed
                raise SecurityError(f"the template's str.{name} could not be sandboxed")

            def measured(*args: Any, **kwargs: Any) -> str:
                a, kw = ((), args[0]) if name == "format_map" and len(args) == 1 and isinstance(args[0], dict) \
                    else (args, kwargs)
                _check(_format_size(fmt, a, kw), name, fmt)
                return sandboxed(*args, **kwargs)
            return measured
        if name in SIZED_STR_METHODS:
            return _sized_method(value)
        return None

    def concat(self, parts: Iterable[str]) -> str:
        """The rendered text of one part, refused past MAX_OUTPUT characters. The error is thrown
        into the template's generator, so its traceback names the tag that was writing."""
        out, total = [], 0
        for piece in parts:
            total += len(piece)
            if total > MAX_OUTPUT:
                exc = SecurityError(f"the template writes more than {MAX_OUTPUT:,} characters into one part "
                                    "of the memo, or into one block")
                if isinstance(parts, types.GeneratorType):
                    parts.throw(exc)
                raise exc
            out.append(piece)
        return "".join(out)

    def from_string(self, source: Any, *args: Any, **kwargs: Any) -> Any:
        """Compiles as Jinja does, keeping the source: an error's line is looked up in it."""
        self.last_source = source if isinstance(source, str) else ""
        return super().from_string(source, *args, **kwargs)


def sandbox() -> ImmutableSandboxedEnvironment:
    """The environment every memo template renders in (autoescape, strict undefined)."""
    return _Sandbox(autoescape=True, undefined=StrictUndefined)


# ---- rendering -------------------------------------------------------------------------------------
CHRONOLOGY_FIGURE = "The case chronology: events and deadlines"   # its own place in the memo (Appendix H)


class Picture:
    """A chart in the memo. The template can print it (`{{ ch.image }}`) and nothing else: the
    InlineImage it wraps would hand out the whole document (`image.tpl`)."""
    __slots__ = ("_image",)

    def __init__(self, image: InlineImage) -> None:
        self._image = image

    def __html__(self) -> str:
        return self._image.__html__()

    __str__ = __html__


def render_docx(template: bytes, context: dict, charts: list[tuple[str, bytes]]) -> bytes:
    """The memo's .docx from a template and a JSON-safe context, in this process."""
    doc = DocxTemplate(io.BytesIO(template))
    pictures = [{"title": title, "image": Picture(InlineImage(doc, io.BytesIO(png), width=Mm(130 if
                                                                               title != CHRONOLOGY_FIGURE else 165)))}
                for title, png in charts]
    context = dict(context, charts=[x for x in pictures if x["title"] != CHRONOLOGY_FIGURE],
                   chronology_chart=[x for x in pictures if x["title"] == CHRONOLOGY_FIGURE])
    env = sandbox()
    try:
        doc.render(context, jinja_env=env, autoescape=True)
    except BaseException as exc:
        exc.template_source = getattr(env, "last_source", "")     # type: ignore[attr-defined]
        raise
    props = doc.docx.core_properties           # who and what, not python-docx's defaults, in File > Properties
    props.author = props.last_modified_by = str(context.get("author") or "")[:200]
    props.title = f"Assessment memo: {(context.get('matter') or {}).get('title', '')}"[:200]
    props.comments = props.keywords = ""
    props.created = props.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def failing_line(exc: BaseException) -> tuple[str, list[str]]:
    """The text of the template line that was running when `exc` was raised (XML tags removed),
    and the Jinja tags on it: from the syntax error's line, else from the innermost template frame
    of the traceback (Jinja rewrites tracebacks to template lines)."""
    line = getattr(exc, "lineno", None) if isinstance(exc, TemplateSyntaxError) else None
    if line is None:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == "<template>":
                line = frame.lineno
    source = getattr(exc, "template_source", "")
    lines = source.split("\n")
    if not line or line > len(lines):
        return "", []
    text = html.unescape(re.sub(r"<[^>]+>", "", lines[line - 1])).strip()
    return text[:400], re.findall(r"\{[{%#].*?[}%#]\}", text)[:5]


# ---- the worker process ------------------------------------------------------------------------------
class CpuLimit(Exception):
    """Raised in the worker by SIGXCPU, in the frame that was running (a template's tag, mostly)."""


_reporting = False


def _on_sigxcpu(signum: int, frame: Any) -> None:
    if not _reporting:
        raise CpuLimit("it used up its processor time")


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return 64 * 2**20


def apply_limits(cpu_seconds: int, memory_mb: int) -> None:
    """In the worker, after its imports: CPU seconds from now (SIGXCPU, then SIGKILL 2 s later),
    the address space it has now plus `memory_mb`, no files written, no core dumps."""
    import resource
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write fails instead of killing the worker
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime) + cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))
    memory = _vm_bytes() + memory_mb * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ValueError, OSError):          # a system without RLIMIT_AS: the data segment instead
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _failure(kind: str, exc: BaseException) -> dict:
    text, tags = failing_line(exc)
    return {"kind": kind, "type": type(exc).__name__, "message": str(exc)[:2000], "text": text, "tags": tags}


def main(argv: list[str] | None = None) -> int:
    global _reporting
    argv = sys.argv[1:] if argv is None else argv
    cpu, memory = int(argv[argv.index("--cpu") + 1]), int(argv[argv.index("--memory") + 1])
    sys.dont_write_bytecode = True
    apply_limits(cpu, memory)
    cushion = bytearray(8 * 2**20)     # given back on MemoryError, so the report can be written
    out: dict
    try:
        payload = json.loads(sys.stdin.buffer.read())
        charts = [(c["title"], base64.b64decode(c["png"])) for c in payload["charts"]]
        data = render_docx(base64.b64decode(payload["template"]), payload["context"], charts)
        out = {"docx": base64.b64encode(data).decode("ascii")}
    except CpuLimit as exc:
        _reporting = True
        out = {"failure": _failure("time", exc)}
    except MemoryError as exc:
        _reporting, cushion = True, bytearray()
        out = {"failure": _failure("memory", exc)}
    except Exception as exc:  # noqa: BLE001 - any error of the template is reported, located
        _reporting = True
        out = {"failure": _failure("template", exc)}
    del cushion
    sys.stdout.buffer.write(json.dumps(out).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
