"""A run folder's logs: CSV tables, the training-curve picture, and the optional TensorBoard writer.

Files are written to a temporary name and renamed, so a run stopped mid-write never leaves a
truncated ``log.csv`` or ``curves.png``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["EPOCH_FIELDS", "write_csv", "plot_history", "summary_writer_class", "add_epoch_scalars"]

# --- tables and pictures ------------------------------------------------------------------------------------
EPOCH_FIELDS = ("epoch", "step", "train_loss", "metric", "lr", "images_per_s", "seconds")


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
    ax1.set(xlabel="epoch", ylabel="training loss", title="training loss", yscale="log")
    metric = [h["metric"] for h in history]
    if metric_name is not None and any(m == m and m is not None for m in metric):
        ax2.plot(epochs, metric, marker="o", color="tab:orange")
    ax2.set(xlabel="epoch", ylabel=metric_name or "no validation", title=f"validation {metric_name or ''}")
    if metric_name is not None and metric_name.startswith("nme") and any(m and m > 0 for m in metric):
        ax2.set_yscale("log")  # errors fall over decades; a linear axis hides the late epochs
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
    if row["metric"] == row["metric"]:  # not NaN: there was a validation
        tb.add_scalar(f"val/{metric_name}", row["metric"], step)
    tb.flush()
