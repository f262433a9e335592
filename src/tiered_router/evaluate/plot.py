"""Cost-quality plot of a replay (matplotlib, Agg backend; matplotlib is imported only here)."""

from __future__ import annotations

from pathlib import Path

from .metrics import Point
from .replay import Report

__all__ = ["plot_report"]


def plot_report(rep: Report, path: Path | str, dpi: int = 110) -> Path:
    """Write a two-panel PNG: accuracy vs. mean cost (every router and baseline, our operating point
    starred), and accuracy vs. % strong-model calls (RouteLLM's view, with APGR in the legend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_cost, ax_pct) = plt.subplots(1, 2, figsize=(11, 5.6))
    dollars = rep.cost_unit == "$"
    scale = 1000.0 if dollars else 1.0

    def xs_cost(points: list[Point]) -> list[float]:
        return [p.cost * scale for p in points]

    def acc(points: list[Point]) -> list[float]:
        return [100 * p.accuracy for p in points]

    styles = {
        "classifier": ("tab:blue", "-", "o"),
        "cascade": ("tab:green", "-", "s"),
        "gate": ("tab:olive", "--", "^"),
        "length": ("tab:orange", "-.", "d"),
        "random": ("grey", ":", None),
        "oracle": ("tab:purple", "--", "x"),
    }
    curve_label = {
        "classifier": "classifier (t1 vs top)",
        "cascade": "classifier + gate (t1 vs top)",
        "gate": "gate only",
        "length": "prompt length",
        "random": "random",
        "oracle": "oracle",
    }

    # ---- left: accuracy vs cost ----
    for key in ("classifier", "cascade", "length", "random"):
        row = next((r for r in rep.rows if r.key == key), None)
        if row is None or not row.curve:
            continue
        color, ls, marker = styles[key]
        pts = sorted(row.curve, key=lambda p: p.cost)
        ax_cost.plot(xs_cost(pts), acc(pts), color=color, linestyle=ls, marker=marker, markersize=3, linewidth=1.2,
                     label=curve_label[key])
    if len(rep.models) > 2 and rep.product_curve:
        pts = sorted(rep.product_curve, key=lambda p: p.cost)
        ax_cost.plot(xs_cost(pts), acc(pts), color="tab:red", linestyle="-", marker=".", markersize=3, linewidth=1.2,
                     label="3-tier cascade, heavy threshold swept")
    fixed_markers = ["v", "P", "D"]
    for i, row in enumerate(r for r in rep.rows if r.key.startswith("always-")):
        ax_cost.scatter([row.point.cost * scale], [100 * row.point.accuracy], marker=fixed_markers[i % 3],
                        color="black", s=36, zorder=7, label=row.label)
    oracle = next((r for r in rep.rows if r.key == "oracle"), None)
    if oracle is not None:
        ax_cost.scatter([oracle.point.cost * scale], [100 * oracle.point.accuracy], marker="*", color="tab:purple",
                        s=70, zorder=5, label="oracle (cheapest right model)")
    ours = next((r for r in rep.rows if r.key == "cascade"), None) or next(r for r in rep.rows if r.key == "classifier")
    ax_cost.scatter([ours.point.cost * scale], [100 * ours.point.accuracy], marker="*", color="tab:red", s=220,
                    edgecolor="black", zorder=6, label=f"ours: {ours.label} (default thresholds)")
    if dollars:
        ax_cost.set_xscale("log")
        ax_cost.set_xlabel("mean cost per 1,000 prompts ($, log scale)")
    else:
        ax_cost.set_xlabel("mean cost (strong-model calls per prompt)")
    ax_cost.set_ylabel("accuracy (%)")
    ax_cost.set_title(f"{rep.title}: cost vs quality")
    ax_cost.grid(True, alpha=0.3)
    ax_cost.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)

    # ---- right: RouteLLM view, accuracy vs % strong calls ----
    for key in ("classifier", "cascade", "gate", "length", "random", "oracle"):
        row = next((r for r in rep.rows if r.key == key), None)
        if row is None or not row.curve:
            continue
        color, ls, marker = styles[key]
        pts = sorted(row.curve, key=lambda p: p.strong_pct)
        ax_pct.plot([p.strong_pct for p in pts], acc(pts), color=color, linestyle=ls, marker=marker, markersize=3,
                    linewidth=1.2, label=f"{curve_label[key]}  APGR {row.apgr:.3f}")
    ax_pct.axhline(100 * rep.weak_acc, color="grey", linestyle="--", linewidth=0.8, label=f"weak: {rep.models[0]}")
    ax_pct.axhline(100 * rep.strong_acc, color="tab:red", linestyle="--", linewidth=0.8,
                   label=f"strong: {rep.models[-1]}")
    ax_pct.set_xlabel("strong-model calls (%)")
    ax_pct.set_ylabel("accuracy (%)")
    ax_pct.set_title(f"{rep.title}: RouteLLM view (n={rep.n})")
    ax_pct.grid(True, alpha=0.3)
    ax_pct.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
