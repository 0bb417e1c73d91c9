# %% [markdown]
# # 11. From model to service
#
# **What you will build.** A trained MNIST classifier that other programs call
# over HTTP. You will train a small MLP, save it as a *servable file* with
# `minigrad.save_model`, start `python -m minigrad.serve`, a real inference
# server, and call it the way any client of the **Open Inference Protocol**
# would: metadata, one prediction, a burst of concurrent clients (and see the
# server coalesce them into batches in its metrics), and each kind of bad
# request. Then you stop it gracefully, and export the model to **ONNX** to
# check that another runtime, onnxruntime, gives the same answers.
#
# Needs the `serve` extra (Starlette, uvicorn, prometheus-client) and, for the
# last section, the `onnx` extra: `pip install "minigrad-edu[serve,onnx]"`.

# %%
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import metrics
from minigrad.data import DataLoader, TensorDataset
from minigrad.datasets import load_mnist
from minigrad.examples.mnist import normalise
from minigrad.nn import registry

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Train a model worth serving
#
# The model is the MLP of `python -m minigrad.examples.mnist`: 784 → 128 → 10
# with ReLU and dropout, trained with [Adam](../math/optimizers.md#adam) on the
# [cross-entropy](../math/losses.md#cross-entropy-with-label-smoothing) loss.
# This time it is built by *name*: `registry.get_model("mnist-mlp")` calls the
# builder registered under that name (the same layers as the example's
# `build_model("mlp")`) and remembers the name and its arguments. That is what
# will let a server rebuild the model from a file alone.
#
# `normalise` turns uint8 pixels $p \in \{0,\dots,255\}$ into
# $x = (p/255 - \mu)/\sigma$ with the MNIST mean $\mu = 0.1307$ and standard
# deviation $\sigma = 0.3081$. The model was trained on $x$, so $x$ is what it
# must be sent: the input *contract* of the service.

# %%
data = load_mnist()
# At most 20,000 training digits: about a minute on a laptop CPU even with the full MNIST.
n_train = fast_or_full(1000, min(len(data.y_train), 20000))
x_train, y_train = normalise(data.x_train[:n_train]), data.y_train[:n_train].astype(np.int64)
x_test, y_test = normalise(data.x_test), data.y_test.astype(np.int64)

model = registry.get_model("mnist-mlp")
print(model)
optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)


def train_one_epoch(model, loader, optimizer):
    model.train()
    total = 0.0
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
    return total / len(loader.dataset)


def logits_of(model, x):
    model.eval()
    with mg.no_grad():
        return model(mg.tensor(x)).numpy()


epochs = fast_or_full(3, 10)
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    loss = train_one_epoch(model, loader, optimizer)
    print(f"epoch {epoch}: train loss {loss:.4f}")
test_logits = logits_of(model, x_test)
test_accuracy = metrics.accuracy(y_test, test_logits.argmax(axis=1))
print(f"{n_train} training digits, {time.perf_counter() - start:.1f} s; "
      f"test accuracy {test_accuracy:.2%} on {len(y_test)} digits")

# %% [markdown]
# ## A servable file: weights plus the name of a builder, no code
#
# `minigrad.save(model.state_dict(), path)` stores weights only: whoever loads
# them must rebuild the architecture in code first. `minigrad.save_model` also
# records *which* architecture: the name of a registered builder (`"mnist-mlp"`)
# and the JSON arguments to call it with. `minigrad.load_model(path)` looks the
# name up, builds the model, loads the weights (every name and shape must
# match) and returns it in eval mode.
#
# Why a *name* and not the model object itself? Python's `pickle`, which
# `torch.save(model)` uses, can store any object, and loading a pickle can run
# any code the file's author chose. A model file is data you may have
# downloaded; opening it must never run code from it. A name can only select
# one of the builders registered in the loading program (`registry.list_models()`
# shows them), and `save_model` refuses to write a file that would not load.
# The weights stay under their usual names, so `numpy.load` (or the
# `safetensors` library, for a `.safetensors` path) still reads them.

# %%
workdir = Path(tempfile.mkdtemp(prefix="minigrad-ch11-"))
model_path = workdir / "mnist_mlp.npz"
mg.save_model(model, model_path)
print(f"saved {model_path.name}: {model_path.stat().st_size / 1024:.0f} KiB")
print("registered builders:", registry.list_models())
print("the file says:", mg.models.read_model_header(model_path))
print("its arrays:", sorted(np.load(model_path).files))

loaded = mg.load_model(model_path)
print("loaded model in training mode?", loaded.training)
loaded_logits = logits_of(loaded, x_test)
print("largest difference from the trained model:", np.abs(loaded_logits - test_logits).max())

evil = workdir / "evil.npz"
mg.save({mg.models.MODEL_KEY: {"format": 1, "builder": "os.system", "config": "{}"},
         **model.state_dict()}, evil)
try:
    mg.load_model(evil)
except KeyError as error:
    print("a file naming anything else is refused:", error.args[0][:90], "...")

# %% [markdown]
# ## Start the server
#
# `python -m minigrad.serve --model NAME=PATH` loads each file and serves it.
# The chapter starts it as a separate process, exactly as you would from a
# terminal, on a free port of 127.0.0.1 (the loopback interface: only this
# machine can connect; binding another address requires an API key).
#
# What the server is made of: **uvicorn**, an asynchronous HTTP server, runs a
# **Starlette** application on one event loop, which reads requests, checks
# them and answers health checks without ever waiting on a model. Each model has
# a **worker thread** that runs forward passes under `no_grad`; requests reach
# it through a bounded queue (a full queue answers 503 at once rather than
# letting latency grow without limit). The server also enforces a body size
# limit (413), timeouts for slow clients, and drains in-flight requests when
# asked to stop.

# %%
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
base_url = f"http://127.0.0.1:{port}"
repo_root = Path(mg.__file__).resolve().parent.parent
env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo_root), os.environ.get("PYTHONPATH", "")]),
           PYTHONUNBUFFERED="1")
server = subprocess.Popen(
    [sys.executable, "-m", "minigrad.serve", "--model", f"mnist={model_path}", "--port", str(port),
     "--max-batch-size", "32", "--batch-delay-ms", "5"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def get(path: str):
    """GET ``path``; return ``(status, body)`` with JSON bodies decoded."""
    try:
        with urllib.request.urlopen(base_url + path, timeout=10) as response:
            body = response.read()
            status = response.status
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        with error:
            body, status, kind = error.read(), error.code, error.headers.get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body.decode()


deadline = time.monotonic() + 60
while True:  # wait until the server answers its readiness probe
    try:
        if get("/v2/health/ready")[0] == 200:
            break
    except OSError:
        pass
    assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
    time.sleep(0.1)
print(server.stdout.readline().strip())
print(server.stdout.readline().strip())

# %% [markdown]
# ## The Open Inference Protocol
#
# The server speaks the **Open Inference Protocol** (version 2 of the KServe
# protocol, also NVIDIA Triton's HTTP API), so it works with clients, load
# balancers and dashboards written for those servers. Its main endpoints:
#
# | request | answer |
# |---|---|
# | `GET /v2/health/ready` | 200 once the models are loaded |
# | `GET /v2/models/mnist` | the model's inputs and outputs: name, datatype, shape (-1 = any size) |
# | `POST /v2/models/mnist/infer` | inference: JSON tensors in, JSON tensors out |
# | `GET /metrics` | Prometheus metrics |
#
# A tensor travels as `{"name", "shape", "datatype", "data"}`, with `data` the
# elements in row-major order (flat, or nested like the shape). The same call
# from a terminal:
#
# ```bash
# curl -s localhost:8000/v2/models/mnist
# curl -s -H 'Content-Type: application/json' localhost:8000/v2/models/mnist/infer \
#      -d '{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [...784 numbers...]}]}'
# ```
#
# Here the client is the standard library's `urllib`: nothing specific to minigrad.

# %%
status, metadata = get("/v2/models/mnist")
print("GET /v2/models/mnist ->", status, json.dumps(metadata))


def post(path: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(base_url + path, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def infer(images: np.ndarray):
    """uint8 images (N, 28, 28) -> (status, logits (N, 10) or the error message)."""
    x = normalise(images)  # the client applies the model's input contract
    body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.ravel().tolist()}]}
    status, reply = post("/v2/models/mnist/infer", json.dumps(body).encode())
    if status != 200:
        return status, reply["error"]
    out = reply["outputs"][0]
    return status, np.array(out["data"], dtype=np.float32).reshape(out["shape"])


status, one = infer(data.x_test[:1])
print("POST /v2/models/mnist/infer ->", status, "logits", np.round(one[0], 2))
print(f"true label {data.y_test[0]}, predicted {one.argmax()}")
status, first_eight = infer(data.x_test[:8])
print("a batch of 8 in one request ->", first_eight.argmax(axis=1), "true", data.y_test[:8])

# %% [markdown]
# ## Concurrent clients, and batching
#
# Now 16 clients at once, each sending single digits. A forward pass of this
# MLP costs about the same for 1 row as for 16 (the fixed cost of each layer's
# call dominates), so the server **batches dynamically**: its worker takes the
# first waiting request, gathers the others that arrive within
# `--batch-delay-ms` (here 5 ms), up to `--max-batch-size` rows, runs *one*
# forward pass and splits the answer back per request.
#
# A batched answer must be the answer: each reply is compared with the model
# run in this process. (Up to float32 rounding: the matrix product sums in a
# different order for a different number of rows.)

# %%
shown = rng.choice(len(data.y_test), size=200 if FAST else 1000, replace=False)
with ThreadPoolExecutor(max_workers=16) as pool:
    replies = list(pool.map(lambda i: infer(data.x_test[i : i + 1]), shown))
statuses = [s for s, _ in replies]
http_logits = np.concatenate([r for _, r in replies])
print("statuses:", {s: statuses.count(s) for s in set(statuses)})
print("largest difference from the in-process model:",
      np.abs(http_logits - test_logits[shown]).max())


def batch_size_histogram():
    """The server's minigrad_batch_size histogram: {upper bound: forward passes}."""
    _, text = get("/metrics")
    cumulative = {}
    for line in text.splitlines():
        if line.startswith('minigrad_batch_size_bucket{le="') and 'model="mnist"' in line:
            bound = line.split('le="')[1].split('"')[0]
            cumulative[float(bound)] = float(line.split()[-1])
    bounds = sorted(cumulative)
    return {b: cumulative[b] - (cumulative[a] if a is not None else 0)
            for a, b in zip([None] + bounds[:-1], bounds)}


histogram = batch_size_histogram()
forwards = sum(histogram.values())
requests_done = sum(len(r) for _, r in replies) + 9
print(f"{requests_done} rows answered in {forwards:.0f} forward passes")
print("forward passes by batch size (upper bound):", {int(k) if k != np.inf else "inf": int(v)
                                                     for k, v in histogram.items() if v})

# %% [markdown]
# ## Each kind of bad request
#
# Every error comes back as JSON, `{"error": "..."}`, with the status the
# protocol gives it, and a message that names the field, the shape or the
# datatype at fault, so a client developer can fix their code from the message
# alone. None of these reach the model.

# %%
good = normalise(data.x_test[:1]).ravel().tolist()


def body(**changes):
    tensor = {"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": good}
    return json.dumps({"inputs": [{**tensor, **changes}]}).encode()


bad_requests = {
    "not JSON": post("/v2/models/mnist/infer", b"{'inputs': oops"),
    "wrong shape": post("/v2/models/mnist/infer", body(shape=[1, 784])),
    "wrong datatype": post("/v2/models/mnist/infer", body(datatype="INT64")),
    "missing values": post("/v2/models/mnist/infer", body(data=good[:-1])),
    "a string value": post("/v2/models/mnist/infer", body(data=["7"] + good[1:])),
    "NaN": post("/v2/models/mnist/infer", body(data=good[1:]).replace(b'"data": [', b'"data": [NaN, ')),
    "unknown model": post("/v2/models/mnist2/infer", body()),
    "form data": post("/v2/models/mnist/infer", body(), content_type="application/x-www-form-urlencoded"),
    "8 MiB + 1 byte": post("/v2/models/mnist/infer", b" " * (8 * 1024 * 1024 + 1)),
}
for name, (status, reply) in bad_requests.items():
    print(f"{name:15s} -> {status}: {reply['error'][:100]}")

# %% [markdown]
# ## Stopping gracefully
#
# `SIGTERM` (what `kill`, systemd or Kubernetes send) or Ctrl-C starts a
# graceful shutdown: the server stops accepting connections, answers the
# requests already in flight, finishes each model's queue, and exits with status 0.

# %%
server.send_signal(signal.SIGTERM)
exit_status = server.wait(timeout=30)
last_words = server.stdout.read().strip().splitlines()[-1]
print("exit status", exit_status, "-", last_words)

# %% [markdown]
# ## Export to ONNX, check with onnxruntime
#
# **ONNX** is the model format of the inference ecosystem: onnxruntime,
# TensorRT, OpenVINO and Triton read it. `minigrad.onnx.export` writes the
# layers as ONNX operators (`MatMul`, `Add`, `Relu`, `Flatten`...) with the weights
# as constants, the batch dimension left dynamic, and checks the file with
# `onnx.checker`. Another runtime then gives the same logits, up to float32
# rounding, and `python -m minigrad.serve --model mnist=mnist.onnx` would
# serve the ONNX file through onnxruntime.

# %%
try:
    import onnxruntime

    import minigrad.onnx
except ImportError:
    onnxruntime = None
    print("onnx / onnxruntime are not installed: pip install 'minigrad-edu[onnx]' for this section")
if onnxruntime is not None:
    onnx_path = workdir / "mnist_mlp.onnx"
    proto = minigrad.onnx.export(model, mg.tensor(x_test[:1]), onnx_path)
    print("ONNX operators:", [node.op_type for node in proto.graph.node])
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ort_logits = session.run(None, {"input": x_test})[0]
    onnx_gap = np.abs(ort_logits - test_logits).max()
    print(f"onnxruntime on all {len(x_test)} test digits at once: largest difference {onnx_gap:.1e}, "
          f"same labels: {np.array_equal(ort_logits.argmax(1), test_logits.argmax(1))}")
shutil.rmtree(workdir)

# %%
fig, axes = plt.subplots(2, 6, figsize=(11, 4.2), gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 1, 1.8]))
probabilities = np.exp(http_logits - http_logits.max(1, keepdims=True))
probabilities /= probabilities.sum(1, keepdims=True)
for ax, i, p in zip(axes[:, :5].ravel(), shown, probabilities):
    ax.imshow(data.x_test[i], cmap="gray_r")
    label = int(p.argmax())
    ax.set_title(f"service: {label} ({p.max():.0%})", fontsize=9,
                 color="k" if label == data.y_test[i] else "C3")
    ax.set_xticks([])
    ax.set_yticks([])
for ax in axes[:, 5]:
    ax.remove()
bars = fig.add_subplot(1, 6, 6)
bounds = [int(k) for k in histogram if k != np.inf]
labels = [str(b) if b - a == 1 else f"{a + 1}-{b}" for a, b in zip([0] + bounds[:-1], bounds)]
bars.bar(labels, [histogram[b] for b in bounds], color="C0")
bars.set(xlabel="rows per forward pass", ylabel="forward passes", title="dynamic batching\n(16 clients)")
bars.tick_params(axis="x", labelsize=8, labelrotation=50)
fig.suptitle("digits sent to POST /v2/models/mnist/infer, and how the server batched them", x=0.4, y=1.02)
save_figure(fig, "11_service_predictions")

# %% [markdown]
# ## What a server does inside
#
# The first version of this chapter wrote the whole service on Python's
# `http.server`: read the request line and headers, read `Content-Length`
# bytes, route by path, decode JSON, check it, answer. It worked for a demo,
# but under 2,000 requests from 20 threads its 5-connection listen queue
# overflowed (p99 latency about a second), a slow client held a thread
# forever, and a model with NaN weights produced invalid JSON. Each fix is a
# piece of `minigrad/serve/`, worth reading:
#
# * `protocol.py`: parse the JSON (rejecting `NaN`, deep nesting, integers of
#   thousands of digits), check every tensor against the model's signature,
#   refuse non-finite outputs;
# * `batching.py`: the queue and the worker thread that forms batches;
# * `app.py`: the routes, the body limit and timeouts, the API key, the metrics.
#
# For production you would also put TLS and rate limits in front (a reverse
# proxy) and run one server process per core, but none of that changes the
# model file or the protocol.
#
# ## Exercises
#
# **Exercise 1.** Train a better model with `python -m minigrad.examples.mnist --epochs 20
# --save runs/mnist/mlp.npz`, serve it with `python -m minigrad.serve --model mnist=runs/mnist/mlp.npz`
# and call it with `curl`.
#
# <details markdown="1"><summary>Hint</summary>
#
# The example saves with `minigrad.save_model(model, path, builder="mnist-mlp")`,
# so the file names its builder. Build the JSON body in Python
# (`json.dumps({"inputs": [...]})` into a file) and send it with
# `curl -H 'Content-Type: application/json' -d @body.json localhost:8000/v2/models/mnist/infer`.
#
# </details>
#
# **Exercise 2.** Measure what batching buys: run `python benchmarks/serve.py`, which sends
# 2,000 requests from 32 clients with batching off (`--max-batch-size 1`) and on. Why does
# batching help the CNN much more than the MLP?
#
# <details markdown="1"><summary>Hint</summary>
#
# Batching saves forward-pass time only. For the MLP a forward pass is about
# 0.1 ms while parsing 784 numbers of JSON and handling HTTP cost about 1 ms:
# there is little to save. A single-image CNN forward pass costs ~10 ms, and 32
# images in one pass cost far less than 32 passes.
#
# </details>
#
# **Exercise 3.** Serve the chapter-8 language model: save a `registry.get_model("transformer-lm",
# vocab_size=...)` with `save_model`, serve it, and read its metadata. What shape does the
# server announce for `input_ids`, and what happens if you send a token id equal to `vocab_size`?
#
# <details markdown="1"><summary>Hint</summary>
#
# `[-1, -1]`: any batch size and any sequence length (up to `max_len`, checked
# per request). The registry declares the ids' range `0 .. vocab_size - 1`, so
# the server answers 400 naming the element, before the model ever sees it.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert test_accuracy > fast_or_full(0.80, 0.92), f"test accuracy {test_accuracy:.2%}"
assert np.array_equal(loaded_logits, test_logits), "load_model rebuilds the trained model exactly"
assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
assert np.allclose(one[0], test_logits[0], atol=1e-5)
assert np.array_equal(first_eight.argmax(1), test_logits[:8].argmax(1))
assert statuses == [200] * len(shown)
assert np.allclose(http_logits, test_logits[shown], rtol=1e-5, atol=1e-5)
assert requests_done / forwards > 1.5, "concurrent requests were batched"
expected = {"not JSON": (400, "not valid JSON"), "wrong shape": (400, "shape [1, 784]"),
            "wrong datatype": (400, "'INT64' does not match"), "missing values": (400, "783 elements"),
            "a string value": (400, "element 0"), "NaN": (400, "NaN is not a JSON number"),
            "unknown model": (404, "unknown model 'mnist2'"), "form data": (415, "application/json"),
            "8 MiB + 1 byte": (413, "exceeds the limit")}
for name, (status, words) in expected.items():
    got_status, reply = bad_requests[name]
    assert got_status == status and words in reply["error"], (name, got_status, reply)
assert exit_status == 0 and last_words == "server stopped"
if onnxruntime is not None:
    assert onnx_gap < 1e-4 and np.array_equal(ort_logits.argmax(1), test_logits.argmax(1))
print("chapter 11: all checks passed")
