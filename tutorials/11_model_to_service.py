# %% [markdown]
# # 11. From model to service
#
# **What you will build.** A trained MNIST classifier that answers over HTTP.
# You will train a small MLP, save its weights with `minigrad.save`, load them
# into a *fresh* model inside a `PredictionService` that checks every request,
# and put that service behind a JSON endpoint, `POST /predict`, served by the
# Python standard library. Then you will call it like a client would: one good
# request, a few concurrent ones, and each kind of bad request, which must come
# back as HTTP 400 with a message that names the problem.

# %%
import json
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import metrics
from minigrad.data import DataLoader, TensorDataset
from minigrad.datasets import load_mnist
from minigrad.examples.mnist import build_model, normalise

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Train a model worth serving
#
# The model is the MLP of `python -m minigrad.examples.mnist`: 784 → 128 → 10
# with ReLU and dropout, trained with [Adam](../math/optimizers.md#adam) on the
# [cross-entropy](../math/losses.md#cross-entropy-with-label-smoothing) loss.
# Using the example's `build_model` and `normalise` means a checkpoint written
# by the example (`--save`) can be served by this chapter unchanged (exercise 1).
#
# `normalise` turns uint8 pixels $p \in \{0,\dots,255\}$ into
# $x = (p/255 - \mu)/\sigma$ with the MNIST mean $\mu = 0.1307$ and standard
# deviation $\sigma = 0.3081$. Remember it: the service must apply *exactly*
# the same transformation to what it receives, or it will see inputs unlike
# anything it was trained on.

# %%
data = load_mnist()
# At most 20,000 training digits: about a minute on a laptop CPU even with the full MNIST.
n_train = fast_or_full(1000, min(len(data.y_train), 20000))
x_train, y_train = normalise(data.x_train[:n_train]), data.y_train[:n_train].astype(np.int64)
x_test, y_test = normalise(data.x_test), data.y_test.astype(np.int64)

model = build_model("mlp")
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


def predict_labels(model, x):
    model.eval()
    with mg.no_grad():
        return model(mg.tensor(x)).numpy().argmax(axis=1)


epochs = fast_or_full(3, 10)
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    loss = train_one_epoch(model, loader, optimizer)
    print(f"epoch {epoch}: train loss {loss:.4f}")
test_accuracy = metrics.accuracy(y_test, predict_labels(model, x_test))
print(f"{n_train} training digits, {time.perf_counter() - start:.1f} s; "
      f"test accuracy {test_accuracy:.2%} on {len(y_test)} digits")

# %% [markdown]
# ## Save the weights, load them somewhere else
#
# A service should not import the training code's *objects*, only its *results*.
# `model.state_dict()` is an ordered dict of plain arrays named like PyTorch's
# (`1.weight`, `1.bias`, `4.weight`, `4.bias`: the positions of the two
# `Linear` layers in the `Sequential`). `minigrad.save` writes it to an `.npz`
# file atomically (a temporary file, then a rename, so a crash never leaves half
# a checkpoint) and without pickle, so loading a file from someone else cannot
# run their code. To use it, build the same architecture and
# `load_state_dict(minigrad.load(path))`: the names and shapes must all match,
# or the load fails with one error listing every mismatch.

# %%
workdir = Path(tempfile.mkdtemp(prefix="minigrad-ch11-"))
checkpoint = workdir / "mnist_mlp.npz"
mg.save(model.state_dict(), checkpoint)
print(f"saved {checkpoint.name}: {checkpoint.stat().st_size / 1024:.0f} KiB")
for name, array in mg.load(checkpoint).items():
    print(f"  {name:10s} {str(array.shape):12s} {array.dtype}")

try:
    mg.nn.Sequential(mg.nn.Flatten(), mg.nn.Linear(784, 64)).load_state_dict(mg.load(checkpoint))
except RuntimeError as error:
    print("the wrong architecture is refused:\n" + str(error))

# %% [markdown]
# ## The prediction service
#
# `PredictionService` is the part that knows about the model; it knows nothing
# about HTTP, so it can be tested without a network. It accepts a request
# *payload*, the JSON object a client sends:
#
# ```json
# {"image": [[0, 0, 12, ...], ...]}      28 rows of 28 pixel values, or
# {"image": [0, 0, 12, ...]}             784 values, row after row
# ```
#
# with pixel values from 0 (black) to 255 (white), as in an 8-bit image file. It
# answers `{"label": k, "probabilities": [p_0, ..., p_9]}` where the
# probabilities are the [softmax](../math/activations.md#softmax) of the logits
# $z$:
#
# $$p_k = \frac{e^{z_k}}{\sum_{j=0}^{9} e^{z_j}}, \qquad \text{label} = \arg\max_k p_k .$$
#
# **Never trust the input.** Anything can arrive over a network: a missing
# field, 783 numbers, the string `"7"`, `true`, `300`, `NaN` (Python's `json`
# module accepts it). Each is rejected with a `BadRequest` that says what is
# wrong and where, which the HTTP layer turns into status 400. A service that
# crashes, or silently predicts on garbage, is worse than one that refuses.
#
# Two details make it safe to call from several threads at once, as the server
# below will. The model is put in eval mode once (dropout off) and its
# parameters are frozen with `requires_grad_(False)`, so no request records a
# graph. The service does *not* use `with minigrad.no_grad():` per request:
# minigrad's grad mode is one switch for the whole process, and threads that
# enter and leave it in overlapping order can leave it off (or on) for
# everybody. Freezing the weights needs no switch at all.

# %%
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE


class BadRequest(ValueError):
    """A request the service refuses; the message says what to fix (HTTP 400)."""


def _is_number(value) -> bool:
    # JSON gives Python objects: bool is a subclass of int, and true is not a pixel
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _where(index: int) -> str:
    return f"row {index // IMAGE_SIDE}, column {index % IMAGE_SIDE}"


def _flat_values(image) -> list:
    """The 784 values of ``image`` (28 lists of 28, or one list of 784), row after row."""
    if not isinstance(image, list):
        raise BadRequest(f"'image' must be a list (28 rows of 28 values, or 784 values), "
                         f"got {type(image).__name__}")
    rows = [isinstance(item, list) for item in image]
    if any(rows):
        if not all(rows):
            raise BadRequest("'image' mixes rows (lists) and single values: "
                             "send 28 rows of 28 values, or 784 values")
        if len(image) != IMAGE_SIDE:
            raise BadRequest(f"'image' has {len(image)} rows, expected {IMAGE_SIDE}")
        bad_row = next((r for r, row in enumerate(image) if len(row) != IMAGE_SIDE), None)
        if bad_row is not None:
            raise BadRequest(f"'image' row {bad_row} has {len(image[bad_row])} values, "
                             f"expected {IMAGE_SIDE}")
        return [value for row in image for value in row]
    if len(image) != N_PIXELS:
        raise BadRequest(f"'image' has {len(image)} values, expected {N_PIXELS} "
                         f"(or 28 rows of 28)")
    return image


def parse_image(payload) -> np.ndarray:
    """Validate a request payload; return its image as a (28, 28) uint8 array."""
    if not isinstance(payload, dict):
        raise BadRequest(f"expected a JSON object with an 'image' field, "
                         f"got a JSON {type(payload).__name__}")
    if "image" not in payload:
        raise BadRequest(f"missing field 'image' (fields received: {sorted(payload) or 'none'})")
    values = _flat_values(payload["image"])
    bad = next((i for i, v in enumerate(values) if not _is_number(v)), None)
    if bad is not None:
        raise BadRequest(f"'image' holds a non-numeric value {values[bad]!r} at {_where(bad)}")
    pixels = np.asarray(values, dtype=np.float64)
    outside = np.flatnonzero(~((pixels >= 0) & (pixels <= 255)))  # NaN fails both tests
    if outside.size:
        i = outside[0]
        raise BadRequest(f"pixel values must lie in 0..255, got {values[i]!r} at {_where(i)} "
                         f"({outside.size} value{'s' if outside.size > 1 else ''} out of range)")
    return np.rint(pixels).astype(np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE)


class PredictionService:
    """An MNIST classifier loaded from a checkpoint: ``predict(payload) -> dict``."""

    def __init__(self, checkpoint_path):
        self.model = build_model("mlp")
        self.model.load_state_dict(mg.load(checkpoint_path))
        self.model.eval().requires_grad_(False)  # inference only: no dropout, no graph

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 pixels -> (N, 10) class probabilities."""
        logits = self.model(mg.tensor(normalise(images)))
        return F.softmax(logits, dim=-1).numpy()

    def predict(self, payload) -> dict:
        """``{"image": ...}`` -> ``{"label": k, "probabilities": [10 floats]}``; BadRequest if invalid."""
        probs = self.probabilities(parse_image(payload)[None])[0]
        return {"label": int(probs.argmax()), "probabilities": [float(p) for p in probs]}


service = PredictionService(checkpoint)
digit, label = data.x_test[0], int(data.y_test[0])
answer = service.predict({"image": digit.tolist()})
print(f"true label {label}; the service says {answer['label']} "
      f"with probability {max(answer['probabilities']):.3f}")

# %% [markdown]
# Before any HTTP: the loaded model must be the trained one. Its probabilities
# on the whole test set must equal the original model's, bit for bit (the same
# float32 weights and the same operations in the same order).

# %%
model.eval()
with mg.no_grad():
    original = F.softmax(model(mg.tensor(x_test)), dim=-1).numpy()
loaded = service.probabilities(data.x_test)
print("largest difference between the original and the loaded model:",
      np.abs(original - loaded).max())
print("flat and nested images give the same answer:",
      service.predict({"image": digit.ravel().tolist()}) == answer)

# %% [markdown]
# ## An HTTP endpoint with the standard library
#
# The service now needs a network interface. This chapter uses the standard
# library's `http.server`, on purpose: it needs no dependency, it fits in a
# screen, and it shows what every web framework does under the hood (read the
# request line and headers, read the body, route by path and method, write a
# status line, headers and a body). `ThreadingHTTPServer` handles each
# connection in its own thread, so a slow client does not block the others:
# enough for a teaching service, a demo or an internal tool.
#
# It is **not** what you would put on the internet. Python's documentation
# says `http.server` implements only basic security checks. In production you
# would write the endpoint with **FastAPI** (request validation from type
# hints, automatic OpenAPI docs) and run it with **uvicorn** (an asynchronous
# server) in several worker processes, behind a reverse proxy that handles TLS,
# timeouts and rate limits. The `PredictionService` class would not change: it is
# the part that does not depend on the transport.
#
# The handler maps outcomes to status codes: 200 with the answer; 400 for a
# `BadRequest` or a body that is not JSON; 404 for an unknown path; 405 for a
# known path with the wrong method; 411/413 for a missing or oversized body; 500 (with no
# details, which could leak internals) for anything unexpected. Every response,
# errors included, is a JSON object, so a client needs one code path.

# %%
MAX_BODY_BYTES = 64 * 1024  # a 28x28 image as JSON text is at most ~3.5 KiB


class PredictionHandler(BaseHTTPRequestHandler):
    """``POST /predict`` -> the service's answer; ``GET /health`` -> ``{"status": "ok"}``."""

    service: PredictionService  # set on the subclass made by `serve`

    def do_GET(self):
        if self.path == "/health":
            self._reply(200, {"status": "ok"})
        elif self.path == "/predict":
            self._reply(405, {"error": "use POST /predict with a JSON body"}, allow="POST")
        else:
            self._reply(404, {"error": f"no such endpoint: {self.path}"})

    def do_POST(self):
        if self.path != "/predict":
            self._reply(404, {"error": f"no such endpoint: {self.path}"})
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._reply(411, {"error": "a Content-Length header is required"})
            return
        if int(length) > MAX_BODY_BYTES:
            self._reply(413, {"error": f"body of {length} bytes exceeds {MAX_BODY_BYTES}"})
            return
        body = self.rfile.read(int(length))
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self._reply(400, {"error": f"the body is not valid JSON: {error}"})
            return
        try:
            self._reply(200, self.service.predict(payload))
        except BadRequest as error:
            self._reply(400, {"error": str(error)})
        except Exception as error:  # a bug must not kill the thread silently, nor leak details
            self.log_error("predict failed: %r", error)
            self._reply(500, {"error": "internal error"})

    def _reply(self, status: int, body: dict, **headers):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.capitalize(), value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # keep the chapter's output readable; a real service would log each request


def serve(service: PredictionService, host: str = "127.0.0.1", port: int = 0):
    """Start serving in a background thread; return the server (its address is ``server_address``).

    Port 0 asks the operating system for any free port, so two runs never collide.
    """
    handler = type("BoundPredictionHandler", (PredictionHandler,), {"service": service})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True  # request threads must not keep the process alive
    thread = threading.Thread(target=server.serve_forever, name="prediction-server", daemon=True)
    thread.start()
    server.thread = thread
    return server


server = serve(service)
host, port = server.server_address
base_url = f"http://{host}:{port}"
print("serving on", base_url)

# %% [markdown]
# ## Calling it like a client
#
# A client sends the JSON text with `Content-Type: application/json`. For
# status codes 4xx and 5xx, `urllib` raises an `HTTPError`, which is also a
# response: its body carries the JSON error message.

# %%
def call(path: str, payload=None, raw: bytes | None = None, method: str = "POST"):
    """Send a request to the service; return ``(status, decoded JSON body)``."""
    body = raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
    request = urllib.request.Request(base_url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


status, health = call("/health", method="GET")
print("GET /health ->", status, health)
status, reply = call("/predict", {"image": digit.tolist()})
print("POST /predict ->", status, {"label": reply["label"],
                                   "probabilities": np.round(reply["probabilities"], 3).tolist()})

# %% [markdown]
# Now the digits of the plot below, sent from 4 threads at once: the server
# answers them in parallel threads, and every answer must equal what the
# service computes in-process.

# %%
shown = rng.choice(len(data.y_test), size=10, replace=False)
with ThreadPoolExecutor(max_workers=4) as pool:
    replies = list(pool.map(lambda i: call("/predict", {"image": data.x_test[i].tolist()}), shown))
statuses = [s for s, _ in replies]
http_labels = np.array([r["label"] for _, r in replies])
http_probs = np.array([r["probabilities"] for _, r in replies])
print("statuses:", statuses)
print("labels over HTTP:", http_labels.tolist(), " true:", data.y_test[shown].tolist())

n_timed = fast_or_full(20, 200)
start = time.perf_counter()
for i in range(n_timed):
    call("/predict", {"image": data.x_test[i].tolist()})
latency_ms = (time.perf_counter() - start) / n_timed * 1000
print(f"{n_timed} sequential requests: {latency_ms:.2f} ms per request on loopback")

# %% [markdown]
# ## Each kind of bad request
#
# Each case below must get status 400 (or the status named) and an error
# message that names the problem, so a client developer can fix their code from
# the message alone.

# %%
good_flat = data.x_test[0].ravel().tolist()
bad_requests = {
    "not JSON":               dict(raw=b"{'image': oops"),
    "not an object":          dict(payload=good_flat),
    "missing field":          dict(payload={"pixels": good_flat}),
    "wrong length":           dict(payload={"image": good_flat[:-1]}),
    "wrong row length":       dict(payload={"image": [row[:27] for row in data.x_test[0].tolist()]}),
    "non-numeric value":      dict(payload={"image": good_flat[:100] + ["7"] + good_flat[101:]}),
    "boolean value":          dict(payload={"image": [True] + good_flat[1:]}),
    "value out of range":     dict(payload={"image": good_flat[:300] + [300] + good_flat[301:]}),
    "negative value":         dict(payload={"image": [-1] + good_flat[1:]}),
    "NaN":                    dict(raw=("{\"image\": [NaN" + ", 0" * 783 + "]}").encode()),
}
error_replies = {}
for name, request in bad_requests.items():
    error_replies[name] = call("/predict", **request)
    status, body = error_replies[name]
    print(f"{name:18s} -> {status}: {body['error'][:95]}")

other_errors = {
    "unknown path": call("/predict/v2", {"image": good_flat}),
    "GET /predict": call("/predict", method="GET"),
    "too large": call("/predict", raw=b" " * (MAX_BODY_BYTES + 1)),
}
for name, (status, body) in other_errors.items():
    print(f"{name:18s} -> {status}: {body['error']}")

# %% [markdown]
# Shut the server down cleanly: `shutdown()` stops the `serve_forever` loop
# (and waits for it), `server_close()` releases the port, and the thread ends.

# %%
server.shutdown()
server.server_close()
server.thread.join(timeout=5)
print("server thread alive after shutdown:", server.thread.is_alive())
shutil.rmtree(workdir)

# %%
fig, axes = plt.subplots(2, 6, figsize=(11, 4.2),
                         gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 1, 1.6]))
for ax, i, label, probs in zip(axes[:, :5].ravel(), shown, http_labels, http_probs):
    ax.imshow(data.x_test[i], cmap="gray_r")
    ok = label == data.y_test[i]
    ax.set_title(f"service: {label} ({probs.max():.0%})", fontsize=9, color="k" if ok else "C3")
    ax.set_xticks([])
    ax.set_yticks([])
least_sure = int(np.argmin(http_probs.max(axis=1)))
for ax in axes[:, 5]:
    ax.remove()
bars = fig.add_subplot(1, 6, 6)
bars.barh(range(10), http_probs[least_sure], color="C0")
bars.set(yticks=range(10), xlim=(0, 1), xlabel="probability",
         title=f"least sure answer\n(true label {data.y_test[shown[least_sure]]})")
bars.invert_yaxis()
fig.suptitle("digits sent to POST /predict, with the labels the service returned")
save_figure(fig, "11_service_predictions")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Train a better model with `python -m minigrad.examples.mnist --epochs 20
# --save runs/mnist/mlp.npz` and serve that checkpoint instead of the one trained here.
#
# <details markdown="1"><summary>Hint</summary>
#
# `PredictionService(Path("runs/mnist/mlp.npz"))`: the example builds the same
# `build_model("mlp")`, so the state-dict names and shapes match. Run the
# example from the `tutorials/` folder, or give the path relative to it.
#
# </details>
#
# **Exercise 2.** Add a batch endpoint: `POST /predict_batch` with `{"images": [...]}`
# answering `{"labels": [...], "probabilities": [[...], ...]}`. Why is one request of 100
# images faster than 100 requests of one image?
#
# <details markdown="1"><summary>Hint</summary>
#
# Validate each image with `parse_image({"image": img})` (say which image is
# wrong in the message), stack them with `np.stack`, and call
# `service.probabilities` once. One matrix product of shape (100, 784) × (784, 128)
# costs far less than 100 products plus 100 HTTP round trips.
#
# </details>
#
# **Exercise 3.** Why does the service round the pixel values (`np.rint`) before `normalise`,
# and what would change if a client sent images scaled to $[0, 1]$ instead of $[0, 255]$?
#
# <details markdown="1"><summary>Hint</summary>
#
# The model was trained on uint8 images, so the service reproduces that input
# exactly. Values in $[0, 1]$ pass the range check but become an almost black
# image: the service would answer confidently and wrongly. A deployed model's
# input contract (range, scale, orientation) must be documented and checked;
# you could add a check that rejects images whose maximum is at most 1.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert test_accuracy > fast_or_full(0.80, 0.92), f"test accuracy {test_accuracy:.2%}"
assert np.array_equal(loaded, original), "the loaded model reproduces the trained one exactly"
assert answer["label"] == int(original[0].argmax()) and abs(sum(answer["probabilities"]) - 1) < 1e-5
assert health == {"status": "ok"}
assert statuses == [200] * len(shown)
assert np.array_equal(http_labels, service.probabilities(data.x_test[shown]).argmax(axis=1))
assert np.allclose(http_probs, service.probabilities(data.x_test[shown]), atol=1e-7)
assert mg.is_grad_enabled(), "serving left the global grad mode alone"
expected_words = {
    "not JSON": "not valid JSON", "not an object": "JSON object", "missing field": "missing field 'image'",
    "wrong length": "783 values", "wrong row length": "row 0 has 27 values",
    "non-numeric value": "non-numeric value '7' at row 3, column 16",
    "boolean value": "non-numeric value True", "value out of range": "300 at row 10, column 20",
    "negative value": "-1 at row 0, column 0", "NaN": "nan at row 0, column 0",
}
for name, words in expected_words.items():
    status, body = error_replies[name]
    assert status == 400 and words in body["error"], (name, status, body)
assert [s for s, _ in other_errors.values()] == [404, 405, 413]
assert not server.thread.is_alive()
print("chapter 11: all checks passed")
