"""``python -m minigrad.serve --model NAME=PATH [...]``: serve models over the Open Inference Protocol.

    python -m minigrad.examples.mnist --epochs 3 --save runs/mnist/mlp.npz
    python -m minigrad.serve --model mnist=runs/mnist/mlp.npz
    curl -s localhost:8000/v2/models/mnist

Binds 127.0.0.1 unless ``--host`` says otherwise; any other address needs an
API key (``--api-key`` or the ``MINIGRAD_SERVE_API_KEY`` environment variable),
which clients send as ``Authorization: Bearer KEY``, unless ``--insecure`` is given.
Ctrl-C or SIGTERM shuts down gracefully: no new connections, in-flight requests
are answered, queued ones run.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _model_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    if not NAME.match(name):
        raise argparse.ArgumentTypeError(f"model name {name!r}: use letters, digits, '_', '.', '-'")
    return name, path


def build_parser() -> argparse.ArgumentParser:
    from minigrad.serve.app import ServeConfig

    d = ServeConfig()
    p = argparse.ArgumentParser(
        prog="python -m minigrad.serve",
        description="Serve minigrad models (files from minigrad.save_model, or .onnx files through "
                    "onnxruntime) over the Open Inference Protocol v2 (KServe/Triton REST).",
        epilog="example:\n  python -m minigrad.serve --model mnist=runs/mnist/mlp.npz\n"
               "  curl -s localhost:8000/v2/models/mnist",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", type=_model_arg, required=True, metavar="NAME=PATH",
                   help="a model to serve under NAME (repeat for several)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--api-key", default=os.environ.get("MINIGRAD_SERVE_API_KEY"),
                   help="require 'Authorization: Bearer KEY' (default: $MINIGRAD_SERVE_API_KEY)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback --host without an API key")
    p.add_argument("--max-batch-size", type=_positive_int, default=d.max_batch_size,
                   help="most rows per forward pass; 1 turns batching off (default: %(default)s)")
    p.add_argument("--batch-delay-ms", type=_non_negative_float, default=d.batch_delay_ms,
                   help="how long a batch waits for more requests (default: %(default)s)")
    p.add_argument("--max-queue", type=_positive_int, default=d.max_queue,
                   help="requests waiting per model before 503 (default: %(default)s)")
    p.add_argument("--max-body-bytes", type=_positive_int, default=d.max_body_bytes,
                   help="largest request body, else 413 (default: %(default)s)")
    p.add_argument("--max-connections", type=_positive_int, default=d.max_connections,
                   help="concurrent connections before 503 (default: %(default)s)")
    p.add_argument("--header-timeout", type=_non_negative_float, default=d.header_timeout_s,
                   help="seconds to receive a request's headers (default: %(default)s)")
    p.add_argument("--body-timeout", type=_non_negative_float, default=d.body_timeout_s,
                   help="seconds to receive a request's body, else 408 (default: %(default)s)")
    p.add_argument("--keep-alive", type=_non_negative_float, default=d.keep_alive_s,
                   help="seconds an idle connection stays open (default: %(default)s)")
    p.add_argument("--graceful-timeout", type=_non_negative_float, default=d.graceful_timeout_s,
                   help="seconds to let in-flight requests finish on shutdown (default: %(default)s)")
    p.add_argument("--http", choices=("auto", "h11", "httptools"), default=d.http,
                   help="HTTP parser: httptools (in C) when installed, else h11 (default: %(default)s)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        parser.error("the server needs the 'serve' extra: pip install 'minigrad-edu[serve]'")
    from minigrad.serve.app import ServeConfig, is_loopback, make_server
    from minigrad.serve.models import load_served_model

    if not is_loopback(args.host) and not args.api_key and not args.insecure:
        parser.error(f"--host {args.host} is reachable from other machines: give --api-key (or set "
                     "MINIGRAD_SERVE_API_KEY), or --insecure to serve without one")
    names = [name for name, _ in args.model]
    if len(set(names)) != len(names):
        parser.error(f"model names must be unique, got {names}")
    models = {}
    for name, path in args.model:
        try:
            models[name] = load_served_model(name, path)
        except (OSError, ValueError, KeyError, ImportError) as error:
            print(f"{parser.prog}: error: cannot load model {name!r} from {path}: {error}",
                  file=sys.stderr)
            return 2
    config = ServeConfig(
        max_batch_size=args.max_batch_size, batch_delay_ms=args.batch_delay_ms,
        max_queue=args.max_queue, max_body_bytes=args.max_body_bytes,
        body_timeout_s=args.body_timeout, header_timeout_s=args.header_timeout,
        keep_alive_s=args.keep_alive, max_connections=args.max_connections,
        graceful_timeout_s=args.graceful_timeout, api_key=args.api_key or None,
        access_log=args.access_log, http=args.http)
    server = make_server(models, config, args.host, args.port)
    for name, model in models.items():
        ins = ", ".join(f"{s.name} {s.datatype}{list(s.shape)}" for s in model.inputs)
        print(f"model {name!r} ({model.platform}): {ins}", flush=True)
    bracket = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving the Open Inference Protocol v2 on http://{bracket}:{args.port}/v2 "
          f"(batching up to {args.max_batch_size} rows, {args.batch_delay_ms:g} ms)", flush=True)
    # uvicorn handles SIGINT/SIGTERM (graceful shutdown), then re-raises the signal to
    # the handler in place before it: make that one return, so the exit status is 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    # The event loop (HTTP, JSON) and the model threads share the GIL. A thread that
    # wants it waits until the holder releases it or for the switch interval (5 ms by
    # default), which would add up to 5 ms per forward pass under load.
    sys.setswitchinterval(float(os.environ.get("MINIGRAD_SERVE_SWITCH_INTERVAL", "0.0005")))
    server.run()
    print("server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
