"""The example's figures, drawn with matplotlib's object API (no display, no pyplot state).

Each figure is rendered to memory and written atomically, so an interrupted run
never leaves a half-written PNG.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from minigrad.io import save_figure


def plot_curves(history: dict, path) -> None:
    """Loss and accuracy per epoch, train and test side by side."""
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = Figure(figsize=(10, 4))
    loss_ax, acc_ax = fig.subplots(1, 2)
    for ax, key, title in ((loss_ax, "loss", "cross-entropy loss"), (acc_ax, "acc", "accuracy")):
        ax.plot(epochs, history[f"train_{key}"], "o-", label="train")
        ax.plot(epochs, history[f"test_{key}"], "s-", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    acc_ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    save_figure(fig, path)


def plot_confusion(cm: np.ndarray, path) -> None:
    """The confusion matrix as a heat map, each cell labelled with its count."""
    k = len(cm)
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"test confusion matrix ({cm.trace():,} of {cm.sum():,} correct)")
    dark = cm > cm.max() / 2  # white text on dark cells
    for (i, j), n in np.ndenumerate(cm):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if dark[i, j] else "black")
    save_figure(fig, path)


def plot_misclassified(images: np.ndarray, y_true, y_pred, path, max_images: int = 36) -> None:
    """A grid of misclassified test digits titled "predicted / true"."""
    wrong = np.flatnonzero(y_pred != y_true)[:max_images]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig = Figure(figsize=(cols * 1.3, rows * 1.5 + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"pred {y_pred[i]} / true {y_true[i]}", fontsize=8, color="firebrick")
    total = int((y_pred != y_true).sum())
    fig.suptitle(f"misclassified test digits ({len(wrong)} of {total} shown)")
    save_figure(fig, path)
