"""minigrad.backend: the host-memory setting (keep_freed_memory)."""

import subprocess
import sys
import textwrap

import pytest

from minigrad import backend

STEPS = textwrap.dedent("""
    import resource
    import minigrad as mg, minigrad.nn as nn
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.GELU(), nn.Linear(1024, 256), nn.LayerNorm(256))
    opt = mg.optim.AdamW(model.parameters())
    x = mg.randn(512, 256)
    def step():
        opt.zero_grad(); (model(x) ** 2).mean().backward(); opt.step()
    step(); step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 10)
""")


def _page_faults_per_step(keep: str) -> int:
    env = {"MINIGRAD_KEEP_FREED_MEMORY": keep, "OMP_NUM_THREADS": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not backend.keep_freed_memory(), reason="needs Linux with glibc")
def test_freed_blocks_are_reused_instead_of_page_faulted_back():
    """Each step frees and re-allocates the same ~2 MB arrays: by default glibc returns them
    to the OS and every page faults back in (thousands per step); kept, almost none."""
    kept, returned = _page_faults_per_step("1"), _page_faults_per_step("0")
    assert returned > 500, returned  # the default really does fault (else this test proves nothing)
    assert kept < returned / 10, (kept, returned)


def test_the_setting_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("MINIGRAD_KEEP_FREED_MEMORY", "0")
    assert backend.keep_freed_memory() is False
