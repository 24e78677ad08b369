"""A run folder's logs: CSV tables, the training-curve picture, and the optional TensorBoard writer.

Files are written to a temporary name and renamed, so a run stopped mid-write never leaves a
truncated ``log.csv`` or ``curves.png``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = [
    "EPOCH_FIELDS", "add_epoch_scalars", "epoch_line", "metric_pct", "plot_history", "summary_writer_class",
    "write_csv", "write_epoch_log",
]  # fmt: skip

# --- tables and pictures ------------------------------------------------------------------------------------
EPOCH_FIELDS = ("epoch", "step", "train_loss", "metric_pct", "lr", "images_per_s", "seconds")
"""Columns of ``log.csv``. The validation metric is in percent (``metric_pct``; the history rows and
checkpoints keep it as a fraction under ``metric``; logs written before this hold ``metric``, a fraction)."""


def metric_pct(row: dict[str, Any]) -> float:
    """A ``log.csv`` or history row's validation metric in percent (NaN: none): ``metric_pct``, or
    the older ``metric`` fraction."""
    if row.get("metric_pct") not in (None, ""):
        return float(row["metric_pct"])
    value = row.get("metric")
    return float("nan") if value in (None, "") else 100 * float(value)


def write_epoch_log(path: Path, history: list[dict[str, Any]]) -> None:
    """``log.csv`` from the history rows (metric as a fraction under ``metric``): the metric in percent."""
    rows = [{**{k: v for k, v in h.items() if k != "metric"}, "metric_pct": metric_pct(h)} for h in history]
    write_csv(path, EPOCH_FIELDS, rows)


def epoch_line(row: dict[str, Any], epochs: int, metric_name: str | None, best: bool) -> str:
    """The console line of an epoch's history row: loss, validation metric in percent, lr, speed."""
    metric = metric_pct(row)
    shown = "" if metric != metric else f", {metric_name} {metric:.2f} %" + (" (best)" if best else "")
    return (
        f"epoch {row['epoch']}/{epochs} step {row['step']}: loss {row['train_loss']:.5g}{shown}, "
        f"lr {row['lr']:.3g}, {row['images_per_s']:.1f} img/s, {row['seconds']:.0f} s"
    )


def write_csv(path: Path, fieldnames: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def plot_history(path: Path, history: list[dict[str, Any]], metric_name: str | None) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="training loss", title="training loss")
    metric = [metric_pct(h) for h in history]  # percent, on a linear axis: no 9x10^-1 ticks
    if metric_name is not None and any(m == m for m in metric):
        ax2.plot(epochs, metric, marker="o", color="tab:orange")
    label = f"{metric_name} (%)" if metric_name else "no validation"
    ax2.set(xlabel="epoch", ylabel=label, title=f"validation {metric_name or ''}")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)


def summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``, or an error saying how to install TensorBoard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ModuleNotFoundError(
            "TrainConfig.tensorboard (--tensorboard) needs the tensorboard package, which is not installed; "
            'run pip install tensorboard (or pip install -e ".[tensorboard]"), or train without --tensorboard'
        ) from None
    return SummaryWriter


def add_epoch_scalars(tb: Any, row: dict[str, Any], metric_name: str | None, step: int) -> None:
    """One epoch's row of ``log.csv`` as TensorBoard scalars at ``step`` (the metric when finite)."""
    tb.add_scalar("train/epoch_loss", row["train_loss"], step)
    tb.add_scalar("train/images_per_s", row["images_per_s"], step)
    if metric_pct(row) == metric_pct(row):  # not NaN: there was a validation
        tb.add_scalar(f"val/{metric_name}_pct", metric_pct(row), step)
    tb.flush()
