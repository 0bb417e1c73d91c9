"""Serving throughput and latency: ``python -m minigrad.serve`` under concurrent load, batching off vs on.

The server runs in its own process (``python -m minigrad.serve``) on 127.0.0.1,
serving the MNIST MLP (784-128-10) from a file written by ``minigrad.save_model``.
The load generator, in this process, keeps ``--clients`` concurrent clients busy
(each one keep-alive HTTP/1.1 connection, written on asyncio streams so the client
costs little CPU), each sending single-image ``POST /v2/models/mnist/infer``
requests back to back until ``--requests`` have been answered in all. Every
answer must be 200 and equal the model's own logits (float32 tolerance).

Two models: the MNIST MLP (784-128-10, about 0.1 ms per forward pass, so
HTTP and JSON dominate each request's cost) and the MNIST CNN (about 10 ms per
single-image forward pass, so the model dominates). Two configurations of the
same server for each:

* batching off: ``--max-batch-size 1`` (every request is its own forward pass);
* batching on: ``--max-batch-size 32 --batch-delay-ms 1`` (concurrent requests
  coalesced into one forward pass).

It prints, for each, throughput (requests/s), p50/p99/max latency (ms), the
mean batch size read from the server's ``/metrics``, and the server process's CPU
time per request (user + system, from /proc), which depends far less than the
wall-clock figures on what else the machine runs. Targets (figures, not
assertions): p99 <= 50 ms at 32 clients, batching >= 2x the unbatched throughput.

    python benchmarks/serve.py [--model mlp|cnn|both] [--binary] [--http auto|h11|httptools]
                               [--requests 2000] [--cnn-requests 500] [--clients 32] [--rounds 1]

``--binary`` adds a run of the MLP whose requests carry the image as raw float32
bytes (the binary tensor data extension, ``tritonclient``'s default) instead of
JSON numbers, which removes most of the per-request parsing cost.

Traffic goes to loopback only; the server process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_path: Path, port: int, flags: list[str]) -> subprocess.Popen:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"),
               PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "minigrad.serve", "--model", f"mnist={model_path}",
                             "--port", str(port), "--max-queue", "1024", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited: " + proc.stderr.read().decode())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not become ready")


async def read_response(reader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    return status, await reader.readexactly(length)


async def load(port: int, bodies: list[bytes], n_requests: int, n_clients: int):
    """Send ``n_requests`` from ``n_clients`` keep-alive connections; (latencies s, wall s, answers)."""
    latencies, answers = [], {}
    counter = iter(range(n_requests))

    async def client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                extra, body = bodies[i % len(bodies)]
                head = (b"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra
                        + f"Content-Length: {len(body)}\r\n\r\n".encode())
                start = time.perf_counter()
                writer.write(head + body)
                status, payload = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    raise RuntimeError(f"request {i}: HTTP {status}: {payload[:200]!r}")
                answers[i] = payload
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(n_clients)))
    return np.array(latencies), time.perf_counter() - start, answers


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere).

    Unlike wall-clock figures, CPU time per request hardly depends on what else the
    machine is running: the steadier measure of the server's cost on a shared machine.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mean_batch_size(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := s.recv(65536):
            text += chunk
    text = text.decode()
    total = float(re.search(r'minigrad_batch_size_sum\{model="mnist"\} (\S+)', text).group(1))
    count = float(re.search(r'minigrad_batch_size_count\{model="mnist"\} (\S+)', text).group(1))
    return total / count


def make_body(x: np.ndarray, binary: bool) -> tuple[bytes, bytes]:
    """(extra headers, body) for one image: JSON data, or the binary tensor data extension."""
    if not binary:
        body = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                       "data": x.ravel().tolist()}]}).encode()
        return b"Content-Type: application/json\r\n", body
    header = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                     "parameters": {"binary_data_size": x.nbytes}}]}).encode()
    return (f"Content-Type: application/octet-stream\r\nInference-Header-Content-Length: {len(header)}\r\n"
            .encode(), header + x.astype("<f4").tobytes())


def bench_model(kind: str, n_requests: int, n_clients: int, rounds: int, tmp: Path,
                binary: bool = False, http: str = "auto") -> dict:
    import minigrad
    from minigrad.nn import registry

    minigrad.manual_seed(0)
    model = registry.get_model(f"mnist-{kind}").eval()
    rng = np.random.default_rng(0)
    images = rng.standard_normal((64, 1, 1, 28, 28)).astype(np.float32)
    bodies = [make_body(x, binary) for x in images]
    with minigrad.no_grad():
        expected = model(minigrad.tensor(images[:, 0])).numpy()
    kind_label = f"{kind} {'binary' if binary else 'JSON'}"
    path = tmp / f"{kind}.npz"
    minigrad.save_model(model, path)
    results = {}
    for name, flags in CONFIGS.items():
        port = free_port()
        proc = start_server(path, port, flags + ["--http", http])
        try:
            asyncio.run(load(port, bodies, min(200, n_requests), n_clients))  # warm-up
            best = None
            for _ in range(rounds):
                cpu_before = cpu_seconds(proc.pid)
                lat, wall, answers = asyncio.run(load(port, bodies, n_requests, n_clients))
                cpu = (cpu_seconds(proc.pid) - cpu_before) / n_requests
                if best is None or wall < best[1]:
                    best = (lat, wall, answers, cpu)
            lat, wall, answers, cpu = best
            for i, payload in answers.items():
                got = np.array(json.loads(payload)["outputs"][0]["data"], np.float32)
                np.testing.assert_allclose(got, expected[i % len(bodies)], rtol=1e-4, atol=1e-5)
            batch = mean_batch_size(port)
        finally:
            proc.terminate()
            proc.wait(30)
        r = results[name] = dict(throughput=len(lat) / wall, p50=np.percentile(lat, 50) * 1e3,
                                 p99=np.percentile(lat, 99) * 1e3, max=lat.max() * 1e3, batch=batch,
                                 cpu=cpu * 1e3)
        print(f"{kind_label} {name:13s}: {r['throughput']:6.0f} req/s  p50 {r['p50']:6.1f} ms  "
              f"p99 {r['p99']:6.1f} ms  max {r['max']:6.1f} ms  mean batch {r['batch']:4.1f} rows  "
              f"server CPU {r['cpu']:.2f} ms/request", flush=True)
    speedup = results["batching on"]["throughput"] / results["batching off"]["throughput"]
    cpu_ratio = results["batching off"]["cpu"] / results["batching on"]["cpu"]
    print(f"{kind_label} batching: throughput {speedup:.2f}x, server CPU per request {cpu_ratio:.2f}x "
          f"less; p99 with batching {results['batching on']['p99']:.1f} ms; every answer checked "
          "against the model", flush=True)
    return results


CONFIGS = {"batching off": ["--max-batch-size", "1", "--batch-delay-ms", "0"],
           "batching on": ["--max-batch-size", "32", "--batch-delay-ms", "1"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--binary", action="store_true",
                        help="also run the MLP with the binary tensor data extension (no JSON numbers)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per run for the MLP")
    parser.add_argument("--cnn-requests", type=int, default=500,
                        help="requests per run for the CNN (about 10 ms each unbatched)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="the server's HTTP parser (auto: httptools when installed)")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds per configuration (best kept)")
    args = parser.parse_args(argv)
    print(f"one MNIST image per request from {args.clients} concurrent clients on loopback; server "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '1')}, --http {args.http}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("mlp", "cnn") if args.model == "both" else (args.model,):
            n = args.requests if kind == "mlp" else args.cnn_requests
            print(f"-- mnist-{kind}: {n} requests")
            bench_model(kind, n, args.clients, args.rounds, Path(tmp), http=args.http)
            if kind == "mlp" and args.binary:
                print(f"-- mnist-{kind}, binary tensor data: {n} requests")
                bench_model(kind, n, args.clients, args.rounds, Path(tmp), binary=True, http=args.http)
    return 0


if __name__ == "__main__":
    sys.exit(main())
