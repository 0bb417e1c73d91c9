"""The training loops of PyTorch's tutorial "What is torch.nn *really*?", written for minigrad.

A compatibility program: its only minigrad-specific lines are the imports, so
replacing ``minigrad`` by ``torch`` in them gives a PyTorch program that computes
the same thing. It follows the tutorial's refactoring steps, each a *stage* of
:func:`main`:

1. ``"manual"``: weights made with ``torch.randn(...).requires_grad_()``, a
   hand-written ``log_softmax`` and negative log-likelihood (fancy indexing with
   ``range``), and the update ``weights -= weights.grad * lr`` inside
   ``torch.no_grad()`` followed by ``weights.grad.zero_()``.
2. ``"functional"``: the same loop with ``F.cross_entropy`` as the loss.
3. ``"module"``: an ``nn.Module`` holding ``nn.Parameter``s, updated by
   ``for p in model.parameters(): p -= p.grad * lr`` and ``model.zero_grad()``.
4. ``"linear"``: ``nn.Linear``, ``optim.SGD``, ``TensorDataset`` sliced by hand.
5. ``"dataloader"``: ``DataLoader`` with a validation set, ``model.train()`` /
   ``model.eval()``, ``loss_batch``/``fit`` and a size-weighted validation loss.
6. ``"cnn"``: a three-convolution network behind an ``nn.Sequential`` with a
   ``Lambda`` layer (``view(-1, 1, 28, 28)``), ``nn.AdaptiveAvgPool2d`` and SGD
   with momentum.

The data are synthetic 28x28 binary "digits" (ten random prototypes, partly erased,
plus stray pixels), made with NumPy so that both libraries see the same numbers.
"""

import math

import numpy as np

import minigrad as torch
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.utils.data import DataLoader, TensorDataset

STAGES = ("manual", "functional", "module", "linear", "dataloader", "cnn")


def make_data(n_train=512, n_valid=128, seed=0):
    """Synthetic flattened 28x28 binary images of ten classes, as NumPy arrays.

    Each class has a random prototype (20% of the pixels on); an image keeps 30% of its
    prototype's pixels and turns on 15% of all pixels at random, so the classes overlap.
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.random((10, 784)) < 0.2

    def sample(n):
        y = rng.integers(0, 10, n)
        x = (prototypes[y] & (rng.random((n, 784)) < 0.3)) | (rng.random((n, 784)) < 0.15)
        return x.astype(np.float64), y.astype(np.int64)

    x_train, y_train = sample(n_train)
    x_valid, y_valid = sample(n_valid)
    return x_train, y_train, x_valid, y_valid


def load_tensors(seed=0, n_train=512, n_valid=128):
    """The tutorial's ``map(torch.tensor, ...)``, with the images in the default dtype."""
    x_train, y_train, x_valid, y_valid = map(torch.tensor, make_data(n_train, n_valid, seed))
    x_train = x_train.to(torch.get_default_dtype())
    x_valid = x_valid.to(torch.get_default_dtype())
    return x_train, y_train, x_valid, y_valid


# ----------------------------------------------------------------------------- 1-2: by hand


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def fit_by_hand(steps, x_train, y_train, bs=64, lr=0.5, functional=False, init=None):
    """Stages 1 and 2: raw tensors, manual gradient descent under ``no_grad``."""
    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)
    if init is not None:
        init({"weights": weights, "bias": bias})

    if functional:
        loss_func = F.cross_entropy

        def model(xb):
            return xb @ weights + bias
    else:
        loss_func = nll

        def model(xb):
            return log_softmax(xb @ weights + bias)

    n = x_train.shape[0]
    losses = []
    while len(losses) < steps:
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


# ----------------------------------------------------------------------------- 3: nn.Module


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def fit_module(steps, x_train, y_train, bs=64, lr=0.5, init=None):
    """Stage 3: ``p -= p.grad * lr`` over ``model.parameters()``."""
    model = Mnist_Logistic()
    if init is not None:
        init(model)
    loss_func = F.cross_entropy
    n = x_train.shape[0]
    losses = []
    while len(losses) < steps:
        for i in range((n - 1) // bs + 1):
            xb = x_train[i * bs: i * bs + bs]
            yb = y_train[i * bs: i * bs + bs]
            loss = loss_func(model(xb), yb)

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


# ----------------------------------------------------------------------------- 4: nn.Linear, optim


class Mnist_Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def fit_linear(steps, x_train, y_train, bs=64, lr=0.5, init=None):
    """Stage 4: ``nn.Linear`` + ``optim.SGD``, batches sliced from a ``TensorDataset``."""
    model = Mnist_Linear()
    if init is not None:
        init(model)
    opt = optim.SGD(model.parameters(), lr=lr)
    loss_func = F.cross_entropy
    train_ds = TensorDataset(x_train, y_train)
    n = len(train_ds)
    losses = []
    while len(losses) < steps:
        for i in range((n - 1) // bs + 1):
            xb, yb = train_ds[i * bs: i * bs + bs]
            loss = loss_func(model(xb), yb)

            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


# ----------------------------------------------------------------------------- 5-6: DataLoader, fit


def get_data(train_ds, valid_ds, bs, shuffle=True):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=shuffle),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(steps, model, loss_func, opt, train_dl, valid_dl, log=None):
    """Train for ``steps`` batches; after every epoch, the size-weighted validation loss."""
    losses = []
    while len(losses) < steps:
        model.train()
        for xb, yb in train_dl:
            loss, _ = loss_batch(model, loss_func, xb, yb, opt)
            losses.append(loss)
            if len(losses) == steps:
                break

        model.eval()
        with torch.no_grad():
            valid_losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(valid_losses, nums)) / np.sum(nums)
        if log is not None:
            log.append(float(val_loss))
    return losses


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


def get_cnn():
    return nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )


# ----------------------------------------------------------------------------- main


def main(steps=50, stage="manual", bs=64, lr=None, seed=0, shuffle=True, init=None, log=None,
         n_train=512, n_valid=128):
    """Run one stage of the tutorial for ``steps`` batches and return the training losses.

    Args:
        steps: optimizer steps (batches) to run.
        stage: one of :data:`STAGES`.
        bs: batch size.
        lr: learning rate (default: 0.5, or 0.1 for the CNN as in the tutorial).
        seed: seeds ``torch.manual_seed`` (initial weights) and the synthetic data.
        shuffle: shuffle the training ``DataLoader`` (stages "dataloader" and "cnn").
        init: called with the model (or, for the hand-written stages, the dict of its
            weight tensors) right after it is built; used to start two libraries from
            the same weights.
        log: a list that receives the validation loss after every epoch.
        n_train, n_valid: sizes of the synthetic data sets.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    torch.manual_seed(seed)
    x_train, y_train, x_valid, y_valid = load_tensors(seed, n_train, n_valid)
    if stage in ("manual", "functional"):
        return fit_by_hand(steps, x_train, y_train, bs, lr or 0.5, stage == "functional", init)
    if stage == "module":
        return fit_module(steps, x_train, y_train, bs, lr or 0.5, init)
    if stage == "linear":
        return fit_linear(steps, x_train, y_train, bs, lr or 0.5, init)

    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs, shuffle=shuffle)
    if stage == "dataloader":
        model = Mnist_Linear()
        if init is not None:
            init(model)
        opt = optim.SGD(model.parameters(), lr=lr or 0.5)
    else:
        model = get_cnn()
        if init is not None:
            init(model)
        opt = optim.SGD(model.parameters(), lr=lr or 0.1, momentum=0.9)
    return fit(steps, model, F.cross_entropy, opt, train_dl, valid_dl, log)


if __name__ == "__main__":
    for name in STAGES:
        history = main(20, stage=name)
        print(f"{name:>10}: loss {history[0]:.4f} -> {history[-1]:.4f}")
