"""The cost-vs-coverage curve of a budget sweep as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .value import BudgetPoint


def plot_budget_curve(points: Sequence[BudgetPoint], path: str | Path, title: str = "") -> Path:
    """Write a PNG of expected and worst-scenario coverage against the budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.budget / 1e6 for p in points if p.expected_coverage is not None]
    exp = [p.expected_coverage * 100 for p in points if p.expected_coverage is not None]
    worst = [p.worst_coverage * 100 for p in points if p.worst_coverage is not None]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(xs, exp, marker="o", label="expected share met within deadline")
    ax.plot(xs, worst, marker="s", linestyle="--", label="worst scenario")
    ax.set_xlabel("budget (million yuan)")
    ax.set_ylabel("need met within deadline (%)")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out
