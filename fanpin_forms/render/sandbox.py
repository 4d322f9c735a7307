"""The Jinja sandbox with limits: a county's template cannot hang or exhaust memory.

Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` stops a template from reaching
program internals, but not from asking for ``'A' * 1500000000``, ``range(10**9)``,
``10**10**10`` or two nested loops of 100,000 steps. :class:`LimitedSandbox` adds:

* **sizes checked before the work is done**: every operation that can make a big
  value (``*``, ``+``, ``**``, ``%``, ``~``, string methods, filters, ``list.append``)
  first estimates the size of its result, refuses it above :data:`MAX_VALUE_CHARS`, and
  charges it to the budget of the form being filled. Python cannot interrupt one
  C-level operation, so the check has to come before it;
* ``range()`` of at most :data:`MAX_RANGE` numbers, lists of at most :data:`MAX_ITEMS`;
* **a budget per form** (:func:`budget`): a deadline and a number of bytes. The
  deadline is checked at every step of every ``{% for %}`` loop (each loop's iterable is
  wrapped when the template is compiled), at every call (macros, methods) and between
  output chunks; the bytes count both what the expressions make and what is written.

Exceeding a limit raises :class:`LimitExceeded` with a Chinese reason.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

from ..util import limits

#: the caps, from :mod:`fanpin_forms.util.limits` (the one home of every cap)
MAX_VALUE_CHARS = limits.TEMPLATE_MAX_VALUE_CHARS
MAX_RANGE = limits.TEMPLATE_MAX_RANGE
MAX_ITEMS = limits.TEMPLATE_MAX_ITEMS
MAX_INT_BITS = limits.TEMPLATE_MAX_INT_BITS
#: loop steps between two looks at the clock
_CLOCK_EVERY = 64
_GUARD_ATTR = "fanpin_guard_loop"
_FORMAT_NUMBER = re.compile(r"\d+")
_SEQUENCES = (str, bytes, list, tuple)


class LimitExceeded(Exception):
    """A template went over a limit; ``reason`` says which, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """What one form may still spend: the clock, what expressions make, what is written.

    ``made`` (characters) and ``written`` (UTF-8 bytes) are counted apart and each
    capped at ``max_bytes``: a printed value is made once and written once."""

    deadline: float
    seconds: float
    max_bytes: int
    made: int = 0
    written: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"填写一份表超过了 {self.seconds:g} 秒")

    def charge(self, size: int) -> None:
        self.made += size
        if self.made > self.max_bytes:
            raise LimitExceeded(f"填写一份表时各项运算产生的内容超过了 {self._mb} MB")

    def write(self, size: int) -> None:
        self.written += size
        if self.written > self.max_bytes:
            raise LimitExceeded(f"填写出的一份表超过了 {self._mb} MB")

    @property
    def _mb(self) -> str:
        return f"{self.max_bytes / 1_000_000:g}"


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("fanpin_render_budget", default=None)


@contextlib.contextmanager
def budget(seconds: float, max_bytes: int) -> Iterator[Budget]:
    """Limit everything the sandbox does inside the block to ``seconds`` and ``max_bytes``."""
    b = Budget(time.monotonic() + seconds, seconds, max_bytes)
    token = _BUDGET.set(b)
    try:
        yield b
    finally:
        _BUDGET.reset(token)


def _size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """An upper estimate of how many characters ``value`` prints as; stops counting past ``limit``."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        total = 2
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            total += _size(item, limit - total) + 2
            if total > limit:
                break
        return total
    return 32


def _amount(value: Any) -> int:
    """How much an argument can multiply a result by: an int's value, else its size."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value)
    return _size(value)


def _check_size(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise LimitExceeded(f"{what}的结果太大（约 {size:,} 个字符，最多 {MAX_VALUE_CHARS:,}）")


def _refuse_big(size: int, what: str) -> None:
    """Refuse a result of ``size`` characters that is too big; else charge it to the form's budget."""
    _check_size(size, what)
    b = _BUDGET.get()
    if b is not None:
        b.charge(size)


def _check_format(fmt: Any, what: str) -> None:
    """A format string's widths and precisions make the result as long as they say."""
    if isinstance(fmt, str):
        for number in _FORMAT_NUMBER.findall(fmt):
            if len(number) > 7 or int(number) > MAX_VALUE_CHARS:
                raise LimitExceeded(f"{what}中的宽度 {number[:12]} 太大")


def _estimate(base: Any, args: Iterable[Any]) -> int:
    """Result size of a method or filter on ``base``: grows at most with the product of its inputs."""
    amounts = [_amount(a) for a in args]
    return _size(base) * (1 + sum(amounts)) + sum(amounts)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_bits(op: str, left: int, right: int) -> int:
    """Bits of ``left * right`` or ``left ** right`` (an upper estimate, computed without doing it)."""
    if op == "*":
        return left.bit_length() + right.bit_length()
    return max(left.bit_length(), 1) * max(right, 0) if abs(left) > 1 else 1


def _binop_size(op: str, left: Any, right: Any) -> int:
    """Characters the result of ``left op right`` will have (estimated before it is made)."""
    if op in ("*", "**") and _is_int(left) and _is_int(right):
        return _int_bits(op, left, right) // 3 + 2
    if op == "*":
        if _is_int(right) and isinstance(left, _SEQUENCES):
            return _size(left) * max(right, 0)
        if _is_int(left) and isinstance(right, _SEQUENCES):
            return _size(right) * max(left, 0)
        return 32
    if op == "%":
        if not isinstance(left, str):
            return 32
        _check_format(left, "格式化「%」")
        return _estimate(left, right if isinstance(right, tuple) else (right,))
    if op == "**":
        return 32
    return _size(left) + _size(right)  # "+"


def guarded(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable`` with a look at the clock every few steps (wraps every ``{% for %}``)."""
    b = _BUDGET.get()
    if b is None:
        yield from iterable
        return
    b.tick()
    for n, item in enumerate(iterable, 1):
        if n % _CLOCK_EVERY == 0:
            b.tick()
        yield item


def _made(iterable: Iterable[Any], what: str) -> Iterator[Any]:
    """A lazy filter result (``map``, ``select``…): its items are counted and charged as they come."""
    total = 0
    for item in guarded(iterable):
        size = _size(item) + 2
        total += size
        _check_size(total, what)
        _refuse_big(size, what)
        yield item


def _limited_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its result size estimated (and refused if too big) before it runs."""
    pass_arg = _PassArg.from_obj(func)
    skip = 1 if pass_arg is not None else 0
    what = f"过滤器「{name}」"

    @functools.wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        value, rest = (args[skip], args[skip + 1:]) if len(args) > skip else (None, ())
        if name == "format":
            _check_format(value, what)
        _refuse_big(_estimate(value, [*rest, *kwargs.values()]), what)
        result = func(*args, **kwargs)
        if isinstance(result, Iterator):
            return _made(result, what)
        return result

    return limited


def _limited_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise LimitExceeded(f"range() 最多 {MAX_RANGE:,} 个数，这里要 {len(rng):,} 个")
    return rng


_GROWING = frozenset({"append", "insert", "extend"})


class _CheckedConcat(CodeGenerator):
    """Compiles ``~`` through :meth:`LimitedSandbox.fanpin_concat` so its size is checked first."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.fanpin_concat(context.eval_ctx, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class LimitedSandbox(SandboxedEnvironment):
    """A sandbox whose templates stay within :data:`MAX_VALUE_CHARS`, :data:`MAX_RANGE` and a :func:`budget`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CheckedConcat

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.globals["range"] = _limited_range
        self.filters = {name: _limited_filter(name, f) for name, f in self.filters.items()}
        self.finalize = self._finalize_value
        setattr(self, _GUARD_ATTR, guarded)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``{% for %}`` iterates through :func:`guarded`, which watches the clock."""
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute(_GUARD_ATTR), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        return tree

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ in ("*", "**") and _is_int(left) and _is_int(right) \
                and _int_bits(operator_, left, right) > MAX_INT_BITS:
            raise LimitExceeded(f"运算「{operator_}」的结果是超过 {MAX_INT_BITS} 位的整数")
        _refuse_big(_binop_size(operator_, left, right), f"运算「{operator_}」")
        return self.binop_table[operator_](left, right)

    @staticmethod
    def fanpin_concat(eval_ctx: nodes.EvalContext, parts: tuple[Any, ...]) -> str:
        _refuse_big(sum(_size(p) for p in parts), "连接「~」")
        return markup_join(parts) if eval_ctx.autoescape else str_join(parts)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        b = _BUDGET.get()
        if b is not None:
            b.tick()
        method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the base sandbox
        owner = getattr(method, "__self__", None)
        name = getattr(method, "__name__", "")
        if isinstance(owner, str):
            if name in ("format", "format_map"):
                _check_format(owner, f"「{name}()」")
            _refuse_big(_estimate(owner, [*args, *kwargs.values()]), f"「{name}()」")
        elif isinstance(owner, list) and name in _GROWING:
            grow = len(args[0]) if name == "extend" and args and isinstance(args[0], Sized) else 1
            if len(owner) + grow > MAX_ITEMS:
                raise LimitExceeded(f"列表最多 {MAX_ITEMS:,} 项")
        return super().call(__context, __obj, *args, **kwargs)

    @staticmethod
    def _finalize_value(value: Any) -> Any:
        """Every ``{{ … }}`` value: its printed size is checked (and charged) before ``str()`` makes it;
        a macro's output is buffered, so counting the written bytes alone would come too late."""
        _refuse_big(_size(value), "要输出的值")
        return value


__all__ = ["Budget", "LimitExceeded", "LimitedSandbox", "MAX_RANGE", "MAX_VALUE_CHARS", "budget", "guarded"]
