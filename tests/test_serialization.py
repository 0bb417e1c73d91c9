"""minigrad.save / minigrad.load: npz checkpoints, nested dicts, atomic writes, no pickle."""

import os
import zipfile

import numpy as np
import pytest

import minigrad
from minigrad import nn

pytestmark = pytest.mark.serving


def test_flat_state_dict_is_a_plain_npz(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    path = tmp_path / "model.npz"
    minigrad.save(model.state_dict(), path)
    with np.load(path) as npz:  # readable without minigrad, keys are the parameter names
        assert set(npz.files) == {"0.weight", "0.bias", "2.weight", "2.bias",
                                  "__minigrad_structure__"}
        np.testing.assert_array_equal(npz["2.weight"], model[2].weight.numpy())
    loaded = minigrad.load(path)
    assert list(loaded) == list(model.state_dict())
    assert loaded["0.weight"].dtype == np.float32


def test_nested_structure_round_trips(tmp_path):
    obj = {
        "model": {"w": minigrad.tensor([[1.0, 2.0]]), "n": np.array(3, dtype=np.int64)},
        "optimizer": {"state": {0: {"step": 4, "exp_avg": np.ones(2)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0],
                                        "nesterov": False, "name": None}]},
        "epoch": 7,
        "note": "best so far",
    }
    minigrad.save(obj, tmp_path / "ck.npz")
    back = minigrad.load(tmp_path / "ck.npz")
    np.testing.assert_array_equal(back["model"]["w"], [[1.0, 2.0]])
    assert back["model"]["n"].dtype == np.int64
    assert list(back["optimizer"]["state"]) == [0]  # integer keys stay integers
    assert back["optimizer"]["state"][0]["step"] == 4
    assert back["optimizer"]["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "params": [0], "nesterov": False, "name": None}]
    assert back["epoch"] == 7 and back["note"] == "best so far"
    with zipfile.ZipFile(tmp_path / "ck.npz") as z:
        assert "optimizer/state/0/exp_avg.npy" in z.namelist()


def test_foreign_npz_loads_as_flat_dict(tmp_path):
    path = tmp_path / "exported.npz"
    np.savez(path, **{"fc.weight": np.ones((2, 3)), "fc.bias": np.zeros(2)})
    loaded = minigrad.load(path)
    assert set(loaded) == {"fc.weight", "fc.bias"}
    layer = nn.Linear(3, 2)
    layer.load_state_dict({k.removeprefix("fc."): v for k, v in loaded.items()})
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones((2, 3)))


def test_failed_save_leaves_previous_file_intact_and_no_temp_files(tmp_path):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.arange(3.0)}, path)
    with pytest.raises(TypeError, match="not the model"):
        minigrad.save({"w": np.zeros(3), "model": nn.Linear(2, 2)}, path)
    with pytest.raises(TypeError, match="Python objects"):
        minigrad.save({"w": np.array([object()])}, path)
    assert os.listdir(tmp_path) == ["ck.npz"]
    np.testing.assert_array_equal(minigrad.load(path)["w"], np.arange(3.0))


def test_crash_while_writing_keeps_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.arange(3.0)}, path)

    def half_write(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_write)
    with pytest.raises(OSError, match="disk full"):
        minigrad.save({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ck.npz"]  # the temp file was removed
    np.testing.assert_array_equal(minigrad.load(path)["w"], np.arange(3.0))


def test_save_errors():
    with pytest.raises(TypeError, match="expected a dict"):
        minigrad.save(nn.Linear(2, 2), "unused.npz")
    with pytest.raises(ValueError, match="may not contain '/'"):
        minigrad.save({"a/b": np.zeros(1)}, "unused.npz")
    assert not os.path.exists("unused.npz")


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"code": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        minigrad.load(path)


def test_keys_that_collide_as_strings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="collide"):
        minigrad.save({"a": {0: np.ones(1), "0": np.zeros(1)}}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
