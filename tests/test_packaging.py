"""The package installs as designed: `kernels/` becomes `minigrad.kernels`, data files ship."""

import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def declared_packages():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), config["package-dir"]


def test_every_subpackage_is_declared():
    """pyproject lists packages by hand (for the kernels mapping): none may be forgotten."""
    packages, _ = declared_packages()
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "minigrad").rglob("__init__.py")}
    found |= {"minigrad.kernels"} if (ROOT / "kernels" / "__init__.py").exists() else set()
    assert found <= packages, f"add to [tool.setuptools] packages: {sorted(found - packages)}"


def test_kernels_is_a_subpackage_not_a_top_level_module():
    import minigrad.kernels

    assert pathlib.Path(minigrad.kernels.__file__).parent == ROOT / "kernels"
    assert "kernels" not in sys.modules or sys.modules["kernels"] is minigrad.kernels


def test_wheel_contains_kernels_and_embedded_data(tmp_path):
    """`pip install .` (a wheel) must carry minigrad/kernels and the MNIST subset."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "minigrad/kernels/__init__.py" in names
    assert not any(n.startswith("kernels/") for n in names)
    assert "minigrad/datasets/mnist_5k.npz" in names
