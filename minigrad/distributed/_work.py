"""``Work``: the handle of a collective started with ``async_op=True`` (PyTorch's name)."""

from __future__ import annotations

import time

__all__ = ["Work", "CollectiveTimeout"]


class CollectiveTimeout(RuntimeError):
    """A collective did not finish within the process group's ``timeout``."""


class Work:
    """A collective in flight. ``wait()`` blocks until it is done; ``is_completed()`` asks.

    ``test`` is a function that returns True once the transfer has finished (for
    MPI, ``request.Test``); ``finish`` runs once after that, on the caller's side
    (e.g. the division of ``ReduceOp.AVG``, or copying gathered pieces out). The
    wait polls ``test`` against the group's deadline, so a rank whose peers died
    or never joined gets a clear `CollectiveTimeout` instead of hanging.
    """

    def __init__(self, name: str, test, finish=None, timeout: float | None = None, result=None):
        self.name = name
        self._test = test
        self._finish = finish
        self._timeout = timeout
        self._done = False
        self._result = result

    @classmethod
    def completed(cls, name: str, result=None) -> Work:
        """A Work for something that already finished (e.g. a world of one process)."""
        work = cls(name, lambda: True, result=result)
        work.wait()
        return work

    def is_completed(self) -> bool:
        """True once the collective has finished (never blocks)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the collective has finished; returns True (as PyTorch does).

        Raises `CollectiveTimeout` after ``timeout`` seconds (default: the
        process group's timeout), naming the collective.
        """
        if self._done:
            return True
        limit = self._timeout if timeout is None else timeout
        deadline = None if limit is None else time.monotonic() + limit
        spins = 0
        while not self._test():
            spins += 1
            if spins % 1024 == 0:
                if deadline is not None and time.monotonic() > deadline:
                    raise CollectiveTimeout(
                        f"minigrad.distributed: {self.name} did not finish within {limit:g} s: "
                        "another rank is stuck, died, or called a different collective"
                    )
                time.sleep(0)  # let the other ranks have the core (2 ranks on 2 cores here)
        self._complete()
        return True

    def result(self):
        """What the collective produced (the output list for gathers), after ``wait()``."""
        self.wait()
        return self._result

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
