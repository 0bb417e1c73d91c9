"""Classification metrics, with scikit-learn's names and argument order ``(y_true, y_pred)``.

Labels are integers ``0 .. K-1``. Every function accepts Tensors (on any
device), NumPy arrays or lists; ``y_pred`` may also be a 2-D array of scores
or logits of shape (N, K), which is reduced with ``argmax`` over the classes.

For class ``c``, with TP = true positives, FP = false positives, FN = false negatives:

    precision_c = TP / (TP + FP)      (of the samples predicted c, the share that are c)
    recall_c    = TP / (TP + FN)      (of the samples that are c, the share predicted c)
    F1_c        = 2 precision_c recall_c / (precision_c + recall_c)

**0/0 is defined as 0** (as scikit-learn's ``zero_division=0``): a class never
predicted has precision 0, a class that never occurs has recall 0, and F1 is 0
when precision and recall are both 0.

Averages (``average=``):

- ``"macro"``: the unweighted mean over the classes that occur in ``y_true``
  or ``y_pred`` (a class absent from both has nothing to measure);
- ``"micro"``: the formula applied to the TP, FP, FN summed over classes (for
  single-label problems micro precision = recall = F1 = accuracy);
- ``"weighted"``: the mean over classes weighted by their support (count in ``y_true``);
- ``"binary"``: the value for class ``pos_label`` only;
- ``None``: an array with one value per class ``0 .. K-1``.
"""

from __future__ import annotations

import numpy as np

from minigrad.tensor import Tensor

__all__ = [
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_f1",
    "confusion_matrix",
    "classification_report",
]

_AVERAGES = ("macro", "micro", "weighted", "binary", None)


def _to_numpy(y, name: str, fn: str) -> np.ndarray:
    if isinstance(y, Tensor):
        y = np.asarray(y)  # Tensor.__array__ copies from the GPU if needed
    y = np.asarray(y.get() if hasattr(y, "get") else y)  # CuPy arrays
    if y.ndim == 2 and y.shape[1] == 1:  # a column of labels, e.g. a binary model's (N, 1)
        if y.dtype.kind == "f" and not np.all((y == 0) | (y == 1)):
            raise ValueError(f"{fn}: {name} of shape {y.shape} holds scores, not labels; "
                             "threshold them first, e.g. (logits > 0)")
        y = y[:, 0]
    elif y.ndim == 2 and name == "y_pred":
        y = y.argmax(axis=1)  # (N, K) scores/logits -> predicted class
    if y.ndim != 1:
        raise ValueError(f"{fn}: expected {name} of shape (N,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError(f"{fn}: {name} must hold integer class labels, got fractions")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iub":
        raise TypeError(f"{fn}: {name} must hold integer class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{fn}: class labels must be >= 0, got {y.min()} in {name}")
    return y


def _labels(y_true, y_pred, fn: str):
    t = _to_numpy(y_true, "y_true", fn)
    p = _to_numpy(y_pred, "y_pred", fn)
    if t.shape != p.shape:
        raise ValueError(
            f"{fn}: y_true and y_pred differ in length: shapes {t.shape} and {p.shape}"
        )
    return t, p


def _num_classes(t, p, num_classes, fn: str) -> int:
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if num_classes is None:
        return seen
    if seen > num_classes:
        raise ValueError(f"{fn}: found label {seen - 1} but num_classes={num_classes}")
    return int(num_classes)


def _safe_div(num, den):
    """num / den elementwise, with 0/0 (and x/0) defined as 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def accuracy(y_true, y_pred) -> float:
    """The share of correct predictions: ``mean(y_pred == y_true)`` (0 for empty input)."""
    t, p = _labels(y_true, y_pred, "accuracy")
    return float((t == p).mean()) if t.size else 0.0


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """The (K, K) count matrix ``C[i, j]`` = number of samples of class i predicted as j.

    Rows are true classes, columns predictions (scikit-learn's convention), so
    the diagonal holds the correct predictions. ``K = num_classes``, or the
    largest label seen plus one.
    """
    t, p = _labels(y_true, y_pred, "confusion_matrix")
    k = _num_classes(t, p, num_classes, "confusion_matrix")
    # Each (true, predicted) pair is one cell of the flattened K*K matrix: count them all at once.
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _counts(y_true, y_pred, num_classes, fn):
    """Per-class TP, FP, FN, support, and which classes occur at all."""
    t, p = _labels(y_true, y_pred, fn)
    cm = confusion_matrix(t, p, _num_classes(t, p, num_classes, fn))
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn_ = cm.sum(axis=1) - tp
    support = cm.sum(axis=1)
    present = (support + cm.sum(axis=0)) > 0
    return tp, fp, fn_, support, present


def _f1(prec, rec):
    return _safe_div(2 * prec * rec, prec + rec)


def precision_recall_f1(y_true, y_pred, average="macro", pos_label: int = 1,
                        num_classes: int | None = None):
    """``(precision, recall, f1)`` in one pass; see the module docstring for ``average``."""
    if average not in _AVERAGES:
        raise ValueError(f"precision_recall_f1: average must be one of {_AVERAGES}, got {average!r}")
    tp, fp, fn, support, present = _counts(y_true, y_pred, num_classes, "precision_recall_f1")
    if average == "micro":
        prec = _safe_div(tp.sum(), tp.sum() + fp.sum())
        rec = _safe_div(tp.sum(), tp.sum() + fn.sum())
        return float(prec), float(rec), float(_f1(prec, rec))
    prec, rec = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    f1 = _f1(prec, rec)
    if average is None:
        return prec, rec, f1
    if average == "binary":
        if not 0 <= pos_label < len(tp):
            return 0.0, 0.0, 0.0  # the positive class never occurs: 0/0 -> 0
        return float(prec[pos_label]), float(rec[pos_label]), float(f1[pos_label])
    weights = present.astype(np.float64) if average == "macro" else support.astype(np.float64)
    if weights.sum() == 0:
        return 0.0, 0.0, 0.0
    return tuple(float(np.average(m, weights=weights)) for m in (prec, rec, f1))


def precision(y_true, y_pred, average="macro", pos_label: int = 1, num_classes=None):
    """Precision TP / (TP + FP), per class or averaged (0/0 -> 0)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[0]


def recall(y_true, y_pred, average="macro", pos_label: int = 1, num_classes=None):
    """Recall TP / (TP + FN), per class or averaged (0/0 -> 0)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[1]


def f1_score(y_true, y_pred, average="macro", pos_label: int = 1, num_classes=None):
    """F1 = 2 P R / (P + R), the harmonic mean of precision and recall (0/0 -> 0).

    Macro F1 is the mean of the per-class F1 values (scikit-learn's definition),
    not the F1 of the mean precision and mean recall.
    """
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[2]


def classification_report(y_true, y_pred, target_names=None, digits: int = 2,
                          num_classes: int | None = None) -> str:
    """A text table of per-class precision, recall, F1 and support, like scikit-learn's.

    Lists the classes that occur in ``y_true`` or ``y_pred`` (all ``num_classes``
    when given), then accuracy, the macro average and the support-weighted average.
    """
    t, p = _labels(y_true, y_pred, "classification_report")
    k = _num_classes(t, p, num_classes, "classification_report")
    prec, rec, f1 = precision_recall_f1(t, p, average=None, num_classes=k)
    _, _, _, support, present = _counts(t, p, k, "classification_report")
    shown = np.arange(k) if num_classes is not None else np.flatnonzero(present)
    names = [str(c) for c in shown] if target_names is None else list(target_names)
    if len(names) != len(shown):
        raise ValueError(
            f"classification_report: {len(shown)} classes but {len(names)} target_names"
        )
    width = max(len("weighted avg"), *(len(n) for n in names))
    head = f"{'':>{width}}  {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    row = f"{{:>{width}}}  {{:>9.{digits}f}} {{:>9.{digits}f}} {{:>9.{digits}f}} {{:>9}}"
    lines = [head, ""]
    lines += [row.format(n, prec[c], rec[c], f1[c], support[c]) for n, c in zip(names, shown)]
    lines.append("")
    total = int(support.sum())
    acc = accuracy(t, p)
    lines.append(f"{'accuracy':>{width}}  {'':>9} {'':>9} {acc:>9.{digits}f} {total:>9}")
    weights = {"macro avg": np.isin(np.arange(k), shown).astype(float),
               "weighted avg": support.astype(float)}
    for label, w in weights.items():
        w = w if w.sum() else np.ones(k)
        means = [np.average(m, weights=w) for m in (prec, rec, f1)]
        lines.append(row.format(label, *means, total))
    return "\n".join(lines) + "\n"
