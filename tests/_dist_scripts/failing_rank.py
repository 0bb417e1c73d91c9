"""Rank 1 raises while rank 0 waits in a collective: the job must end, not hang.

``mpiexec -n 2 python failing_rank.py raise``: rank 1 raises before its all_reduce.
``... mismatch``: the ranks build models of different shapes; DistributedDataParallel
raises the same ValueError on every rank, naming the parameter.
``... timeout``: rank 1 never calls the collective (sleeps); rank 0's all_reduce
must give up after the group's timeout (2 s here).
"""

import datetime
import sys
import time

import numpy as np

import minigrad.distributed as dist
from minigrad import nn
from minigrad.nn.parallel import DistributedDataParallel

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
rank = dist.get_rank()
if mode == "raise":
    if rank == 1:
        raise ValueError("rank 1 cannot read its shard")
    dist.all_reduce(np.ones(3))  # rank 0 waits here for a peer that is gone
elif mode == "mismatch":
    DistributedDataParallel(nn.Sequential(nn.Linear(3, 4 + rank)))
elif mode == "timeout":
    if rank == 1:
        time.sleep(30)
    dist.all_reduce(np.ones(3))
print(f"rank {rank} finished: this line must not be reached", flush=True)
