"""Reading numbers a user types: arithmetic over numbers, and list literals for small tensors.

Whatever is typed is parsed with ``ast`` and walked by hand; nothing typed is ever executed. An
arithmetic expression may use numbers (``0.5``, ``1e-3``), ``+ - * / **``, unary minus and
parentheses, and nothing else: no names, no calls, no attributes. ``**`` is refused when its
result would be huge (``9**9**9`` must not hang the app).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import numpy as np

MAX_LENGTH = 200
"""Longest expression accepted: quiz answers and edited numbers are short."""
MAX_EXPONENT = 1000.0
"""``a ** b`` is refused when |b| is larger than this (it is never what a student meant)."""


class NotANumberError(ValueError):
    """What was typed is not a number or an arithmetic expression over numbers (the message says why)."""


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def evaluate(text: str) -> float:
    """The value of a typed number or arithmetic expression, e.g. ``0.105 * 3`` or ``-(1/4)**2``.

    Raises ``NotANumberError`` for anything else (names, calls, strings, division by zero, overflow).
    """
    source = text.strip()
    if not source:
        raise NotANumberError("type a number or an arithmetic expression, e.g. 0.105 * 3")
    if len(source) > MAX_LENGTH:
        raise NotANumberError(f"too long: at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise NotANumberError(f"not a number or an arithmetic expression: {source!r}") from None
    try:
        value = _eval(tree.body)
    except ZeroDivisionError:
        raise NotANumberError("division by zero") from None
    except OverflowError:
        raise NotANumberError("the result is too large") from None
    if isinstance(value, complex) or not math.isfinite(value):
        raise NotANumberError("the result is not a finite real number")
    return float(value)


def _eval(root: ast.AST) -> float:
    """The value of an arithmetic tree, walked with a stack of our own rather than by recursion: a
    990-term sum or a thousand unary minuses is as deep as it is long, and must not exhaust
    Python's stack (README "Explore it live": what is typed gets a message, never a crash)."""
    values: list[float] = []
    pending: list[tuple[ast.AST, bool]] = [(root, False)]  # (node, its operands already evaluated)
    while pending:
        node, ready = pending.pop()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise NotANumberError(f"only numbers are allowed, not {node.value!r}")
            values.append(float(node.value))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            if not ready:
                pending += [(node, True), (node.operand, False)]
            elif isinstance(node.op, ast.USub):
                values.append(-values.pop())
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            if not ready:  # left is evaluated first, as Python would
                pending += [(node, True), (node.right, False), (node.left, False)]
                continue
            right, left = values.pop(), values.pop()
            if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
                raise NotANumberError(f"the exponent {right:g} is too large")
            result = _BINARY[type(node.op)](left, right)
            if isinstance(result, complex):
                raise NotANumberError("the result is not a real number")
            values.append(result)
        else:
            raise NotANumberError(
                f"only numbers, + - * / ** and parentheses are allowed, not {_describe(node)}"
            )
    return values.pop()


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Attribute):
        return "an attribute"
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    return f"a {type(node).__name__}"


def parse_value(text: str, shape: Sequence[int]) -> np.ndarray:
    """A typed value for a leaf of ``shape``: an arithmetic expression for a scalar, or a (nested)
    list of numbers or expressions for a tensor, e.g. ``[[1, 2], [3, -0.5]]``.

    Raises ``NotANumberError`` when it is not numbers, not the leaf's shape, or not finite.
    """
    source = text.strip()
    shape = tuple(shape)
    if not source.startswith("["):
        if shape:
            raise NotANumberError(f"this value has shape {list(shape)}: type a list like {_example(shape)}")
        return np.asarray(evaluate(source), dtype=np.float64)
    if len(source) > MAX_LENGTH * 50:
        raise NotANumberError("too long")
    try:
        tree = ast.parse(source, mode="eval")
    except (RecursionError, MemoryError):  # Python's own parser gives up on very deep nesting
        raise NotANumberError("too deeply nested: write it with fewer brackets or terms") from None
    except (SyntaxError, ValueError):
        raise NotANumberError(f"not a list of numbers: {source[:40]!r}") from None
    nested = _list(tree.body, shape)
    try:
        array = np.array(nested, dtype=np.float64)
    except ValueError:
        raise NotANumberError("the rows have different lengths") from None
    if array.shape != shape:
        raise NotANumberError(f"shape {list(array.shape)} does not match the value's shape {list(shape)}")
    return array


def _list(node: ast.AST, shape: tuple[int, ...], depth: int = 0) -> object:
    """Numbers in nested lists; lists nested deeper than ``shape`` has dimensions are refused at
    once (so the nesting, however deep, never reaches numpy or exhausts the stack)."""
    if isinstance(node, ast.List | ast.Tuple):
        if depth == len(shape):
            raise NotANumberError(f"the lists are nested deeper than the value's shape {list(shape)}")
        return [_list(item, shape, depth + 1) for item in node.elts]
    try:
        value = _eval(node)
    except ZeroDivisionError:
        raise NotANumberError("division by zero") from None
    except OverflowError:
        raise NotANumberError("a number is too large") from None
    if not math.isfinite(value):
        raise NotANumberError("every number must be finite")
    return value


def _example(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return "[" + ", ".join(["0"] * min(shape[0], 3)) + (", …]" if shape[0] > 3 else "]")
    return "[[…], …]"
