"""minigrad.metrics against hand-computed cases and scikit-learn."""

import numpy as np
import pytest

import minigrad
from minigrad import metrics

pytestmark = pytest.mark.mlp

# Hand-checked case: 3 classes, 6 samples.
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]
# confusion matrix: [[1,1,0],[0,2,0],[1,0,1]]
# class 0: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
# class 1: TP 2, FP 1, FN 0 -> P 2/3, R 1,   F1 4/5
# class 2: TP 1, FP 0, FN 1 -> P 1,   R 1/2, F1 2/3


def test_confusion_matrix_by_hand():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    assert metrics.confusion_matrix([0], [1], num_classes=4).shape == (4, 4)


def test_accuracy_by_hand():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_per_class_by_hand():
    p, r, f = metrics.precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    np.testing.assert_allclose(p, [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(r, [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(f, [1 / 2, 4 / 5, 2 / 3])


def test_averages_by_hand():
    assert metrics.precision(Y_TRUE, Y_PRED) == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics.recall(Y_TRUE, Y_PRED) == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert metrics.f1_score(Y_TRUE, Y_PRED) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    for fn in (metrics.precision, metrics.recall, metrics.f1_score):
        assert fn(Y_TRUE, Y_PRED, average="micro") == pytest.approx(4 / 6)


def test_zero_division_is_zero():
    # class 1 is never predicted (precision 0/0) and class 2 never occurs (recall 0/0)
    p, r, f = metrics.precision_recall_f1([0, 1, 0], [0, 0, 2], average=None)
    np.testing.assert_allclose(p, [1 / 2, 0, 0])
    np.testing.assert_allclose(r, [1 / 2, 0, 0])
    np.testing.assert_allclose(f, [1 / 2, 0, 0])
    assert metrics.precision([], [], average="micro") == 0.0
    assert metrics.accuracy([], []) == 0.0


def test_binary_with_pos_label():
    y_true, y_pred = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    assert metrics.precision(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert metrics.recall(y_true, y_pred, average="binary", pos_label=0) == pytest.approx(1 / 2)


def test_accepts_tensors_and_logits():
    logits = minigrad.tensor([[2.0, 0.1, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0]])
    assert metrics.accuracy(minigrad.tensor([0, 1, 1]), logits) == pytest.approx(2 / 3)


def test_errors_name_the_function_and_shapes():
    with pytest.raises(ValueError, match=r"accuracy: .*\(3,\) and \(2,\)"):
        metrics.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="f1_score|precision_recall_f1"):
        metrics.f1_score([0], [0], average="samples")
    with pytest.raises(ValueError, match="num_classes=2"):
        metrics.confusion_matrix([0, 3], [0, 1], num_classes=2)


def test_classification_report_lists_classes_and_averages():
    text = metrics.classification_report(Y_TRUE, Y_PRED, target_names=["a", "b", "c"])
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[3].split() == ["b", "0.67", "1.00", "0.80", "2"]
    assert "macro avg" in text and "weighted avg" in text and "accuracy" in text


sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn(seed):
    r = np.random.default_rng(seed)
    y_true = r.integers(0, 6, 80)
    y_pred = np.where(r.random(80) < 0.6, y_true, r.integers(0, 6, 80))
    y_pred[y_pred == 5] = 4  # a class that occurs but is never predicted
    kw = {"zero_division": 0}
    assert metrics.accuracy(y_true, y_pred) == sklearn_metrics.accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred), sklearn_metrics.confusion_matrix(y_true, y_pred)
    )
    for average in ("macro", "micro", "weighted", None):
        ours = metrics.precision_recall_f1(y_true, y_pred, average=average)
        theirs = (
            sklearn_metrics.precision_score(y_true, y_pred, average=average, **kw),
            sklearn_metrics.recall_score(y_true, y_pred, average=average, **kw),
            sklearn_metrics.f1_score(y_true, y_pred, average=average, **kw),
        )
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, err_msg=f"average={average}")
    assert metrics.classification_report(y_true, y_pred, digits=3) == (
        sklearn_metrics.classification_report(y_true, y_pred, digits=3, **kw)
    )


def test_binary_matches_scikit_learn(rng):
    y_true, y_pred = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    for pos_label in (0, 1):
        assert metrics.f1_score(y_true, y_pred, average="binary", pos_label=pos_label) == (
            pytest.approx(sklearn_metrics.f1_score(y_true, y_pred, pos_label=pos_label))
        )


def test_a_column_of_binary_predictions_is_labels_not_scores():
    """(N, 1) predictions, as a binary model gives them, must not go through argmax."""
    y = np.array([1, 0, 1, 1, 0])
    logits = np.array([[2.0], [-1.0], [3.0], [-2.0], [-3.0]], np.float32)
    preds = (logits > 0).astype(np.int64)
    assert metrics.accuracy(y, preds) == pytest.approx(0.8)
    assert metrics.f1_score(y, preds, average="binary") == pytest.approx(0.8)
    with pytest.raises(ValueError, match="threshold them first"):
        metrics.accuracy(y, logits)
