"""minigrad.distributed and DistributedDataParallel, on real MPI processes.

Each multi-process test runs a script of ``tests/_dist_scripts/`` under
``mpiexec -n 2`` in a subprocess with a timeout, so a hang fails the test instead of
the suite. They need ``pip install 'minigrad-edu[distributed]'`` (mpi4py and the
``mpich`` wheel, which puts ``mpiexec`` next to the interpreter) and skip without it.
The NCCL backend needs NVIDIA GPUs: here it runs on the CPU stand-in of CuPy with a fake
communicator (its bookkeeping, not NCCL), and its clear error without CuPy is tested.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.distributed as dist
from minigrad import nn

SCRIPTS = Path(__file__).resolve().parent / "_dist_scripts"
ROOT = Path(__file__).resolve().parent.parent
INSTALL = "pip install 'minigrad-edu[distributed]'"


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None or not dist.is_mpi_available():
        pytest.skip(f"needs mpi4py and mpiexec: {INSTALL}")
    return found


def run_mpi(args, n=2, timeout=30):
    """``mpiexec -n n python args...`` from the repository root; returns (result, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    start = time.monotonic()
    result = subprocess.run([_mpiexec(), "-n", str(n), sys.executable, *map(str, args)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - start


def _ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


# --------------------------------------------------------------------------- on two processes


def test_collectives_every_op_dtype_and_size():
    """all_reduce (SUM/PRODUCT/MIN/MAX/AVG, in place, no copy), broadcast, all_gather,
    reduce_scatter, async Work, object collectives: 0-d to 2 MiB, float32/float64/int64."""
    result, _ = run_mpi([SCRIPTS / "collectives.py"])
    _ok(result)
    assert "collectives ok on 2 ranks" in result.stdout


def test_ddp_equals_the_big_batch_step():
    """SGD-momentum and Adam steps of DDP on 2 x B samples equal one process on 2B (float64,
    1e-12); no_sync accumulation; find_unused_parameters; rank 0's weights at construction."""
    result, _ = run_mpi([SCRIPTS / "ddp.py"])
    _ok(result)
    assert "ddp ok on 2 ranks" in result.stdout


def test_a_failing_rank_ends_the_job_with_its_error():
    result, seconds = run_mpi([SCRIPTS / "failing_rank.py", "raise"])
    assert result.returncode != 0
    assert "rank 1 cannot read its shard" in result.stderr
    assert "rank 1 of 2 stopped with ValueError" in result.stderr and "MPI.Abort" in result.stderr
    assert "must not be reached" not in result.stdout
    assert seconds < 25, f"the job took {seconds:.1f} s to stop"


def test_different_models_on_the_ranks_name_the_parameter():
    result, _ = run_mpi([SCRIPTS / "failing_rank.py", "mismatch"])
    assert result.returncode != 0
    assert "parameter '0.weight' has shape (4, 3) on rank 0 but (5, 3) on rank 1" in result.stderr


def test_a_collective_without_its_peer_times_out():
    result, seconds = run_mpi([SCRIPTS / "failing_rank.py", "timeout"])
    assert result.returncode != 0
    assert "all_reduce(sum) of float64 (3,) did not finish within 2 s" in result.stderr
    assert seconds < 25


@pytest.mark.parametrize("nccl_version", ["2.18", "2.9"])
def test_nccl_backend_on_the_cupy_standin(nccl_version):
    """NOT a substitute for a GPU: the NCCL backend's pointers, counts, dtypes, ops, AVG
    (native, or SUM + division before NCCL 2.10) and DDP on device arrays, carried out by a
    fake communicator over MPI on the CPU stand-in of CuPy (tests/_cupy_standin.py)."""
    args = [SCRIPTS / "nccl_standin.py"] + (["old"] if nccl_version == "2.9" else [])
    result, _ = run_mpi(args)
    _ok(result)
    assert "nccl stand-in ok on 2 ranks" in result.stdout


def test_mnist_example_distributed(tmp_path):
    """The main job on 2 processes: rank 0 alone reports and saves, both exit 0, and the
    saved file loads into a plain model (no 'module.' prefix)."""
    save = tmp_path / "model.npz"
    result, _ = run_mpi(["-m", "minigrad.examples.mnist", "--distributed", "--limit", "256",
                         "--epochs", "1", "--offline", "--no-plots", "--out", tmp_path / "out",
                         "--save", save], timeout=60)
    _ok(result)
    assert result.stdout.count("accuracy:") == 1, result.stdout  # one report, from rank 0
    assert result.stdout.count("epoch 1/1: train loss") == 1
    assert result.stdout.count("MNIST:") <= 1
    summary = (tmp_path / "out" / "metrics.json").read_text()
    assert '"processes": 2' in summary
    from minigrad.examples.mnist import build_model

    model = minigrad.load_model(save)  # a servable file: weights plus the builder's name
    assert list(model.state_dict()) == list(build_model("mlp").state_dict())


# --------------------------------------------------------------------------- in this process


def test_uninitialized_group_is_a_clear_error():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("gloo")


def test_nccl_without_cupy_says_what_to_install():
    if dist.is_nccl_available():
        pytest.skip("CuPy with NCCL is installed: the GPU tests cover the backend")
    with pytest.raises(ImportError, match="CuPy"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_buckets_respect_the_cap_and_reverse_order():
    from minigrad.nn.parallel import _build_buckets

    params = [nn.Parameter(np.zeros(n)) for n in (10, 20, 5, 100, 1)]  # float64: 8 bytes each
    buckets = _build_buckets(params, cap_bytes=8 * 30)
    assert [b.indices for b in buckets] == [[4], [3], [2, 1], [0]]
    assert [b.buffer.size for b in buckets] == [1, 100, 25, 10]
    assert buckets[2].offsets == [0, 5]
    mixed = [nn.Parameter(np.zeros(3, np.float32)), nn.Parameter(np.zeros(3, np.float64))]
    assert len(_build_buckets(mixed, cap_bytes=1 << 20)) == 2  # one dtype per bucket


def test_reduce_op_names_match_pytorch():
    assert {op.name for op in dist.ReduceOp} == {"SUM", "PRODUCT", "MIN", "MAX", "AVG"}
    assert repr(dist.ReduceOp.AVG) == "ReduceOp.AVG"


def test_mnist_example_distributed_stops_every_rank_on_a_non_finite_loss(tmp_path):
    """A diverging run ends on every rank with the message and exit 1, not with ranks
    waiting forever in the next all-reduce (the check is agreed over the ranks)."""
    result, seconds = run_mpi(["-m", "minigrad.examples.mnist", "--distributed", "--limit", "256",
                               "--epochs", "1", "--offline", "--no-plots", "--out", tmp_path / "out",
                               "--optimizer", "sgd", "--lr", "1e30"], timeout=60)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "the training loss became non-finite" in result.stderr, result.stderr[-3000:]
    assert seconds < 60
