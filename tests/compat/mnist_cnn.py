"""A convolutional MNIST classifier trained the way pytorch/examples ``mnist/main.py`` does.

A compatibility program: its only minigrad-specific lines are the imports, so
replacing ``minigrad`` by ``torch`` in them gives a PyTorch program that computes
the same thing. The idioms it exercises: a ``Net`` of two convolutions,
``F.max_pool2d``, two ``nn.Dropout``, ``torch.flatten`` and two ``nn.Linear``
ending in ``F.log_softmax``; ``F.nll_loss``; ``optim.Adadelta`` stepped by
``StepLR(step_size=1, gamma=0.7)`` once per epoch; ``DataLoader`` over a
``TensorDataset``; ``model.train()`` / ``model.eval()``; a test pass under
``torch.no_grad()`` summing ``F.nll_loss(..., reduction="sum")`` and counting
``pred.eq(target.view_as(pred)).sum().item()`` with
``pred = output.argmax(dim=1, keepdim=True)``; ``model.to(device)``.

The images are synthetic (ten fixed random strokes-like prototypes plus noise),
made with NumPy so that both libraries see the same numbers, and smaller than
MNIST's (``image_size``) so that a run takes seconds on a CPU.
"""

import numpy as np

import minigrad as torch
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.optim.lr_scheduler import StepLR
from minigrad.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, channels=(32, 64), hidden=128, image_size=28, p1=0.25, p2=0.5):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, 1)
        self.conv2 = nn.Conv2d(c1, c2, 3, 1)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)
        side = (image_size - 4) // 2
        self.fc1 = nn.Linear(c2 * side * side, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch, losses, max_steps, log_interval=10,
          verbose=False):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if verbose and batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100. * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}")
        if len(losses) >= max_steps:
            break


def test(model, device, test_loader, verbose=False):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    accuracy = 100. * correct / len(test_loader.dataset)
    if verbose:
        print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/"
              f"{len(test_loader.dataset)} ({accuracy:.0f}%)\n")
    return test_loss, accuracy


def make_data(n, image_size=28, seed=0):
    """``n`` synthetic normalised images (N, 1, H, W) of ten classes, and their labels."""
    rng = np.random.default_rng(seed)
    # the ten class prototypes are the same for every seed (train and test share them)
    prototypes = np.random.default_rng(12345).random((10, image_size, image_size)) < 0.25
    labels = rng.integers(0, 10, n)
    images = prototypes[labels] * 0.7 + rng.random((n, image_size, image_size)) * 0.6
    images = (images - 0.1307) / 0.3081  # MNIST's normalisation, as the example's transform
    return images[:, None].astype(np.float64), labels.astype(np.int64)


def datasets(n_train, n_test, image_size, seed):
    x_train, y_train = make_data(n_train, image_size, seed)
    x_test, y_test = make_data(n_test, image_size, seed + 1)
    dtype = torch.get_default_dtype()
    train_set = TensorDataset(torch.tensor(x_train, dtype=dtype), torch.from_numpy(y_train))
    test_set = TensorDataset(torch.tensor(x_test, dtype=dtype), torch.from_numpy(y_test))
    return train_set, test_set


def main(steps=50, batch_size=16, test_batch_size=64, lr=1.0, gamma=0.7, seed=1,
         n_train=128, n_test=64, image_size=12, channels=(8, 16), hidden=32, dropout=True,
         shuffle=True, init=None, log=None, verbose=False):
    """Train for ``steps`` batches (several epochs of ``n_train`` images); return the losses.

    Args:
        steps: optimizer steps (batches).
        batch_size, test_batch_size: as the example's ``--batch-size``/``--test-batch-size``.
        lr, gamma: Adadelta's learning rate and StepLR's decay per epoch.
        seed: ``torch.manual_seed`` (weights, dropout, shuffling) and the synthetic data.
        n_train, n_test, image_size: the synthetic data sets.
        channels, hidden: the widths of ``Net`` (the example: (32, 64), 128, on 28x28).
        dropout: False sets both dropout probabilities to 0 (exact comparisons).
        shuffle: shuffle the training batches.
        init: called with the model right after it is built (to load given weights).
        log: a list that receives ``(test_loss, accuracy)`` after every epoch.
        verbose: print the example's progress lines.
    """
    torch.manual_seed(seed)
    device = "cpu"

    train_kwargs = {"batch_size": batch_size, "shuffle": shuffle}
    test_kwargs = {"batch_size": test_batch_size}
    train_set, test_set = datasets(n_train, n_test, image_size, seed)
    train_loader = DataLoader(train_set, **train_kwargs)
    test_loader = DataLoader(test_set, **test_kwargs)

    p1, p2 = (0.25, 0.5) if dropout else (0.0, 0.0)
    model = Net(channels, hidden, image_size, p1, p2).to(device)
    if init is not None:
        init(model)
    optimizer = optim.Adadelta(model.parameters(), lr=lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=gamma)
    losses = []
    epoch = 1
    while len(losses) < steps:
        train(model, device, train_loader, optimizer, epoch, losses, steps, verbose=verbose)
        result = test(model, device, test_loader, verbose=verbose)
        if log is not None:
            log.append(result)
        scheduler.step()
        epoch += 1
    return losses


if __name__ == "__main__":
    main(steps=40, verbose=True)
