"""Serve minigrad models over HTTP: ``python -m minigrad.serve --model mnist=mlp.npz``.

The server speaks the **Open Inference Protocol v2** (the REST API of KServe and
of NVIDIA Triton Inference Server), so existing clients of that protocol work
unchanged. It runs on Starlette and uvicorn (the ``serve`` extra:
``pip install 'minigrad-edu[serve]'``), coalesces concurrent requests into
batches (`minigrad.serve.batching`), runs each model in its own worker
thread under ``no_grad``, and exports Prometheus metrics at ``/metrics``.

From Python:

    from minigrad.serve import BackgroundServer, load_served_model
    models = {"mnist": load_served_model("mnist", "mlp.npz")}
    with BackgroundServer(models) as server:       # a free port on 127.0.0.1
        print(server.url)

Modules: `protocol` (request/response JSON),
`batching` (dynamic batching), `models`
(minigrad and onnxruntime models), `app` (HTTP).
"""

from minigrad.serve.app import BackgroundServer, ServeConfig, create_app, is_loopback, make_server
from minigrad.serve.batching import DynamicBatcher, QueueFull
from minigrad.serve.models import MinigradModel, OnnxModel, ServedModel, load_served_model
from minigrad.serve.protocol import ProtocolError
