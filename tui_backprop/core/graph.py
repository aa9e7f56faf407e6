"""The computation graph: named nodes over numpy arrays, in topological order.

A graph is built once by a scenario and never mutated by a run; running it (``trace.run``) and
checking it (``gradcheck``) are separate, pure steps. Nodes remember the line of the scenario that
created them, so every later error can point the author at their own code.
"""

from __future__ import annotations

import numbers
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from tui_backprop.core.ops import Op

NodeKind = Literal["input", "param", "op"]
DTYPES = {"float32": np.float32, "float64": np.float64}

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
_BUILTIN_DIR = _PACKAGE_DIR + "/builtin"
_LIBRARY_DIRS = tuple(
    str(Path(p).resolve()) for p in {sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib")}
)

UNPRINTABLE = (
    "holds a control character (a line break, a tab, an escape): every view shows a name on one line"
)
"""Why a name with a control character is refused: it would break the node list, the circuit, the
check's table and the handout's headings, and an escape sequence would reach the user's terminal."""

MAX_NAME = 80
"""Longest node name: the node list, the circuit and the check's table show a name whole."""


class GraphError(ValueError):
    """A graph that cannot be built as written (duplicate name, foreign node, bad value)."""


@dataclass(frozen=True)
class Origin:
    """Where in the author's code something was written: shown in every error about it."""

    filename: str
    lineno: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}"


def is_scenario_file(filename: str) -> bool:
    """Scenario code: a file outside this package and outside the installed libraries, or one of the
    package's own built-in scenarios (installed inside the package, written as any author's are)."""
    path = str(Path(filename).resolve())
    if path.startswith(_BUILTIN_DIR + "/"):
        return True
    return not path.startswith(_PACKAGE_DIR + "/") and not path.startswith(_LIBRARY_DIRS)


def caller_origin() -> Origin | None:
    """The scenario line being executed: the first frame outside the package's own code, if it is
    the author's. None when the package was called by something else (a thread's ``run`` in
    ``threading.py`` is nobody's scenario line)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        path = str(Path(filename).resolve())
        if not path.startswith(_PACKAGE_DIR + "/") or path.startswith(_BUILTIN_DIR + "/"):
            return Origin(filename, frame.f_lineno) if is_scenario_file(filename) else None
        frame = frame.f_back
    return None


def leaf_array(kind: str, name: Any, value: Any) -> np.ndarray:
    """A leaf's value as a float64 array, refusing what a gradient check cannot judge: complex
    numbers (the imaginary part would be dropped silently), strings, objects, ragged nested lists,
    and arrays with no elements."""
    label = f"{kind} {name!r}"
    if isinstance(value, Node):
        raise GraphError(f"{label}: the value is a graph node; pass the node itself to an op instead")
    if isinstance(value, str | bytes):
        raise GraphError(f"{label}: the value is a string, not numbers")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        first = str(exc).split(". ")[0]
        raise GraphError(f"{label}: the value is not an array of numbers ({first})") from None
    if np.ma.isMaskedArray(value):
        raise GraphError(f"{label}: a masked array (its mask would be dropped); pass plain numbers")
    if raw.dtype.kind == "O" and raw.size and all(_is_real(v) for v in raw.reshape(-1)):
        raw = raw.astype(np.float64)  # Python ints too large for int64, Fractions, Decimals
    if raw.dtype.kind == "c":
        raise GraphError(f"{label}: the value is complex ({raw.dtype}); only real numbers can be checked")
    if raw.dtype.kind not in "biuf":
        raise GraphError(f"{label}: the value has dtype {raw.dtype}, not real numbers")
    if raw.size == 0:
        raise GraphError(
            f"{label}: the value has no elements (shape {list(raw.shape)}); a gradient needs at least one"
        )
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise GraphError(f"{label}: the value is not numeric ({exc})") from None


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


@dataclass(eq=False)
class Node:
    """One named value in the graph: a leaf (input or param) or the result of an op."""

    name: str
    kind: NodeKind
    graph: Graph = field(repr=False)
    index: int
    op: Op | None = None
    inputs: tuple[Node, ...] = ()
    value: np.ndarray | None = field(default=None, repr=False)
    origin: Origin | None = None

    @property
    def is_leaf(self) -> bool:
        return self.kind != "op"

    def formula(self) -> str | None:
        """The op's display formula with this node's names filled in, e.g. ``a = x · w0``."""
        if self.op is None:
            return None
        return self.op.render_formula(self.name, [n.name for n in self.inputs])


class Graph:
    """An append-only list of nodes; appending keeps it topologically ordered by construction."""

    def __init__(self, dtype: str = "float64") -> None:
        if dtype not in DTYPES:
            raise GraphError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
        self.dtype_name = dtype
        self.dtype = np.dtype(DTYPES[dtype])
        self.nodes: list[Node] = []
        self._by_name: dict[str, Node] = {}
        self.warnings: list[str] = []
        """Things the check cannot vouch for, said once per graph (README: ``warnings``)."""

    def __getitem__(self, name: str) -> Node:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def input(self, name: str, value: Any) -> Node:
        """A leaf that holds data (x, y, a label): its gradient is shown but it is not trained."""
        return self._leaf(name, "input", value)

    def param(self, name: str, value: Any) -> Node:
        """A leaf that holds a trainable parameter (a weight, a bias)."""
        return self._leaf(name, "param", value)

    def apply(self, op: Op, inputs: Sequence[Node], name: str | None = None) -> Node:
        """Append the node ``name = op(*inputs)``."""
        for node in inputs:
            if not isinstance(node, Node):
                raise GraphError(
                    f"{op.name}: inputs must be graph nodes, got {type(node).__name__} "
                    f"(wrap constants with g.input(...))"
                )
            if node.graph is not self:
                raise GraphError(f"{op.name}: node {node.name!r} belongs to another graph")
        if not isinstance(op.name, str) or not op.name:
            raise GraphError(f"an op's name must be a non-empty string, not {op.name!r}")
        if not op.name.isprintable():
            raise GraphError(f"the op name {op.name!r} {UNPRINTABLE}")
        if isinstance(op.formula, str) and not op.formula.isprintable():
            raise GraphError(f"the formula {op.formula!r} of op {op.name!r} {UNPRINTABLE}")
        if op.arity is not None and len(inputs) != op.arity:
            raise GraphError(f"{op.name} takes {op.arity} input(s), got {len(inputs)}")
        name = name or self.fresh_name(op.name)
        node = Node(name, "op", self, len(self.nodes), op=op, inputs=tuple(inputs))
        return self._append(node)

    def _leaf(self, name: str, kind: NodeKind, value: Any) -> Node:
        return self._append(Node(name, kind, self, len(self.nodes), value=leaf_array(kind, name, value)))

    def _append(self, node: Node) -> Node:
        if not isinstance(node.name, str) or not node.name:
            raise GraphError(f"node names must be non-empty strings, got {node.name!r}")
        if not node.name.isprintable():
            raise GraphError(f"the node name {node.name!r} {UNPRINTABLE}")
        if len(node.name) > MAX_NAME:
            raise GraphError(
                f"the node name {node.name[:20]!r}… has {len(node.name)} characters: at most {MAX_NAME}, "
                "so that every view shows it whole"
            )
        if node.name in self._by_name:
            raise GraphError(f"a node named {node.name!r} already exists")
        node.origin = caller_origin()
        self.nodes.append(node)
        self._by_name[node.name] = node
        return node

    def fresh_name(self, stem: str) -> str:
        """``stem1``, ``stem2``, ...: the first name not yet taken (an unnamed op's node)."""
        k = 1
        while f"{stem}{k}" in self._by_name:
            k += 1
        return f"{stem}{k}"

    def consumers(self) -> dict[str, list[tuple[Node, int]]]:
        """For each node, the (op node, input position) pairs that read it: its fan-out."""
        out: dict[str, list[tuple[Node, int]]] = {n.name: [] for n in self.nodes}
        for node in self.nodes:
            for position, parent in enumerate(node.inputs):
                out[parent.name].append((node, position))
        return out

    def ancestors(self, output: Node) -> set[str]:
        """Names of the nodes the output depends on, itself included."""
        seen = {output.name}
        for node in reversed(self.nodes[: output.index + 1]):
            if node.name in seen:
                seen.update(parent.name for parent in node.inputs)
        return seen

    def downstream(self, node: Node, output: Node) -> list[Node]:
        """The op nodes that depend on ``node`` and feed ``output``, in topological order."""
        relevant = self.ancestors(output)
        affected = {node.name}
        result = []
        for other in self.nodes[node.index + 1 : output.index + 1]:
            if other.name in relevant and any(p.name in affected for p in other.inputs):
                affected.add(other.name)
                result.append(other)
        return result
