"""Train a classifier on MNIST handwritten digits: ``python -m minigrad.examples.mnist``.

The default is a multi-layer perceptron 784-128-10 (ReLU, dropout 0.2) trained
with Adam (Kingma & Ba, 2015) on the cross-entropy loss. On the embedded
5,000-digit subset it reaches about 95% test accuracy in a few seconds on a
laptop CPU. On the full MNIST (downloaded when the network allows) the same
settings should give about 98%, the usual figure for this network.

    python -m minigrad.examples.mnist                     # defaults
    python -m minigrad.examples.mnist --epochs 3 --limit 1000 --optimizer momentum
    python -m minigrad.examples.mnist --model cnn --save runs/mnist/cnn.npz

It prints which data it uses, a progress bar per epoch with the running loss
and accuracy, and a final report (accuracy, per-class precision/recall/F1);
it writes plots (learning curves, confusion matrix, misclassified digits) and a
``metrics.json`` to ``--out`` (default: a new folder per run under ``runs/mnist/``).

A trained model is never lost to a file problem: ``--save`` and ``--out`` are
checked (folder created, test write) before training starts, and if writing
still fails at the end, the results go to a folder in the system's temp
directory, whose path is printed. A loss that becomes NaN or infinite stops the
run with a message and exit status 1 (and overwrites no checkpoint).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import minigrad
from minigrad import metrics, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.datasets.mnist import MNIST_MEAN, MNIST_STD, load_mnist
from minigrad.io import write_bytes_atomic

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw")
# Learning rates that work for each optimizer here (used when --lr is not given).
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adagrad": 0.01, "rmsprop": 1e-3,
              "adam": 1e-3, "adamw": 1e-3}
EVAL_BATCH_SIZE = 1000


DEFAULT_OUT_ROOT = Path("runs") / "mnist"
PLOT_NAMES = ("curves.png", "confusion_matrix.png", "misclassified.png")


class UsageError(Exception):
    """A request this run cannot satisfy (reported in one line, exit status 2)."""


class TrainingDiverged(Exception):
    """The loss became NaN or infinite (reported in one line, exit status 1)."""


class OutputsRescued(Exception):
    """Writing --save/--out failed at the end; the results went to a temp folder (exit status 1)."""


# ----------------------------------------------------------------------------- command line


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63-1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.examples.mnist",
        description="Train an MLP or a CNN on MNIST digits with minigrad; report accuracy and\n"
                    "per-class metrics, and plot learning curves, the confusion matrix and\n"
                    "misclassified digits (written to --out).",
        epilog="examples:\n"
               "  python -m minigrad.examples.mnist\n"
               "  python -m minigrad.examples.mnist --limit 500 --epochs 2 --no-plots\n"
               "  python -m minigrad.examples.mnist --model cnn --epochs 5 --save cnn.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp",
                        help="mlp: 784-128-10, ReLU, dropout 0.2; cnn: two conv+ReLU+max-pool "
                             "blocks, then 1600-128-10 (default: %(default)s)")
    parser.add_argument("--epochs", type=_positive_int, default=20,
                        help="passes over the training data (default: %(default)s)")
    parser.add_argument("--batch-size", type=_positive_int, default=64,
                        help="training mini-batch size (default: %(default)s)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                        help="momentum = SGD with Nesterov momentum 0.9; adamw uses weight "
                             "decay 0.01 (default: %(default)s)")
    parser.add_argument("--lr", type=_positive_float, default=None,
                        help="learning rate (default depends on the optimizer: "
                             + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="seeds initialisation, dropout and shuffling (default: %(default)s)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda needs an NVIDIA GPU and CuPy (default: %(default)s)")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel on the processes started by `mpiexec -n N` (MPI on "
                             "cpu, NCCL on cuda; needs minigrad-edu[distributed]); each process "
                             "trains on 1/N of every epoch, rank 0 alone prints and saves")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="MNIST cache directory (default: $MINIGRAD_DATA or ~/.cache/minigrad)")
    parser.add_argument("--offline", action="store_true",
                        help="do not try to download MNIST; use the cache or the embedded subset")
    parser.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                        help="use only the first N training and N test digits (quick runs)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="directory for the plots and metrics.json (default: a new folder "
                             f"per run, {DEFAULT_OUT_ROOT}/<date>-<time>-<model>)")
    parser.add_argument("--no-plots", action="store_true",
                        help="do not draw the plots (plots of an earlier run in --out are "
                             "moved into a stale-plots-<time> subfolder)")
    parser.add_argument("--save", default=None, metavar="PATH",
                        help="save the trained model there as a servable file (minigrad.save_model: "
                             "weights plus the registered builder, mnist-mlp or mnist-cnn), which "
                             "python -m minigrad.serve --model NAME=PATH serves")
    return parser


# ----------------------------------------------------------------------------- model, optimizer


def build_model(name: str) -> nn.Module:
    """The MLP, or the CNN once ``nn.Conv2d`` and ``nn.MaxPool2d`` exist; input (N, 1, 28, 28)."""
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 10),
        )
    if not (hasattr(nn, "Conv2d") and hasattr(nn, "MaxPool2d")):
        raise UsageError("--model cnn needs minigrad.nn.Conv2d and nn.MaxPool2d, which this "
                         "version of minigrad does not have yet; use --model mlp")
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 26 -> 13
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),   # 13 -> 11 -> 5
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def build_optimizer(name: str, params, lr: float):
    from minigrad import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    return optim.AdamW(params, lr=lr, weight_decay=0.01)


# ----------------------------------------------------------------------------- data


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), scaled to [0, 1] then standardised."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)


def load_data(args):
    data = load_mnist(args.data_dir, download=not args.offline, verbose=_is_main())
    x_train, y_train, x_test, y_test = data[:4]
    if args.limit is not None:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
        x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    return data, (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))


# ----------------------------------------------------------------------------- training


def train_one_epoch(model, loader, optimizer, device: str, desc: str):
    """One pass over ``loader``; returns the mean loss and the accuracy over its samples.

    Raises `TrainingDiverged` (before any update from that batch) when the
    loss is NaN or infinite: training on from there only spreads NaN to every weight.
    """
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=desc, unit="batch", leave=True, dynamic_ncols=True,
               disable=not _is_main())
    for batch, (xb, yb) in enumerate(bar, start=1):
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        value = loss.item()
        # on several processes every rank must stop together, or the others would wait
        # forever in the next gradient all-reduce: agree on "some rank diverged" first
        diverged = not math.isfinite(value)
        if _distributed_on():
            diverged = _sum_over_ranks(float(diverged))[0] > 0
        if diverged:
            bar.close()
            where = "" if not math.isfinite(value) else " on another process"
            raise TrainingDiverged(f"the training loss became non-finite{where} at {desc}, "
                                   f"batch {batch} (here: {value})")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = len(yb)
        loss_sum += value * n
        correct += int((logits._data.argmax(axis=1) == yb._data).sum())
        seen += n
        # refresh=False: the bar redraws at its own pace, not once per batch
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.2%}",
                        refresh=False)
    loss_sum, correct, seen = _sum_over_ranks(loss_sum, correct, seen)
    return loss_sum / seen, correct / seen


def predict(model, x: np.ndarray, device: str):
    """Logits for every row of ``x`` in eval mode (dropout off, no graph), as NumPy."""
    model.eval()
    out = []
    with minigrad.no_grad():
        for start in range(0, len(x), EVAL_BATCH_SIZE):
            xb = minigrad.tensor(x[start:start + EVAL_BATCH_SIZE], device=device)
            out.append(np.asarray(model(xb)))
    return np.concatenate(out)


def evaluate(model, x: np.ndarray, y: np.ndarray, device: str):
    """(mean cross-entropy, accuracy, predicted labels) on ``x``, ``y``."""
    logits = predict(model, x, device)
    with minigrad.no_grad():
        loss = nn.functional.cross_entropy(minigrad.tensor(logits), minigrad.tensor(y)).item()
    pred = logits.argmax(axis=1)
    return loss, metrics.accuracy(y, pred), pred


# ----------------------------------------------------------------------------- outputs


def _check_writable(folder: Path, what: str) -> None:
    """Create ``folder`` and write (then remove) a probe file in it, or raise UsageError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".minigrad-write-test-"):
            pass
    except OSError as e:
        raise UsageError(f"{what}: cannot write in {folder} ({e.strerror or e}); "
                         "choose another path") from None


def _new_run_folder(root: Path, model: str) -> Path:
    """``root/<date>-<time>-<model>``, with ``-2``, ``-3``... if a run already took that name."""
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{model}"
    for n in range(1, 1000):
        folder = root / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"--out: no free run folder under {root}")


def _set_aside_stale_plots(out: Path) -> Path | None:
    """Move plots of an earlier run out of ``out`` (into ``stale-plots-<time>/``); never delete."""
    stale = [out / name for name in PLOT_NAMES if (out / name).exists()]
    if not stale:
        return None
    aside = out / f"stale-plots-{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir(exist_ok=True)
    for path in stale:
        path.replace(aside / path.name)
    return aside


def prepare_outputs(args) -> Path:
    """Check ``--out`` and ``--save`` before training; returns the output folder.

    Both folders are created and test-written now, so that a typo or a
    read-only disk is reported in seconds, not after the whole training.
    """
    if args.out is None:
        try:
            out = _new_run_folder(DEFAULT_OUT_ROOT, args.model)
        except OSError as e:
            raise UsageError(f"--out: cannot create a run folder in {DEFAULT_OUT_ROOT} "
                             f"({e.strerror or e}); pass --out DIR") from None
    else:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out: {out} is a file, not a folder")
    _check_writable(out, "--out")
    if args.save:
        save = Path(args.save)
        if save.is_dir():
            raise UsageError(f"--save: {save} is a folder; give a file name such as "
                             f"{save / 'model.npz'}")
        _check_writable(save.parent, "--save")
    if args.no_plots:
        aside = _set_aside_stale_plots(out)
        if aside is not None:
            print(f"--no-plots: moved the plots of an earlier run in {out} to {aside}", flush=True)
    return out


def write_outputs(out: Path, history, y_test, pred, raw_test_images, summary, plots: bool):
    out.mkdir(parents=True, exist_ok=True)
    names = PLOT_NAMES if plots else ()
    record = dict(summary, plots=list(names), history=history)
    write_bytes_atomic(out / "metrics.json", json.dumps(record, indent=2).encode())
    written = [out / "metrics.json"]
    if plots:
        from minigrad.examples import _plots

        _plots.plot_curves(history, out / "curves.png")
        _plots.plot_confusion(metrics.confusion_matrix(y_test, pred, num_classes=10),
                              out / "confusion_matrix.png")
        _plots.plot_misclassified(raw_test_images, y_test, pred, out / "misclassified.png")
        written += [out / name for name in names]
    return written


def _save_servable(model, path, model_name: str) -> None:
    """The trained model as a file ``minigrad.load_model`` and ``minigrad.serve`` read."""
    minigrad.save_model(getattr(model, "module", model), path, builder=f"mnist-{model_name}")


def _rescue(model, model_name: str, history, summary, failures) -> str:
    """Write the model and metrics to a new temp folder after a failed write; says where."""
    folder = Path(tempfile.mkdtemp(prefix="minigrad-mnist-rescue-"))
    _save_servable(model, folder / "model.npz", model_name)
    record = dict(summary, history=history)
    write_bytes_atomic(folder / "metrics.json", json.dumps(record, indent=2).encode())
    lines = [f"could not write {path} ({e.strerror or e})" for path, e in failures]
    return ("; ".join(lines) + f"; saved the trained model and metrics to {folder / 'model.npz'}"
            f" and {folder / 'metrics.json'} instead")


# ----------------------------------------------------------------------------- several processes
# `mpiexec -n 2 python -m minigrad.examples.mnist --distributed`: every process runs this
# script; DistributedDataParallel averages the gradients, so the processes stay identical.


def _init_distributed(args) -> None:
    import datetime

    try:
        import minigrad.distributed as dist

        backend = "nccl" if args.device == "cuda" else "mpi"
        if not dist.is_initialized():
            # 5 minutes: a rank left waiting that long for its peers stops with an error
            dist.init_process_group(backend, timeout=datetime.timedelta(minutes=5))
    except ImportError as e:
        raise UsageError(f"--distributed: {e}") from None


def _distributed_on() -> bool:
    dist = sys.modules.get("minigrad.distributed")
    return dist is not None and dist.is_initialized()


def _is_main() -> bool:
    """True on rank 0, and in an ordinary single-process run."""
    return not _distributed_on() or minigrad.distributed.get_rank() == 0


def _train_loader(dataset, args):
    """Shuffled mini-batches; with --distributed, of this rank's share only: a
    DistributedSampler gives every rank the same number of samples, so that all ranks
    run the same number of steps (each step's all-reduce needs every rank)."""
    if not _distributed_on():
        return DataLoader(dataset, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    from minigrad.utils.data import DistributedSampler

    return DataLoader(dataset, batch_size=args.batch_size,
                      sampler=DistributedSampler(dataset, seed=args.seed))


def _sum_over_ranks(*values):
    """Add up per-rank counters (loss sums, correct predictions, samples seen) over the ranks."""
    if not _distributed_on():
        return values
    totals = np.array(values, dtype=np.float64)
    minigrad.distributed.all_reduce(totals)
    return tuple(totals.tolist())


def run(args) -> dict:
    if args.device == "cuda" and not minigrad.backend.gpu_available():
        raise UsageError("--device cuda needs an NVIDIA GPU with CuPy, and none is usable "
                         "here; use --device cpu")
    if args.distributed:
        _init_distributed(args)  # first: with NCCL it picks this process's GPU
    out = prepare_outputs(args) if _is_main() else None
    minigrad.manual_seed(args.seed)
    model = build_model(args.model).to(args.device)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    optimizer = build_optimizer(args.optimizer, model.parameters(), lr)

    data, (raw_train, y_train), (raw_test, y_test) = load_data(args)
    x_train, x_test = normalise(raw_train), normalise(raw_test)
    loader = _train_loader(TensorDataset(x_train, y_train), args)
    if args.distributed:  # same Parameter objects: the optimizer above keeps working
        from minigrad.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)

    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        if args.distributed:
            loader.sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank
        train_loss, train_acc = train_one_epoch(
            model, loader, optimizer, args.device, f"epoch {epoch}/{args.epochs}")
        test_loss, test_acc, _ = evaluate(model, x_test, y_test, args.device)
        for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc)):
            history[key].append(value)
        if _is_main():
            tqdm.write(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f} acc "
                       f"{train_acc:.2%} | test loss {test_loss:.4f} acc {test_acc:.2%}")
    train_time = time.perf_counter() - start

    _, final_train_acc, _ = evaluate(model, x_train, y_train, args.device)
    _, final_test_acc, pred = evaluate(model, x_test, y_test, args.device)
    n_params = sum(p.numel() for p in model.parameters())
    summary = {
        "data": data.description + (f", limited to {args.limit}" if args.limit else ""),
        "source": data.source, "model": args.model, "parameters": n_params,
        "optimizer": args.optimizer, "lr": lr, "batch_size": args.batch_size,
        "epochs": args.epochs, "seed": args.seed, "device": args.device,
        "train_samples": len(y_train), "test_samples": len(y_test),
        "train_time_s": round(train_time, 2),
        "train_accuracy": final_train_acc, "test_accuracy": final_test_acc,
    }
    if args.distributed:
        summary["processes"] = minigrad.distributed.get_world_size()
        if not _is_main():
            return summary  # rank 0 alone reports and saves
    written, failures = [], []
    if args.save:  # the checkpoint first: it is what a failure must never lose
        try:
            _save_servable(model, args.save, args.model)
            written.append(Path(args.save))
        except OSError as e:
            failures.append((Path(args.save), e))
    try:
        written = write_outputs(out, history, y_test, pred, raw_test, summary,
                                not args.no_plots) + written
    except OSError as e:
        failures.append((out, e))
    print_report(summary, y_test, pred, written)
    if failures:
        try:
            message = _rescue(model, args.model, history, summary, failures)
        except OSError as e:
            message = (f"could not write {failures[0][0]} ({failures[0][1]}), nor a copy in the "
                       f"temp folder ({e})")
        raise OutputsRescued(message)
    return summary


def print_report(summary: dict, y_test, pred, written) -> None:
    print()
    print(f"data:       {summary['data']}")
    print(f"model:      {summary['model']} ({summary['parameters']:,} parameters), "
          f"{summary['optimizer']} lr {summary['lr']:g}, batch {summary['batch_size']}, "
          f"{summary['epochs']} epochs on {summary['device']}")
    print(f"wall time:  {summary['train_time_s']:.1f} s of training")
    print(f"accuracy:   train {summary['train_accuracy']:.2%}, "
          f"test {summary['test_accuracy']:.2%}")
    print("            (the final model in eval mode; the epoch lines' train accuracy had dropout on)")
    print("\nper-class metrics on the test set:")
    print(metrics.classification_report(y_test, pred, digits=3))
    print("wrote: " + ", ".join(str(p) for p in written))


def main(argv=None) -> int:
    """Run the example with command-line arguments ``argv``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on a bad flag
    try:
        run(args)
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        lr = "--lr" if args.lr is not None else "the default learning rate"
        print(f"{parser.prog}: error: {e}; stopped (nothing was saved). Try a smaller {lr} "
              "or another --optimizer.", file=sys.stderr)
        return 1
    except OutputsRescued as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
