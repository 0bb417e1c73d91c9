"""python -m minigrad.serve: the Open Inference Protocol v2 server, on 127.0.0.1 only.

Each server runs in a thread of the test process on a free port (one subprocess
test checks the command line and SIGTERM). Request counts are small and bounded.

Batched and unbatched answers are compared with a float32 tolerance, not bit for
bit: BLAS sums a matrix product in a different order for a different number of
rows, so row i of ``X @ W`` can differ from ``X[i:i+1] @ W`` in the last bits.
"""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")
httpx = pytest.importorskip("httpx")

import minigrad as mg  # noqa: E402
from minigrad.models import save_model  # noqa: E402
from minigrad.nn import registry  # noqa: E402
from minigrad.nn.registry import TensorSpec  # noqa: E402
from minigrad.serve import (  # noqa: E402
    BackgroundServer,
    DynamicBatcher,
    QueueFull,
    ServeConfig,
    ServedModel,
    load_served_model,
)

TOL = dict(rtol=1e-5, atol=1e-6)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    mg.manual_seed(0)
    mlp = registry.get_model("mnist-mlp", hidden=32)
    save_model(mlp, d / "mlp.npz")
    lm = registry.get_model("transformer-lm", vocab_size=11, d_model=8, n_heads=2, n_layers=1,
                            d_ff=16, max_len=6)
    save_model(lm, d / "lm.npz")
    lstm = registry.get_model("lstm-classifier", vocab_size=12, num_classes=3, embed_dim=4, hidden_size=5)
    save_model(lstm, d / "lstm.npz")
    broken = registry.get_model("mnist-mlp", hidden=32)
    weights = broken.state_dict()
    weights["4.bias"] = np.full(10, np.nan, np.float32)  # a checkpoint with NaN weights
    broken.load_state_dict(weights)
    save_model(broken, d / "nan.npz")
    return d


def _parsers():
    try:
        import httptools  # noqa: F401
    except ImportError:
        return ["h11"]
    return ["h11", "httptools"]


def _start(files, http="auto"):
    models = {name: load_served_model(name, files / f"{name}.npz") for name in ("mlp", "lm", "lstm", "nan")}
    config = ServeConfig(max_batch_size=16, batch_delay_ms=20, max_body_bytes=100_000,
                         header_timeout_s=0.5, body_timeout_s=0.5, http=http)
    srv = BackgroundServer(models, config).start()
    srv.client = httpx.Client(base_url=srv.url, timeout=10)
    return srv


@pytest.fixture(scope="module")
def server(files):
    srv = _start(files)
    yield srv
    srv.client.close()
    srv.stop()


@pytest.fixture(scope="module", params=_parsers())
def parser_server(files, request):
    """A server per HTTP parser uvicorn can use (h11; httptools when installed), for the transport tests."""
    srv = _start(files, request.param)
    yield srv
    srv.client.close()
    srv.stop()


def images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32)


def infer_body(x, name="input", datatype="FP32", **extra):
    return {"inputs": [{"name": name, "shape": list(x.shape), "datatype": datatype,
                        "data": x.ravel().tolist()}], **extra}


def post(client, model, body, **kw):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/v2/models/{model}/infer", content=data, headers=kw.pop("headers", JSON), **kw)


def logits(response):
    assert response.status_code == 200, response.text
    out = response.json()["outputs"][0]
    return np.array(out["data"], np.float32).reshape(out["shape"])


def reference(server, name, *arrays):
    model = server.app.state.models[name].module
    with mg.no_grad():
        return model(*(mg.tensor(a) for a in arrays)).numpy()


def test_health_and_metadata(server):
    c = server.client
    assert (c.get("/v2/health/live").status_code, c.get("/v2/health/live").json()) == (200, {"live": True})
    assert c.get("/v2/health/ready").json() == {"ready": True}
    assert c.get("/v2").json()["name"] == "minigrad"
    meta = c.get("/v2/models/mlp").json()
    assert meta == {"name": "mlp", "versions": ["1"], "platform": "minigrad",
                    "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}],
                    "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}]}
    assert c.get("/v2/models/lm").json()["inputs"] == [{"name": "input_ids", "datatype": "INT64",
                                                        "shape": [-1, -1]}]
    assert c.get("/v2/models/mlp/versions/1").json() == meta
    assert c.get("/v2/models/mlp/ready").json() == {"name": "mlp", "ready": True}
    for path in ("/v2/models/nope", "/v2/models/nope/ready", "/v2/models/mlp/versions/2", "/nowhere"):
        r = c.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/json", path
        assert r.json()["error"]
    r = c.get("/v2/models/mlp/infer")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]


def test_infer_matches_the_model(server):
    x = images(3)
    r = post(server.client, "mlp", infer_body(x, id="req-7"))
    body = r.json()
    assert body["model_name"] == "mlp" and body["id"] == "req-7"
    assert body["outputs"][0]["datatype"] == "FP32" and body["outputs"][0]["shape"] == [3, 10]
    np.testing.assert_allclose(logits(r), reference(server, "mlp", x), **TOL)
    nested = {"inputs": [{"name": "input", "shape": [3, 1, 28, 28], "datatype": "FP32", "data": x.tolist()}]}
    assert post(server.client, "mlp", nested).json()["outputs"] == body["outputs"]
    # outputs selection, and the versioned path
    r = server.client.post("/v2/models/mlp/versions/1/infer", headers=JSON,
                           json=infer_body(x, outputs=[{"name": "logits"}]))
    assert r.json()["outputs"] == body["outputs"]


def test_infer_sequence_models(server):
    ids = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.int64)
    r = post(server.client, "lm", infer_body(ids, "input_ids", "INT64"))
    assert logits(r).shape == (2, 4, 11)
    np.testing.assert_allclose(logits(r), reference(server, "lm", ids), **TOL)
    tokens, lengths = np.array([[1, 2, 3], [4, 5, 0]]), np.array([3, 2])
    body = {"inputs": [{"name": "tokens", "shape": [2, 3], "datatype": "INT64", "data": tokens.ravel().tolist()},
                       {"name": "lengths", "shape": [2], "datatype": "INT64", "data": lengths.tolist()}]}
    np.testing.assert_allclose(logits(post(server.client, "lstm", body)),
                               reference(server, "lstm", tokens, lengths), **TOL)


def _bad(field="input", shape=(1, 1, 28, 28), datatype="FP32", data=None):
    data = [0.0] * math.prod(shape) if data is None else data
    return {"inputs": [{"name": field, "shape": list(shape), "datatype": datatype, "data": data}]}


BAD_REQUESTS = {
    "malformed JSON": (b'{"inputs": [', "not valid JSON"),
    "not UTF-8": (b'\xff\xfe{}', "not valid"),
    "not an object": (b"[1, 2]", "JSON object"),
    "no inputs": ({"id": "x"}, "'inputs' must be a non-empty list"),
    "inputs not objects": ({"inputs": [3]}, "inputs[0] must be a JSON object"),
    "missing keys": ({"inputs": [{"name": "input"}]}, "missing ['shape', 'datatype', 'data']"),
    "unknown input": (_bad(field="image"), "no input named 'image'"),
    "name not a string": (_bad(field=["input"]), "'name' and 'datatype' must be strings"),
    "datatype a list": (_bad(datatype=["FP32"]), "'name' and 'datatype' must be strings"),
    "parameters not an object": ({"inputs": [{**_bad()["inputs"][0], "parameters": [1]}]},
                                 "'parameters' must be a JSON object"),
    "wrong datatype": (_bad(datatype="FP64"), "datatype 'FP64' does not match the model's 'FP32'"),
    "wrong rank": (_bad(shape=(1, 784)), "shape [1, 784] has 2 dimensions, the model expects 4"),
    "wrong dim": (_bad(shape=(1, 1, 28, 27)), "dimension 3 must be 28"),
    "negative dim": (_bad(shape=(-1, 1, 28, 28), data=[0.0] * 784), "non-negative integers"),
    "empty batch": (_bad(shape=(0, 1, 28, 28)), "no elements"),
    "too few values": (_bad(data=[0.0] * 783), "'data' has 783 elements, shape [1, 1, 28, 28] needs 784"),
    "nested too shallow": (_bad(data=[[0.0] * 784]), "784 entries at depth 1, shape [1, 1, 28, 28] says 1"),
    "string value": (_bad(data=["7"] + [0.0] * 783), 'element 0 of \'data\' is "7", expected a number'),
    "boolean value": (_bad(data=[0.0, True] + [0.0] * 782), "element 1 of 'data' is true"),
    "null value": (_bad(data=[None] * 784), "is null"),
    "object value": (_bad(data=[{"a": {"b": 1}}] + [0.0] * 783), "element 0 of 'data' is an object"),
    "ragged nesting": (_bad(shape=(1, 1, 28, 28), data=[[[[0.0] * 28] * 27 + [[0.0] * 27]]]),
                       "27 entries at depth 3"),
    "too big for FP32": (_bad(data=[1e39] + [0.0] * 783), "element 0 of 'data' is not a finite FP32"),
    "huge integer": (_bad(data=[10 ** 400] + [0.0] * 783), "outside the range of FP32"),
    "NaN literal": (b'{"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": [NaN]}]}',
                    "NaN is not a JSON number"),
    "thousands of digits": (b'{"inputs": [{"data": [' + b"9" * 5000 + b"]}]}", "not valid JSON"),
    "deep JSON": (b"[" * 100_000 + b"]" * 100_000, None),
    "two inputs same name": ({"inputs": _bad()["inputs"] * 2}, "given twice"),
    "id not a string": ({**_bad(), "id": 3}, "'id' must be a string"),
    "unknown output": ({**_bad(), "outputs": [{"name": "probs"}]}, "asks for ['probs']"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_get_400_naming_the_problem(server, case):
    body, words = BAD_REQUESTS[case]
    r = post(server.client, "mlp", body)
    expected = 413 if case == "deep JSON" else 400  # 200 kB of brackets is over this server's limit
    assert r.status_code == expected, r.text
    assert r.headers["content-type"] == "application/json"
    if words:
        assert words in r.json()["error"], r.json()


def test_deep_json_within_the_size_limit(server):
    r = post(server.client, "mlp", b"[" * 40_000 + b"]" * 40_000)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def binary_request(x, datatype="FP32", name="input", size=None, extra=b""):
    """A request of the binary tensor data extension (tritonclient's default)."""
    header = json.dumps({"inputs": [{"name": name, "shape": list(x.shape), "datatype": datatype,
                                     "parameters": {"binary_data_size": size or x.nbytes}}]}).encode()
    headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))}
    return header + x.astype(x.dtype.newbyteorder("<")).tobytes() + extra, headers


def test_binary_tensor_data_extension(server):
    x = images(2)
    body, headers = binary_request(x)
    r = post(server.client, "mlp", body, headers=headers)
    np.testing.assert_allclose(logits(r), reference(server, "mlp", x), **TOL)
    ids = np.array([[1, 2, 3]], np.int64)
    body, headers = binary_request(ids, "INT64", "input_ids")
    np.testing.assert_allclose(logits(post(server.client, "lm", body, headers=headers)),
                               reference(server, "lm", ids), **TOL)
    for (body, headers), words in [
        (binary_request(x, size=7), "binary_data_size 7 does not match"),
        (binary_request(x, extra=b"\0" * 4), "carries 6276 bytes of binary tensor data"),
        (binary_request(np.full((1, 1, 28, 28), np.nan, np.float32)), "not a finite FP32"),
        (binary_request(np.array([[1, 99]], np.int64), "INT64", "input_ids"), "outside 0..10"),
    ]:
        model = "lm" if b"input_ids" in body else "mlp"
        r = post(server.client, model, body, headers=headers)
        assert r.status_code == 400 and words in r.json()["error"], r.json()
    body, headers = binary_request(x)
    headers["Inference-Header-Content-Length"] = str(len(body) + 1)
    assert "invalid Inference-Header-Content-Length" in post(server.client, "mlp", body, headers=headers).text


def test_model_specific_checks(server):
    out_of_vocab = {"inputs": [{"name": "input_ids", "shape": [1, 2], "datatype": "INT64", "data": [3, 11]}]}
    r = post(server.client, "lm", out_of_vocab)
    assert r.status_code == 400 and "element 1 of 'data' is 11, outside 0..10" in r.json()["error"]
    too_long = {"inputs": [{"name": "input_ids", "shape": [1, 7], "datatype": "INT64", "data": [1] * 7}]}
    r = post(server.client, "lm", too_long)
    assert r.status_code == 400 and "max_len 6" in r.json()["error"]
    float_ids = {"inputs": [{"name": "input_ids", "shape": [1, 1], "datatype": "INT64", "data": [1.5]}]}
    assert "expected an integer" in post(server.client, "lm", float_ids).json()["error"]
    big = {"inputs": [{"name": "input_ids", "shape": [1, 1], "datatype": "INT64", "data": [2 ** 70]}]}
    assert "outside INT64's range" in post(server.client, "lm", big).json()["error"]
    body = {"inputs": [{"name": "tokens", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]},
                       {"name": "lengths", "shape": [1], "datatype": "INT64", "data": [4]}]}
    r = post(server.client, "lstm", body)
    assert r.status_code == 400 and "'lengths' must lie in 1..3" in r.json()["error"]
    body["inputs"] = body["inputs"][:1]
    assert "missing inputs ['lengths']" in post(server.client, "lstm", body).json()["error"]


def test_transport_errors(parser_server):
    server = parser_server
    c = server.client
    x = infer_body(images(1))
    r = post(c, "mlp", x, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert post(c, "mlp", x, headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 200
    r = post(c, "mlp", b" " * 100_001)
    assert r.status_code == 413 and "100000 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(30):
            yield b" " * 4096

    r = c.post("/v2/models/mlp/infer", content=chunks(), headers=JSON)
    assert r.status_code == 413
    with socket.create_connection((server.host, server.port), timeout=5) as s:  # refused before reading
        s.sendall(b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000000\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 413")
    r = post(c, "nope", x)
    assert r.status_code == 404 and "unknown model 'nope'" in r.json()["error"]


def test_non_finite_output_is_an_error_not_invalid_json(server):
    r = post(server.client, "nan", infer_body(images(2)))
    assert r.status_code == 500
    assert "non-finite" in json.loads(r.content)["error"]  # strict JSON parses it


def test_concurrent_requests_match_serial_ones_and_get_batched(server):
    xs = [images(1 + i % 3, seed=i) for i in range(24)]
    serial = [logits(post(server.client, "mlp", infer_body(x))) for x in xs]

    def one(x):  # httpx.Client is thread-safe: one connection pool for all threads
        return logits(post(server.client, "mlp", infer_body(x)))

    with ThreadPoolExecutor(16) as pool:
        concurrent = list(pool.map(one, xs))
    for a, b, x in zip(serial, concurrent, xs):
        assert a.shape == b.shape == (len(x), 10)
        np.testing.assert_allclose(b, a, **TOL)
    metrics = server.client.get("/metrics").text
    counts = {}
    for line in metrics.splitlines():
        if line.startswith("minigrad_batch_size_bucket") and 'model="mlp"' in line:
            counts[float(line.split('le="')[1].split('"')[0])] = float(line.split()[-1])
    total = counts[math.inf]
    assert counts[4.0] < total, f"no forward pass had more than 4 rows: {counts}"
    assert 'minigrad_inference_requests_total{code="200",model="mlp"}' in metrics
    assert "minigrad_inference_request_duration_seconds_bucket" in metrics


def test_a_request_gets_the_same_answer_batched_or_alone():
    x = images(5)
    model = registry.get_model("mnist-mlp", hidden=32).eval()
    served = load_served_model_from(model)
    seen = []
    batcher = DynamicBatcher(lambda a: (seen.append(len(a["input"])), served.run(a))[1],
                             max_batch_size=8, batch_delay=0.2)
    futures = [batcher.submit({"input": x[i:i + 1]}) for i in range(5)]
    batched = np.concatenate([f.result(5)["logits"] for f in futures])
    batcher.close()
    assert seen == [5]  # one forward pass for the five requests
    alone = np.concatenate([served.run({"input": x[i:i + 1]})["logits"] for i in range(5)])
    np.testing.assert_allclose(batched, alone, **TOL)


def load_served_model_from(module):
    from minigrad.serve.models import MinigradModel

    name, config = registry.model_config(module)
    return MinigradModel("m", module, name, config)


class SlowModel(ServedModel):
    """Echoes its input after ``release`` is set; ``started`` tells a forward began."""

    name, platform = "slow", "test"
    inputs = (TensorSpec("x", "FP32", (-1, 2)),)
    outputs = (TensorSpec("y", "FP32", (-1, 2)),)

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def run(self, arrays):
        self.started.set()
        assert self.release.wait(10)
        return {"y": arrays["x"] * 2}


def slow_body():
    return {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def test_full_queue_answers_503_and_shutdown_drains_in_flight_requests(http):
    model = SlowModel()
    srv = BackgroundServer({"slow": model}, ServeConfig(max_batch_size=1, batch_delay_ms=0, max_queue=1)).start()
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(lambda: http.post(srv.url + "/v2/models/slow/infer", json=slow_body(), timeout=10))
        assert model.started.wait(5)  # the worker holds the first request
        second = pool.submit(lambda: http.post(srv.url + "/v2/models/slow/infer", json=slow_body(), timeout=10))
        deadline = time.monotonic() + 5
        while srv.app.state.batchers["slow"].queue_depth < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        r = http.post(srv.url + "/v2/models/slow/infer", json=slow_body(), timeout=10)
        assert r.status_code == 503 and "queue is full" in r.json()["error"]
        assert http.get(srv.url + "/v2/health/live").status_code == 200  # the loop is not blocked
        stopper = pool.submit(srv.stop)  # graceful: waits for the two requests in flight
        time.sleep(0.3)
        assert not stopper.done()
        model.release.set()
        stopper.result(10)
        for f in (first, second):
            assert f.result().status_code == 200 and f.result().json()["outputs"][0]["data"] == [2, 4]
    assert not srv._thread.is_alive()


def test_batcher_queue_limit():
    gate = threading.Event()
    batcher = DynamicBatcher(lambda a: (gate.wait(5), a)[1], max_batch_size=1, batch_delay=0, max_queue=1)
    held = batcher.submit({"x": np.zeros((1, 1))})
    time.sleep(0.05)
    queued = batcher.submit({"x": np.ones((1, 1))})
    with pytest.raises(QueueFull):
        batcher.submit({"x": np.ones((1, 1))})
    gate.set()
    assert held.result(5)["x"][0, 0] == 0 and queued.result(5)["x"][0, 0] == 1
    batcher.close()
    with pytest.raises(QueueFull, match="shutting down"):
        batcher.submit({"x": np.ones((1, 1))})


def test_one_failing_request_does_not_fail_its_batch():
    def run(a):
        if np.any(a["x"] < 0):
            raise ValueError("negative")
        return {"y": a["x"] + 1}

    batcher = DynamicBatcher(run, max_batch_size=8, batch_delay=0.2)
    futures = [batcher.submit({"x": np.full((1, 1), v)}) for v in (1.0, -1.0, 2.0)]
    assert futures[0].result(5)["y"][0, 0] == 2 and futures[2].result(5)["y"][0, 0] == 3
    with pytest.raises(ValueError, match="negative"):
        futures[1].result(5)
    batcher.close()


def test_api_key(http):
    model = SlowModel()
    model.release.set()
    with BackgroundServer({"slow": model}, ServeConfig(api_key="s3cret")) as srv:
        url = srv.url + "/v2/models/slow/infer"
        r = http.post(url, json=slow_body())
        assert r.status_code == 401 and "Bearer" in r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"
        assert http.post(url, json=slow_body(), headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get(srv.url + "/v2/models/slow").status_code == 401
        assert http.get(srv.url + "/metrics").status_code == 401
        assert http.post(url, json=slow_body(), headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert http.get(srv.url + "/v2/health/ready").status_code == 200  # probes need no key


def test_slow_clients_are_cut_off(parser_server):
    server = parser_server
    host, port = server.host, server.port
    with socket.create_connection((host, port), timeout=5) as s:  # headers never finish
        s.sendall(b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        assert s.recv(100) == b""  # closed by the server
        assert time.monotonic() - start < 3
    with socket.create_connection((host, port), timeout=5) as s:  # body never finishes
        s.sendall(b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"inputs\"")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in reply


def test_connection_limit_answers_json_503():
    model = SlowModel()
    model.release.set()
    with BackgroundServer({"slow": model}, ServeConfig(max_connections=2)) as srv:
        idle = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.2)
            with socket.create_connection((srv.host, srv.port), timeout=5) as s:
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
            assert reply.startswith(b"HTTP/1.1 503")
            assert "open connections" in json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]
        finally:
            for s in idle:
                s.close()
        time.sleep(0.2)
        assert httpx.get(srv.url + "/v2/health/live").status_code == 200


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line(files, tmp_path):
    from minigrad.serve.__main__ import main

    with pytest.raises(SystemExit) as exit_info:  # reachable from other machines, no key
        main(["--model", f"m={files / 'mlp.npz'}", "--host", "0.0.0.0"])
    assert exit_info.value.code == 2
    assert main(["--model", f"m={tmp_path / 'missing.npz'}"]) == 2
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "minigrad.serve", "--model", f"mnist={files / 'mlp.npz'}",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.1)
        r = httpx.post(f"http://127.0.0.1:{port}/v2/models/mnist/infer", json=infer_body(images(1)))
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        out = proc.stdout.read().decode()
        assert "serving the Open Inference Protocol v2" in out and "server stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
