"""Figures (median, min, max over runs), the printed table and results/latest.json."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One measured quantity and its value in each run."""

    key: str
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """Return the figure with its median, min and max."""
        out: dict[str, Any] = {"key": self.key, "label": self.label, "unit": self.unit}
        out["runs"] = [round(v, 4) for v in self.values]
        if self.values:
            out |= {
                "median": statistics.median(self.values),
                "min": min(self.values),
                "max": max(self.values),
            }
        if self.error:
            out["error"] = self.error
        return out


class Results:
    """Every figure in the order it was first recorded."""

    def __init__(self) -> None:
        self.figures: dict[str, Figure] = {}

    def add(self, key: str, label: str, unit: str, value: float) -> None:
        """Record one run's value of a figure."""
        self.figures.setdefault(key, Figure(key, label, unit)).values.append(value)

    def fail(self, key: str, label: str, unit: str, error: str) -> None:
        """Record that a figure could not be measured."""
        self.figures.setdefault(key, Figure(key, label, unit)).error = error

    def median(self, key: str) -> float | None:
        """Return a figure's median, if measured."""
        fig = self.figures.get(key)
        return statistics.median(fig.values) if fig and fig.values else None


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: Results) -> str:
    """Return the aligned plain-text table of every figure."""
    rows = [("figure", "median", "min", "max", "unit", "runs")]
    for fig in results.figures.values():
        if fig.values:
            s = fig.summary()
            cells = (_fmt(s["median"]), _fmt(s["min"]), _fmt(s["max"]))
            rows.append((fig.label, *cells, fig.unit, str(len(fig.values))))
        else:
            rows.append((fig.label, "failed", "-", "-", fig.unit, "0"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        line = [row[0].ljust(widths[0])]
        line += [c.rjust(w) for c, w in zip(row[1:4], widths[1:4], strict=True)]
        line += [row[4].ljust(widths[4]), row[5].rjust(widths[5])]
        lines.append("  ".join(line).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(results: Results, meta: dict[str, Any], path: Path | None = None) -> Path:
    """Write every figure and the run's metadata as JSON; return the path."""
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**meta, "figures": [f.summary() for f in results.figures.values()]}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
