"""Learning-rate schedules: change each group's ``lr`` once per epoch (or per step).

Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch::

    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        sched.step()

Each scheduler here computes the learning rate of epoch e in closed form from the
group's ``initial_lr`` (saved in the group when the first scheduler is built), so
``lr_at(e)`` can be read off without stepping, and a loaded ``state_dict``
continues exactly. The values equal PyTorch's (which updates recursively).
"""

from __future__ import annotations

import math

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR", "LambdaLR", "SequentialLR"]


class LRScheduler:
    """Base class: subclasses implement ``lr_at(base_lr, epoch)``."""

    def __init__(self, optimizer, last_epoch: int = -1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}: last_epoch={last_epoch} needs 'initial_lr' in every "
                    "param group (resume by loading the scheduler's state_dict instead)"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int, group_index: int = 0) -> float:
        raise NotImplementedError  # pragma: no cover

    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch``, one per group."""
        return [self.lr_at(base, self.last_epoch, i) for i, base in enumerate(self.base_lrs)]

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self.last_epoch += 1
        self._set(self.get_lr())

    def _set(self, lrs) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step()``, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which cannot be saved)."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v) and k not in ("lr_lambdas", "_schedulers")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        if "base_lrs" in state_dict:
            self.base_lrs = list(state_dict["base_lrs"])


class StepLR(LRScheduler):
    """Decay by ``gamma`` every ``step_size`` epochs:  lr_e = lr_0 · γ^⌊e / step_size⌋."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch, group_index=0):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, 2017, SGDR without restarts):

        lr_e = η_min + (lr_0 - η_min) (1 + cos(π e / T_max)) / 2

    from lr_0 at e = 0 down to η_min at e = T_max (and back up after, as PyTorch).
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):  # noqa: N803
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch, group_index=0):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of the factor over ``total_iters`` epochs, then constant:

        lr_e = lr_0 · (s + (f - s) · min(e, total_iters) / total_iters)

    with s = ``start_factor`` and f = ``end_factor``.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                f"got {start_factor} and {end_factor}"
            )
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch, group_index=0):
        progress = min(epoch, self.total_iters) / self.total_iters if self.total_iters else 1.0
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class LambdaLR(LRScheduler):
    """lr_e = lr_0 · λ(e), for a function λ (or one per parameter group).

    The functions are not part of ``state_dict``: rebuild the scheduler with them
    and then load the state.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * n
        else:
            self.lr_lambdas = list(lr_lambda)
            if len(self.lr_lambdas) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas, got {len(self.lr_lambdas)}")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch, group_index=0):
        return base_lr * self.lr_lambdas[group_index](epoch)


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at
    its epoch 0), and so on: e.g. a LinearLR warm-up followed by CosineAnnealingLR.

        lr_e = schedulers[i].lr_at(lr_0, e - milestones[i-1])   for milestones[i-1] <= e < milestones[i]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} "
                f"schedulers, got {len(milestones)}"
            )
        for s in schedulers:
            if s.optimizer is not optimizer:
                raise ValueError("SequentialLR: every scheduler must drive the same optimizer")
        self._schedulers = list(schedulers)
        self.milestones = list(milestones)
        for group in optimizer.param_groups:  # the sub-schedulers' own first steps changed lr
            group["lr"] = group["initial_lr"]
        super().__init__(optimizer, last_epoch)

    def _active(self, epoch):
        starts = [0] + self.milestones
        i = sum(epoch >= m for m in self.milestones)
        return self._schedulers[i], epoch - starts[i]

    def lr_at(self, base_lr, epoch, group_index=0):
        scheduler, local_epoch = self._active(epoch)
        return scheduler.lr_at(base_lr, local_epoch, group_index)

    def step(self) -> None:
        self.last_epoch += 1
        scheduler, local_epoch = self._active(self.last_epoch)
        scheduler.last_epoch = local_epoch
        self._set(self.get_lr())
        scheduler._last_lr = self.get_last_lr()

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        for s, sub in zip(self._schedulers, state.pop("schedulers", [])):
            s.load_state_dict(sub)
        super().load_state_dict(state)
