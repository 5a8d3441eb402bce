"""Aligned plain-text tables for the benchmark report (the same text goes to the terminal and to latest.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    header: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    left_aligned: bool = False  # text tables (name, value) read better left-aligned

    def add(self, *row: object) -> None:
        self.rows.append(row)

    def render(self) -> str:
        cells = [[str(c) for c in self.header], *[[_cell(c) for c in row] for row in self.rows]]
        widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(self.header))]
        lines = [f"== {self.title}"]
        for index, row in enumerate(cells):
            parts = [
                value.ljust(widths[i]) if i == 0 or self.left_aligned else value.rjust(widths[i])
                for i, value in enumerate(row)
            ]
            lines.append("  ".join(parts).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.extend(f"   {note}" for note in self.notes)
        return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
