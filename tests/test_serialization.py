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
        minigrad.save([np.zeros(2)], "unused.npz")
    with pytest.raises(TypeError, match=r"whole Linear module.*save\(model.state_dict\(\), path\)"):
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


def test_checkpoint_error_is_a_value_error_and_exported():
    assert issubclass(minigrad.serialization.CheckpointError, ValueError)


def test_load_of_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        minigrad.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        minigrad.load(tmp_path)


def test_max_bytes_is_validated_and_applies_to_the_total(tmp_path):
    path = tmp_path / "ck.npz"
    minigrad.save({"a": np.zeros(100), "b": np.zeros(100)}, path)  # 2 x (800 + 128 header)
    assert set(minigrad.load(path, max_bytes=4000)) == {"a", "b"}
    with pytest.raises(minigrad.serialization.CheckpointError,
                       match=r"entry 'a' declares 928 bytes.*total to 1,2\d\d bytes.*limit of "
                             r"1,000 bytes \(max_bytes\)"):
        minigrad.load(path, max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        minigrad.load(path, max_bytes=-1)


def test_zero_size_0d_fortran_and_dtypes_round_trip(tmp_path):
    obj = {"empty": np.zeros((0, 3), np.float32), "scalar": np.array(2.5),
           "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
           "ints": np.arange(4, dtype=np.int64), "mask": np.array([True, False]),
           "half": np.ones(2, np.float16)}
    for suffix in (".npz", ".safetensors"):
        if suffix == ".safetensors":
            pytest.importorskip("safetensors")
        path = tmp_path / f"ck{suffix}"
        minigrad.save(obj, path)
        assert path.read_bytes()[:2] == b"PK" if suffix == ".npz" else path.read_bytes()[8:9] == b"{"
        back = minigrad.load(path)
        for key, value in obj.items():
            assert back[key].dtype == value.dtype and back[key].shape == value.shape, key
            np.testing.assert_array_equal(back[key], value)


# ----------------------------------------------------------------------------- safetensors


def test_safetensors_round_trip_keeps_the_nested_structure(tmp_path):
    pytest.importorskip("safetensors")
    obj = {"model": {"w": minigrad.tensor([[1.0, 2.0]])},
           "optimizer": {"state": {0: {"step": 4, "exp_avg": np.ones(2)}},
                         "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
           "epoch": 7}
    path = tmp_path / "ck.safetensors"
    minigrad.save(obj, path)
    back = minigrad.load(path)
    np.testing.assert_array_equal(back["model"]["w"], [[1.0, 2.0]])
    assert back["optimizer"]["state"][0]["step"] == 4
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["epoch"] == 7
    import safetensors.numpy

    plain = safetensors.numpy.load_file(path)  # readable by the library itself
    assert set(plain) == {"model/w", "optimizer/state/0/exp_avg"}
    renamed = tmp_path / "weights.bin"  # the format comes from the content, not the name
    renamed.write_bytes(path.read_bytes())
    assert minigrad.load(renamed)["epoch"] == 7


def test_weights_in_pytorchs_safetensors_layout_give_the_same_outputs(tmp_path, rng):
    """A file as ``safetensors.torch.save_file(nn.Sequential(...).state_dict())`` writes it."""
    st = pytest.importorskip("safetensors.numpy")
    torch_state = {"0.weight": rng.standard_normal((8, 4)).astype(np.float32),
                   "0.bias": rng.standard_normal(8).astype(np.float32),
                   "2.weight": rng.standard_normal((3, 8)).astype(np.float32),
                   "2.bias": rng.standard_normal(3).astype(np.float32)}
    path = tmp_path / "model.safetensors"
    st.save_file(torch_state, path, metadata={"format": "pt"})
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model.load_state_dict(minigrad.load(path))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    hidden = np.maximum(x @ torch_state["0.weight"].T + torch_state["0.bias"], 0)
    expected = hidden @ torch_state["2.weight"].T + torch_state["2.bias"]
    with minigrad.no_grad():
        got = model(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert set(minigrad.load(path)) == set(torch_state)


def test_safetensors_missing_gives_the_install_command(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "minigrad-edu\[serve\]"'):
        minigrad.save({"w": np.zeros(2)}, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("case, message", [
    ("truncated", r"a safetensors header of \d+ bytes is declared but the file has|cannot be read"),
    ("short_data", r"a safetensors file that cannot be read"),
    ("bad_json", r"a safetensors file whose header is not valid"),
    ("missing_tensor", r"refers to tensor 'nope', which the file does not have"),
    ("over_limit", r"entry 'w' declares 800 bytes.*limit of 100 bytes"),
    ("not_safetensors", r"not a safetensors file \(5 bytes"),
])
def test_hostile_safetensors_files_give_one_clear_error(tmp_path, case, message):
    st = pytest.importorskip("safetensors.numpy")
    good = st.save({"w": np.zeros(100)})
    header_len = int.from_bytes(good[:8], "little")
    data = {
        "truncated": good[:20],
        "short_data": good[:-8],
        "bad_json": good[:8] + b"{" + b"x" * (header_len - 1) + good[8 + header_len:],
        "missing_tensor": st.save({"w": np.zeros(1)}, metadata={
            "__minigrad_structure__": '{"dict": [["w", {"array": "nope"}]]}'}),
        "over_limit": good,
        "not_safetensors": b"hello",
    }[case]
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    kwargs = {"max_bytes": 100} if case == "over_limit" else {}
    with pytest.raises(minigrad.serialization.CheckpointError, match=message):
        minigrad.load(path, **kwargs)
