"""Training-step throughput of the CNN, LSTM and Transformer layers (samples/s, float32, 2 threads).

    python benchmarks/layers.py                      # every workload, both libraries
    python benchmarks/layers.py lstm --profile       # one workload, plus a cProfile of minigrad
    python benchmarks/layers.py --repetitions 5      # more runs per side (median and range)
    python benchmarks/layers.py --parity             # (with torch) same outputs as PyTorch?
    python benchmarks/layers.py --only torch cnn     # one side, one workload, one process

Each library runs in its own process (see benchmarks/_own_process.py: OpenBLAS's and
PyTorch's OpenMP thread pools slow each other down by tens of percent in one process),
several times, and the median, the range and the ratio minigrad / PyTorch are printed
(target: >= 0.7). torch is never a dependency of minigrad: install it in a separate venv,

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy

which is found there (or pass --torch-python, or set MINIGRAD_TORCH_PYTHON).

Workloads (one step = forward, loss, backward, optimizer update):
  cnn          Conv2d(1,32,3)+ReLU+MaxPool2d(2) -> Conv2d(32,64,3)+ReLU+MaxPool2d(2) -> Flatten
               -> Linear(1600,128)+ReLU -> Linear(128,10); 1x28x28 input, batch 64, Adam
  lstm         Embedding(5000,64) -> LSTM(64,128, 2 layers, batch_first) -> last hidden
               -> Linear(128,4); sequence 64, batch 32, Adam
  transformer  the project's TransformerLM: decoder-only character model, vocab 96,
               d_model 128, 4 heads, 2 blocks, MLP 512, causal, sequence 64, batch 32, AdamW
  transformer_default
               the same model written with the layers a PyTorch user picks by default:
               LayerNorm, nn.MultiheadAttention(batch_first=True) with a boolean causal
               attn_mask, Linear -> nn.GELU() (exact, erf) -> Linear, token + learned
               position embeddings, AdamW
  mlp          the main job's MLP 784-128-10 (ReLU), batch 128, Adam

Prints figures and asserts nothing (timings on shared machines are noisy).
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(default: int = 2) -> int:
    """``--threads N`` must be known before NumPy loads its BLAS, so it is read here."""
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    return default


THREADS = _threads_from_argv()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _own_process  # noqa: E402

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import nn, optim  # noqa: E402

# torch is imported only by a process that measures PyTorch (``--only torch``) or checks
# parity: importing it next to minigrad's measurement would start its thread pool there
torch = tnn = None
if "--only" not in sys.argv or sys.argv[sys.argv.index("--only") + 1] == "torch" or "--parity" in sys.argv:
    try:
        import torch
        import torch.nn as tnn

        torch.set_num_threads(THREADS)
    except ImportError:  # the normal case: minigrad's venv has no torch
        torch = tnn = None


# ============================================================================ workloads


def cnn_batch(rng):
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    return x, y


def lstm_batch(rng):
    return rng.integers(0, 5000, (32, 64)), rng.integers(0, 4, 32)


def transformer_batch(rng):
    tokens = rng.integers(0, 96, (32, 65))
    return tokens[:, :-1], tokens[:, 1:]


class MiniCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2 = nn.Linear(1600, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def default_lm(lib_nn, lib):
    """The ``transformer_default`` model in either library (``lib`` is minigrad or torch)."""
    module = lib_nn.Module

    class Block(module):
        def __init__(self, d=128, heads=4, ff=512):
            super().__init__()
            self.ln1, self.ln2 = lib_nn.LayerNorm(d), lib_nn.LayerNorm(d)
            self.attn = lib_nn.MultiheadAttention(d, heads, batch_first=True)
            self.mlp = lib_nn.Sequential(lib_nn.Linear(d, ff), lib_nn.GELU(), lib_nn.Linear(ff, d))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class LM(module):
        def __init__(self, vocab=96, d=128, max_len=64):
            super().__init__()
            self.tok, self.pos = lib_nn.Embedding(vocab, d), lib_nn.Embedding(max_len, d)
            self.blocks = lib_nn.ModuleList([Block(), Block()])
            self.ln_f, self.head = lib_nn.LayerNorm(d), lib_nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            t = idx.shape[1]
            mask = lib.ones(t, t, dtype=lib.bool).triu(1)  # True = may not attend
            h = self.tok(idx) + self.pos(lib.arange(t))
            for block in self.blocks:
                h = block(h, mask)
            return self.head(self.ln_f(h))

    return LM()


def mlp_batch(rng):
    return rng.standard_normal((128, 784)).astype(np.float32), rng.integers(0, 10, 128)


class MiniLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5000, 64)
        self.lstm = nn.LSTM(64, 128, num_layers=2, batch_first=True)
        self.fc = nn.Linear(128, 4)

    def forward(self, idx):
        _, (h, _) = self.lstm(self.emb(idx))
        return self.fc(h[-1])


def minigrad_step(workload):
    """(step function, batch size) for minigrad."""
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    if workload == "cnn":
        model, (x, y) = MiniCNN(), cnn_batch(rng)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        inputs, loss_of = mg.tensor(x), lambda out: F.cross_entropy(out, y)
    elif workload == "lstm":
        model, (x, y) = MiniLSTM(), lstm_batch(rng)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        inputs, loss_of = mg.tensor(x), lambda out: F.cross_entropy(out, y)
    elif workload == "mlp":
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        (x, y), opt = mlp_batch(rng), optim.Adam(model.parameters(), lr=1e-3)
        inputs, loss_of = mg.tensor(x), lambda out: F.cross_entropy(out, y)
    else:
        model = (nn.TransformerLM(96, 128, 4, 2, 512, max_len=64, dropout=0.0)
                 if workload == "transformer" else default_lm(nn, mg))
        x, y = transformer_batch(rng)
        opt = optim.AdamW(model.parameters(), lr=3e-4)
        inputs = mg.tensor(x)
        loss_of = lambda out: F.cross_entropy(out.reshape(-1, 96), y.reshape(-1))  # noqa: E731

    def step():
        opt.zero_grad()
        loss = loss_of(model(inputs))
        loss.backward()
        opt.step()
        return loss.item()

    return step, x.shape[0]


def torch_step(workload):
    """The same workload in PyTorch (CPU, float32)."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    if workload == "cnn":
        model = tnn.Sequential(
            tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10))
        x, y = cnn_batch(rng)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        forward = model
    elif workload == "lstm":
        emb, lstm, fc = tnn.Embedding(5000, 64), tnn.LSTM(64, 128, 2, batch_first=True), \
            tnn.Linear(128, 4)
        params = list(emb.parameters()) + list(lstm.parameters()) + list(fc.parameters())
        x, y = lstm_batch(rng)
        opt = torch.optim.Adam(params, lr=1e-3)
        forward = lambda idx: fc(lstm(emb(idx))[1][0][-1])  # noqa: E731
    elif workload == "mlp":
        model = tnn.Sequential(tnn.Linear(784, 128), tnn.ReLU(), tnn.Linear(128, 10))
        (x, y), forward = mlp_batch(rng), model
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        x, y = transformer_batch(rng)
        model = _TorchLM() if workload == "transformer" else default_lm(tnn, torch)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
        forward = model
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = tnn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out = forward(xt)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), yt.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step, x.shape[0]


if torch is not None:

    class _TorchBlock(tnn.Module):
        def __init__(self, d=128, heads=4, ff=512):
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
            self.attn = tnn.MultiheadAttention(d, heads, batch_first=True)
            self.fc1, self.fc2 = tnn.Linear(d, ff), tnn.Linear(ff, d)

        def forward(self, x):
            h = self.ln1(x)
            mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).triu(1)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
            return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x)),
                                                              approximate="tanh"))

    class _TorchLM(tnn.Module):
        def __init__(self, vocab=96, d=128, max_len=64):
            super().__init__()
            self.tok, self.pos = tnn.Embedding(vocab, d), tnn.Embedding(max_len, d)
            self.blocks = tnn.Sequential(_TorchBlock(), _TorchBlock())
            self.ln_f, self.head = tnn.LayerNorm(d), tnn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            h = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(h)))


# ============================================================================ parity with PyTorch


def parity_with_torch() -> None:
    """Load PyTorch's weights into each minigrad layer (float64) and print the largest output difference."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)

    def load(mine, theirs):
        mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        return mine.double(), theirs.double()

    def show(name, a, b):
        print(f"  {name:26s} max |minigrad - torch| = {np.abs(a.numpy() - b.detach().numpy()).max():.1e}")

    x = rng.standard_normal((2, 3, 9, 8))
    conv = load(nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2)),
                tnn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2)))
    bn = load(nn.BatchNorm2d(3), tnn.BatchNorm2d(3))
    ln = load(nn.LayerNorm(8), tnn.LayerNorm(8))
    for name, (mine, theirs) in [("Conv2d", conv), ("BatchNorm2d (train)", bn), ("LayerNorm", ln),
                                 ("MaxPool2d(3, 2, 1)", (nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1))),
                                 ("AvgPool2d(3, 2, 1)", (nn.AvgPool2d(3, 2, 1), tnn.AvgPool2d(3, 2, 1)))]:
        show(name, mine(mg.tensor(x)), theirs(torch.tensor(x)))
    show("BatchNorm2d running_var", bn[0].running_var, bn[1].running_var)
    seq = rng.standard_normal((2, 5, 4))
    for mine_cls, torch_cls in ((nn.LSTM, tnn.LSTM), (nn.GRU, tnn.GRU)):
        mine, theirs = load(mine_cls(4, 6, 2, batch_first=True, bidirectional=True),
                            torch_cls(4, 6, 2, batch_first=True, bidirectional=True))
        show(f"{mine_cls.__name__} (2 layers, bidir.)", mine(mg.tensor(seq))[0],
             theirs(torch.tensor(seq))[0])
    q = rng.standard_normal((2, 5, 8))
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    mine, theirs = load(nn.MultiheadAttention(8, 2, batch_first=True),
                        tnn.MultiheadAttention(8, 2, batch_first=True))
    out = mine(*[mg.tensor(q)] * 3, key_padding_mask=padding, attn_mask=causal)[0]
    ref = theirs(*[torch.tensor(q)] * 3, key_padding_mask=torch.tensor(padding),
                 attn_mask=torch.tensor(causal))[0]
    show("MultiheadAttention (masks)", out, ref)


# ============================================================================ timing


def seconds_per_step(step, steps=5) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


WORKLOADS = ["cnn", "lstm", "transformer", "transformer_default", "mlp"]


def measure_one_side(side: str, workload: str, rounds: int = 5, warmup: int = 2) -> None:
    """This process measures one library on one workload: the median of ``rounds`` timed
    rounds after a warm-up, printed as one JSON line for the driver."""
    step, batch = (minigrad_step if side == "minigrad" else torch_step)(workload)
    for _ in range(warmup):
        step()
    times = sorted(seconds_per_step(step) for _ in range(rounds))
    _own_process.report(side, workload, batch / times[len(times) // 2], threads=THREADS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help=f"among {WORKLOADS} (default: all)")
    parser.add_argument("--only", choices=["minigrad", "torch"],
                        help="measure one library in this process and print one JSON line")
    parser.add_argument("--repetitions", type=int, default=3, help="processes per side and workload")
    parser.add_argument("--torch-python", help="a Python with torch (default: found, see the docstring)")
    parser.add_argument("--profile", action="store_true", help="cProfile minigrad's steps")
    parser.add_argument("--parity", action="store_true",
                        help="with torch: check each layer's outputs against PyTorch's first")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help="BLAS/OpenMP threads for each library's process (default 2)")
    args = parser.parse_args()
    if any(w not in WORKLOADS for w in args.workloads):
        parser.error(f"workloads must be among {WORKLOADS}, got {args.workloads}")
    args.workloads = args.workloads or WORKLOADS
    if args.only:
        for workload in args.workloads:
            measure_one_side(args.only, workload)
        return
    if args.parity:
        if torch is None:
            parser.error("--parity needs torch in this Python")
        print("parity (PyTorch's weights loaded into minigrad, float64):")
        parity_with_torch()
        return
    print(f"threads per process: {THREADS}, numpy {np.__version__}")
    _own_process.compare(__file__, args.workloads, args.repetitions, args.torch_python,
                         extra=["--threads", str(THREADS)], threads=THREADS)
    if args.profile:
        for workload in args.workloads:
            step, _ = minigrad_step(workload)
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [step() for _ in range(5)])  # noqa: B023
            print(f"profile of minigrad's {workload} step (5 steps):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
