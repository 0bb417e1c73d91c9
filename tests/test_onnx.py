"""minigrad.onnx.export: the file passes onnx.checker and onnxruntime gives the model's outputs."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import minigrad as mg  # noqa: E402
import minigrad.onnx as mgonnx  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.nn import registry  # noqa: E402

ATOL = 1e-5


def run_ort(path, x, name="input"):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: np.asarray(x)})[0]


def run_minigrad(model, x):
    with mg.no_grad():
        return model.eval()(mg.tensor(x)).numpy()


def check(model, example, path, other=None, **kw):
    """Export, check the file, compare with onnxruntime on the example and on another batch."""
    proto = mgonnx.export(model, mg.tensor(example), path, **kw)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.opset_import[0].version == kw.get("opset_version", 17)
    for x in (example,) if other is None else (example, other):
        np.testing.assert_allclose(run_ort(path, x), run_minigrad(model, x), atol=ATOL, rtol=1e-5)


@pytest.fixture(autouse=True)
def seed():
    mg.manual_seed(0)


def images(n, c=1, side=28):
    return np.random.default_rng(n).standard_normal((n, c, side, side)).astype(np.float32)


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-cnn"])
def test_mnist_models_with_dynamic_batch(tmp_path, name):
    config = {"channels": [4, 6], "hidden": 16} if name == "mnist-cnn" else {}
    model = registry.get_model(name, **config)
    check(model, images(2), tmp_path / "m.onnx", other=images(5))
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_every_simple_layer(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
        nn.AvgPool2d(2, padding=1), nn.Conv2d(4, 4, 3, padding=2, dilation=2), nn.Sigmoid(),
        nn.MaxPool2d(2, stride=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(4, 8), nn.GELU(), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 6, bias=False),
        nn.GELU(approximate="tanh"), nn.BatchNorm1d(6), nn.Identity(), nn.ReLU(), nn.Linear(6, 5),
        nn.LogSoftmax(dim=1))
    model.train()
    for _ in range(3):  # give BatchNorm running statistics that are not 0 and 1
        model(mg.tensor(images(8, 3, 12)))
    mgonnx.export(model, mg.tensor(images(2, 3, 12)), tmp_path / "all.onnx")
    assert model.training, "export leaves the mode as it found it"
    check(model, images(2, 3, 12), tmp_path / "all.onnx", other=images(3, 3, 12))
    check(nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=-1)), np.ones((2, 4), np.float32), tmp_path / "s.onnx")


def test_embedding_and_transformer_lm(tmp_path):
    emb = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    check(emb, np.array([[1, 2], [3, 9]]), tmp_path / "e.onnx", other=np.array([[0, 0], [5, 6], [7, 8]]))
    lm = registry.get_model("transformer-lm", vocab_size=13, d_model=16, n_heads=4, n_layers=2, d_ff=32,
                            max_len=10)
    axes = {"input": {0: "batch", 1: "sequence"}, "output": {0: "batch", 1: "sequence"}}
    check(lm, np.array([[1, 2, 3], [4, 5, 6]]), tmp_path / "lm.onnx",
          other=np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] * 3), dynamic_axes=axes)


@pytest.mark.parametrize("readout", ["last step", "masked mean"])
def test_lstm_classifier_with_lengths(tmp_path, readout):
    model = registry.get_model("lstm-classifier", vocab_size=12, num_classes=3, embed_dim=4,
                               hidden_size=5, readout=readout).eval()
    axes = {"tokens": {0: "batch", 1: "seq"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}
    path = tmp_path / "lstm.onnx"
    mgonnx.export(model, (np.array([[1, 2, 3]]), np.array([3])), path, input_names=["tokens", "lengths"],
                  output_names=["logits"], dynamic_axes=axes)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokens, lengths = np.array([[1, 2, 3, 4, 5], [6, 7, 0, 0, 0], [8, 0, 0, 0, 0]]), np.array([5, 2, 1])
    with mg.no_grad():
        expected = model(mg.tensor(tokens), lengths).numpy()
    got = session.run(None, {"tokens": tokens, "lengths": lengths})[0]
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=1e-5)


def test_errors(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="no ONNX conversion for Custom"):
        mgonnx.export(nn.Sequential(nn.Linear(2, 2), Custom()), mg.ones(1, 2), tmp_path / "x.onnx")
    with pytest.raises(NotImplementedError, match="Flatten"):
        mgonnx.export(nn.Flatten(0), mg.ones(1, 2), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="opset 13"):
        mgonnx.export(nn.Linear(2, 2), mg.ones(1, 2), tmp_path / "x.onnx", opset=13)
    assert not (tmp_path / "x.onnx").exists()


def test_serve_an_onnx_file(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    httpx = pytest.importorskip("httpx")
    from minigrad.serve import BackgroundServer, load_served_model

    model = registry.get_model("mnist-mlp", hidden=16).eval()
    mgonnx.export(model, mg.tensor(images(1)), tmp_path / "mlp.onnx")
    served = load_served_model("mnist", tmp_path / "mlp.onnx")
    assert served.platform == "onnxruntime_onnx"
    x = images(3)
    with BackgroundServer({"mnist": served}) as server:
        meta = httpx.get(server.url + "/v2/models/mnist").json()
        assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
        r = httpx.post(server.url + "/v2/models/mnist/infer", json={"inputs": [
            {"name": "input", "shape": [3, 1, 28, 28], "datatype": "FP32", "data": x.ravel().tolist()}]})
    out = r.json()["outputs"][0]
    assert out["name"] == "output" and out["shape"] == [3, 10]
    np.testing.assert_allclose(np.array(out["data"]).reshape(3, 10), run_minigrad(model, x), atol=ATOL)


def test_grouped_conv_and_pooling_options_match_onnxruntime(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=False),
    ).eval()
    x = mg.randn(2, 4, 11, 11)
    check(model, x, tmp_path / "m.onnx")
    with pytest.raises(NotImplementedError, match="padding_mode"):
        mgonnx.export(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")).eval(),
                      mg.randn(1, 1, 5, 5), tmp_path / "r.onnx")
