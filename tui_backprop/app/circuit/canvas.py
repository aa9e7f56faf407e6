"""The circuit's static drawing as characters: wires that join, turn and cross, and the gates' boxes.

Each wire belongs to a *net* (the node whose value it carries). Cells of one net join (``├ ┬ ╮``:
a fan-out, a turn); two nets that cross straight through meet in ``┼``; where one turns or ends on
another, the horizontal one is drawn over the other. Boxes and names are text written over the
wires, so a cell under a box is never counted as a wire.
"""

from __future__ import annotations

N, S, E, W = 1, 2, 4, 8
_ROUND = {
    E | W: "─",
    N | S: "│",
    E | S: "╭",
    W | S: "╮",
    N | E: "╰",
    N | W: "╯",
    N | S | E: "├",
    N | S | W: "┤",
    E | W | S: "┬",
    E | W | N: "┴",
    N | S | E | W: "┼",
    E: "─",
    W: "─",
    N: "│",
    S: "│",
}
WIRE_CHARS = frozenset(_ROUND.values())


class Canvas:
    """Wires by net and text, rendered to rows of characters."""

    def __init__(self) -> None:
        self.masks: dict[tuple[int, int], dict[str, int]] = {}
        self.text: dict[tuple[int, int], str] = {}

    def line(self, net: str, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
        """A horizontal or vertical run of wire; returns its cells."""
        cells = []
        if y0 == y1:
            lo, hi = sorted((x0, x1))
            for x in range(lo, hi + 1):
                mask = (W if x > lo else 0) | (E if x < hi else 0)
                self.connect(net, x, y0, mask)
                cells.append((x, y0))
        else:
            lo, hi = sorted((y0, y1))
            for y in range(lo, hi + 1):
                mask = (N if y > lo else 0) | (S if y < hi else 0)
                self.connect(net, x0, y, mask)
                cells.append((x0, y))
        return cells

    def connect(self, net: str, x: int, y: int, mask: int) -> None:
        nets = self.masks.setdefault((x, y), {})
        nets[net] = nets.get(net, 0) | mask

    def put(self, x: int, y: int, text: str) -> None:
        for k, ch in enumerate(text):
            self.text[(x + k, y)] = ch

    def box(
        self,
        x0: int,
        x1: int,
        top: int,
        bottom: int,
        y: int,
        ports: tuple[int, ...],
        name: str,
        symbol: str,
        shape: str,
    ) -> None:
        """``╭ a ──╮ / ┤     │ / │  ×  ├ / ┤     │ / ╰─────╯``: the node's name on the top border,
        the op's symbol on its output row, an ``┤`` where each input enters, its shape at the bottom."""
        inner = x1 - x0 - 2
        title = f" {name} "
        self.put(x0, top, ("╭" + title + "─" * max(0, inner - len(title)) + "╮")[: x1 - x0])
        for row in range(top + 1, bottom):
            left = "┤" if row in ports else "│"
            right = "├" if row == y else "│"
            middle = symbol.center(inner) if row == y else " " * inner
            self.put(x0, row, left + middle + right)
        note = f" {shape} " if shape else ""
        self.put(x0, bottom, ("╰" + "─" * max(0, inner - len(note)) + note + "╯")[: x1 - x0])

    def wire_cells(self) -> list[tuple[int, int]]:
        """Cells drawn as wire: under no text."""
        return [cell for cell in self.masks if cell not in self.text]

    def render(self, width: int, height: int) -> list[str]:
        grid = [[" "] * width for _ in range(height)]
        for (x, y), nets in self.masks.items():
            if 0 <= x < width and 0 <= y < height:
                horizontal = [m for m in nets.values() if m & (E | W)]
                if (
                    len(nets) > 1
                    and horizontal
                    and any(m & (N | S) and not m & (E | W) for m in nets.values())
                ):
                    straight = all(m == E | W for m in horizontal) and any(m == N | S for m in nets.values())
                    # two wires cross here: drawn as a crossing when both go straight through it,
                    # else (a wire turns or ends on the other) the horizontal one over the other
                    mask = N | S | E | W if straight else E | W
                else:
                    mask = 0
                    for m in nets.values():
                        mask |= m
                grid[y][x] = _ROUND.get(mask, "·")
        for (x, y), ch in self.text.items():
            if 0 <= x < width and 0 <= y < height:
                grid[y][x] = ch
        return ["".join(row) for row in grid]
