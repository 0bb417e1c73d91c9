"""The HTTP side: a Starlette application speaking the Open Inference Protocol v2, run by uvicorn.

Endpoints (KServe / Triton REST):

| method and path                     | answer                                                |
|-------------------------------------|-------------------------------------------------------|
| ``GET /v2``                         | server metadata: name, version, extensions            |
| ``GET /v2/health/live``             | 200 while the process runs                            |
| ``GET /v2/health/ready``            | 200 once every model is loaded, 503 while stopping    |
| ``GET /v2/models/{name}``           | model metadata: inputs and outputs (-1 = any size)    |
| ``GET /v2/models/{name}/ready``     | 200 if that model is loaded, 404 if unknown           |
| ``POST /v2/models/{name}/infer``    | inference (JSON tensors in, JSON tensors out)         |
| ``GET /metrics``                    | Prometheus metrics: requests, latencies, batch sizes  |

The ``/v2/models/{name}/versions/{version}/...`` forms are accepted too (one version, "1").
Every error is ``{"error": "..."}`` with 400 (bad request), 401 (API key), 404
(unknown model or path), 405, 408 (body too slow), 413 (body too large), 415
(content type), 500 (the model failed or produced NaN/infinity) or 503 (queue
full, shutting down).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import socket
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

from minigrad.serve.batching import DynamicBatcher, QueueFull
from minigrad.serve.models import ServedModel
from minigrad.serve.protocol import ProtocolError, dumps, encode_outputs, parse_json, parse_request

__all__ = ["ServeConfig", "create_app", "make_server", "BackgroundServer", "is_loopback"]

log = logging.getLogger("minigrad.serve")
INLINE_PARSE_BYTES = 64 * 1024  # bodies larger than this are parsed off the event loop


@dataclass
class ServeConfig:
    """The server's settings (the command line's flags, with the same defaults)."""

    max_batch_size: int = 32
    batch_delay_ms: float = 1.0
    max_queue: int = 256
    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 512
    graceful_timeout_s: float = 30.0
    api_key: str | None = None
    access_log: bool = False
    http: str = "auto"  # HTTP parser: "httptools" (C, uvicorn[standard]) when installed, else "h11"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses other machines cannot reach."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(obj, status: int = 200, headers: dict | None = None):
    from starlette.responses import Response

    return Response(dumps(obj), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict | None = None):
    return _json({"error": message}, status, headers)


class _Metrics:
    def __init__(self, max_batch_size: int):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()  # one per app: several servers may share a process
        self.requests = Counter("minigrad_inference_requests", "Inference requests by model and "
                                "HTTP status", ["model", "code"], registry=self.registry)
        self.latency = Histogram("minigrad_inference_request_duration_seconds",
                                 "Time from the request's arrival to its answer", ["model"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        buckets = sorted({2 ** k for k in range(12) if 2 ** k < max_batch_size} | {max_batch_size})
        self.batch = Histogram("minigrad_batch_size", "Rows in each forward pass", ["model"],
                               registry=self.registry, buckets=buckets)
        self.queue = Gauge("minigrad_queue_depth", "Requests waiting for a forward pass",
                           ["model"], registry=self.registry)


def create_app(models: dict[str, ServedModel], config: ServeConfig | None = None):
    """The Starlette application serving ``models`` (by name) with ``config``.

    The batchers' worker threads start with the application (its lifespan) and
    are drained and stopped when it shuts down.
    """
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    import minigrad

    config = config or ServeConfig()
    metrics = _Metrics(config.max_batch_size)
    batchers: dict[str, DynamicBatcher] = {}
    state = {"ready": False}

    def authorized(request) -> bool:
        if config.api_key is None:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {config.api_key}".encode())

    def unauthorized():
        return _error(401, "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                      {"WWW-Authenticate": "Bearer"})

    def guarded(handler):
        async def endpoint(request):
            if not authorized(request):
                return unauthorized()
            return await handler(request)
        return endpoint

    def find(request) -> ServedModel:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        if name not in models:
            raise ProtocolError(404, f"unknown model {name!r}; this server serves {sorted(models)}")
        if version is not None and version != "1":
            raise ProtocolError(404, f"model {name!r} has no version {version!r}; its versions are ['1']")
        return models[name]

    async def server_metadata(request):
        return _json({"name": "minigrad", "version": minigrad.__version__, "extensions": []})

    async def live(request):
        return _json({"live": True})

    async def ready(request):
        return _json({"ready": state["ready"]}, 200 if state["ready"] else 503)

    async def model_metadata(request):
        try:
            return _json(find(request).metadata())
        except ProtocolError as error:
            return _error(error.status, error.message)

    async def model_ready(request):
        try:
            model = find(request)
        except ProtocolError as error:
            return _error(error.status, error.message)
        ok = state["ready"]
        return _json({"name": model.name, "ready": ok}, 200 if ok else 503)

    async def read_body(request) -> bytes:
        """The body, within the size limit and the body timeout (413, 408).

        An oversized body is still read, and thrown away, up to four times the limit:
        a client that sends its whole body before reading the answer (urllib, curl)
        then gets the 413 rather than a broken connection.
        """
        limit = config.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ProtocolError(400, f"invalid Content-Length {length!r}")
            if int(length) > 4 * limit:
                raise ProtocolError(413, f"the body of {length} bytes exceeds the limit of "
                                         f"{limit} bytes")
        chunks, size = [], 0

        async def read():
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > 4 * limit:
                    break
                if size <= limit:
                    chunks.append(chunk)

        try:
            await asyncio.wait_for(read(), config.body_timeout_s)
        except asyncio.TimeoutError:
            if size > limit:
                raise ProtocolError(413, f"the body exceeds the limit of {limit} bytes") from None
            raise ProtocolError(408, f"the body did not arrive within {config.body_timeout_s:g} s") from None
        if size > limit:
            raise ProtocolError(413, f"the body exceeds the limit of {limit} bytes")
        return b"".join(chunks)

    async def infer(request):
        start = time.perf_counter()
        name = request.path_params["name"]
        label = name if name in models else "<unknown>"
        try:
            model = find(request)
            header_length = request.headers.get("inference-header-content-length")
            kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
            binary_ok = header_length is not None and kind == "application/octet-stream"
            if kind != "application/json" and not kind.endswith("+json") and not binary_ok:
                raise ProtocolError(415, f"Content-Type {kind!r} is not supported: send the tensors "
                                         "as JSON with 'Content-Type: application/json'")
            body = await read_body(request)
            binary = b""
            if header_length is not None:  # the binary tensor data extension
                if not header_length.isdigit() or int(header_length) > len(body):
                    raise ProtocolError(400, f"invalid Inference-Header-Content-Length {header_length!r} "
                                             f"for a body of {len(body)} bytes")
                body, binary = body[:int(header_length)], body[int(header_length):]
            loop = asyncio.get_running_loop()
            if len(body) + len(binary) > INLINE_PARSE_BYTES:  # keep the loop free for health checks
                arrays, request_id, names = await loop.run_in_executor(
                    None, _parse_and_validate, body, model, binary)
            else:
                arrays, request_id, names = _parse_and_validate(body, model, binary)
            try:
                future = batchers[name].submit(arrays)
            except QueueFull as error:
                raise ProtocolError(503, f"model {name!r} is overloaded: {error}; retry later") from None
            metrics.queue.labels(name).set(batchers[name].queue_depth)
            try:
                results = await asyncio.wrap_future(future)
            except Exception as error:
                log.exception("model %r failed", name)
                raise ProtocolError(500, f"model {name!r} failed on this request: "
                                         f"{type(error).__name__}: {error}") from None
            outputs = encode_outputs(results, names, model.outputs, name)
            answer = {"model_name": name, "model_version": "1", "outputs": outputs}
            if request_id is not None:
                answer["id"] = request_id
            response = _json(answer)
        except ProtocolError as error:
            # the body was not read to its end: the connection cannot carry another request
            close = {"Connection": "close"} if error.status in (408, 413) else None
            response = _error(error.status, error.message, close)
        metrics.requests.labels(label, str(response.status_code)).inc()
        metrics.latency.labels(label).observe(time.perf_counter() - start)
        return response

    async def prometheus(request):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.responses import Response

        for name, batcher in batchers.items():
            metrics.queue.labels(name).set(batcher.queue_depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(request, exc):
        messages = {404: f"no such endpoint: {request.method} {request.url.path}",
                    405: f"method {request.method} is not allowed on {request.url.path}"}
        return _error(exc.status_code, messages.get(exc.status_code, str(exc.detail)),
                      getattr(exc, "headers", None))

    async def server_error(request, exc):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal server error")

    @asynccontextmanager
    async def lifespan(app):
        for name, model in models.items():
            batchers[name] = DynamicBatcher(
                model.run, config.max_batch_size, config.batch_delay_ms / 1000, config.max_queue,
                on_batch=metrics.batch.labels(name).observe, name=name)
        state["ready"] = True
        try:
            yield
        finally:
            state["ready"] = False
            for batcher in batchers.values():  # uvicorn has drained the connections: finish the queue
                await asyncio.get_running_loop().run_in_executor(None, batcher.close)

    model_paths = ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"]
    routes = [
        Route("/v2", guarded(server_metadata), methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/metrics", guarded(prometheus), methods=["GET"]),
    ]
    for base in model_paths:
        routes += [Route(base, guarded(model_metadata), methods=["GET"]),
                   Route(base + "/ready", guarded(model_ready), methods=["GET"]),
                   Route(base + "/infer", guarded(infer), methods=["POST"])]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.models, app.state.batchers, app.state.metrics = models, batchers, metrics
    return app


def _parse_and_validate(body: bytes, model: ServedModel, binary: bytes = b""):
    arrays, request_id, names = parse_request(parse_json(body), model.inputs, model.outputs, binary)
    try:
        model.validate(arrays)
    except ValueError as error:
        raise ProtocolError(400, str(error)) from None
    return arrays, request_id, names


def _http_protocol_base(http: str):
    """uvicorn's HTTP/1.1 protocol class: httptools (C parser, faster) when installed, else h11."""
    if http not in ("auto", "h11", "httptools"):
        raise ValueError(f"http must be 'auto', 'h11' or 'httptools', got {http!r}")
    if http != "h11":
        try:
            import httptools  # noqa: F401
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

            return HttpToolsProtocol
        except ImportError:
            if http == "httptools":
                raise ImportError("http='httptools' needs the httptools package") from None
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return H11Protocol


def _protocol_class(header_timeout: float, keep_alive: float, max_connections: int, http: str = "auto"):
    """uvicorn's HTTP protocol plus a deadline for the request line and headers, and a JSON 503.

    uvicorn times out idle keep-alive connections but not a client that sends its
    headers one byte at a time (slowloris); this closes a connection that has not
    completed a request's headers ``header_timeout`` seconds after it opened (or
    after its previous response plus the keep-alive time). A connection beyond
    ``max_connections`` is answered 503 with a JSON error and closed.
    """
    base = _http_protocol_base(http)
    busy = dumps({"error": f"the server has {max_connections} open connections, its limit; retry later"})
    busy_response = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\nconnection: close\r\n\r\n" % len(busy)) + busy

    class GuardedProtocol(base):
        def connection_made(self, transport):
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.write(busy_response)
                transport.close()
                return
            self._arm(header_timeout)

        def on_response_complete(self):
            self._arm(keep_alive + header_timeout)
            super().on_response_complete()

        def _arm(self, delay):
            self.loop.call_later(delay, self._deadline, self.cycle)

        def _deadline(self, marker):
            idle = marker is None or marker.response_complete
            if self.cycle is marker and idle and not self.transport.is_closing():
                self.transport.close()

    return GuardedProtocol


def make_server(models: dict[str, ServedModel], config: ServeConfig | None = None,
                host: str = "127.0.0.1", port: int = 8000):
    """A ``uvicorn.Server`` for `create_app` with the config's limits and timeouts."""
    import uvicorn

    config = config or ServeConfig()
    app = create_app(models, config)
    uv = uvicorn.Config(
        app, host=host, port=port, lifespan="on",
        http=_protocol_class(config.header_timeout_s, config.keep_alive_s, config.max_connections,
                             config.http),
        timeout_keep_alive=config.keep_alive_s,
        timeout_graceful_shutdown=config.graceful_timeout_s, access_log=config.access_log,
        log_level="info" if config.access_log else "warning", server_header=False)
    return uvicorn.Server(uv)


class BackgroundServer:
    """Serve ``models`` from a thread of this process (for tests, notebooks, the tutorial).

    >>> with BackgroundServer({"mnist": model}) as server:
    ...     httpx.get(server.url + "/v2/health/ready")

    Port 0 (the default) takes any free port; ``url`` says which. ``stop()`` shuts
    down gracefully: no new connections, in-flight requests finish, queues drain.
    """

    def __init__(self, models: dict[str, ServedModel], config: ServeConfig | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.server = make_server(models, config, host, port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(2048)
        self.host, self.port = self._socket.getsockname()[:2]
        bracket = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{bracket}:{self.port}"
        self._thread = threading.Thread(target=self._run, name="minigrad-serve", daemon=True)

    @property
    def app(self):
        return self.server.config.app

    def _run(self):
        asyncio.run(self.server.serve(sockets=[self._socket]))

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
