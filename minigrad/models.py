"""Servable model files: ``minigrad.save_model(model, path)`` and ``minigrad.load_model(path)``.

A checkpoint (``minigrad.save(model.state_dict(), path)``) holds weights only: to
use it you must rebuild the architecture in code. A *servable* file also records
*which* architecture: the name of a builder registered in
`minigrad.nn.registry` and the keyword arguments to call it with. So
``python -m minigrad.serve --model mnist=mlp.npz`` can rebuild the model from the
file alone.

Safety: the file names a builder, it never holds code or an import path.
``load_model`` looks the name up in the registry (an unknown name is an error),
calls the builder with JSON arguments, and loads the weights with
``load_state_dict(strict=True)``; nothing in the file is executed or unpickled.

Layout: the weights are stored exactly as ``minigrad.save(model.state_dict())``
would store them (the suffix chooses ``.npz`` or ``.safetensors``), plus one
entry, ``__minigrad_model__``, holding ``{"format": 1, "builder": name, "config": JSON text}``.
``numpy.load`` (or ``safetensors``) still reads the weights under their usual names.
"""

from __future__ import annotations

import json

import numpy as np

from minigrad.nn import registry
from minigrad.serialization import load, save

__all__ = ["save_model", "load_model", "read_model_header", "MODEL_KEY"]

MODEL_KEY = "__minigrad_model__"
FORMAT_VERSION = 1


def save_model(model, path, builder: str | None = None, **config) -> None:
    """Write ``model``'s weights and the registered builder that rebuilds it to ``path``.

    Args:
        model: an ``nn.Module``.
        path: the file; its suffix chooses the format as in `minigrad.save`.
        builder: the registered builder's name (see `minigrad.nn.registry.list_models`).
            May be omitted for a model made by ``registry.get_model`` or ``load_model``,
            which remember theirs.
        **config: the builder's keyword arguments (JSON values), e.g. ``vocab_size=5000``;
            when ``builder`` is omitted they default to the remembered ones.

    Before writing, a fresh model is built from ``builder`` and ``config`` and must
    have exactly the same parameter and buffer names and shapes as ``model``: a
    file that would not load is never written.

    >>> model = registry.get_model("mnist-mlp")
    >>> minigrad.save_model(model, "mlp.npz")              # builder remembered
    >>> minigrad.save_model(my_sequential, "mlp.npz", builder="mnist-mlp", hidden=128)
    """
    if builder is None:
        remembered = registry.model_config(model)
        if remembered is None:
            raise ValueError("save_model: this model was not made by registry.get_model or "
                             "load_model; pass builder=NAME (one of "
                             f"{registry.list_models()}) and the builder's arguments")
        builder, config = remembered[0], {**remembered[1], **config}
    fresh = registry.get_model(builder, **config)  # checks the name and that config is JSON
    state = model.state_dict()
    expected = {k: tuple(v.shape) for k, v in fresh.state_dict().items()}
    actual = {k: tuple(v.shape) for k, v in state.items()}
    if expected != actual:
        missing = sorted(set(expected) - set(actual))
        unexpected = sorted(set(actual) - set(expected))
        shapes = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
        raise ValueError(
            f"save_model: the model does not match builder {builder!r} with config "
            f"{registry.model_config(fresh)[1]}: missing {missing}, unexpected {unexpected}, "
            f"different shapes {[(k, actual[k], expected[k]) for k in shapes]}")
    if MODEL_KEY in state:
        raise ValueError(f"save_model: the state dict has a key named {MODEL_KEY!r}")
    header = {"format": FORMAT_VERSION, "builder": builder,
              "config": json.dumps(registry.model_config(fresh)[1], sort_keys=True)}
    save({MODEL_KEY: header, **state}, path)


def _parse_header(header, path) -> tuple[str, dict]:
    if header is None:
        raise ValueError(f"load_model: {path} holds weights but no model description (it was "
                         "not written by minigrad.save_model: e.g. minigrad.save or PyTorch); build "
                         "the model yourself and call model.load_state_dict(minigrad.load(path)), "
                         "then minigrad.save_model(model, new_path, builder=NAME) makes it servable")
    if not isinstance(header, dict) or not isinstance(header.get("builder"), str) \
            or not isinstance(header.get("config"), str):
        raise ValueError(f"load_model: {path}: malformed {MODEL_KEY} entry")
    version = header.get("format")
    if isinstance(version, np.ndarray):
        version = version.item()
    if version != FORMAT_VERSION:
        raise ValueError(f"load_model: {path}: model file format {version!r} is not supported "
                         f"(this minigrad reads format {FORMAT_VERSION})")
    try:
        config = json.loads(header["config"])
    except ValueError as error:
        raise ValueError(f"load_model: {path}: the builder arguments are not valid JSON: {error}") \
            from None
    if not isinstance(config, dict):
        raise ValueError(f"load_model: {path}: the builder arguments must be a JSON object")
    return header["builder"], config


def read_model_header(path) -> tuple[str, dict]:
    """``(builder name, config)`` recorded in a file written by `save_model`."""
    contents = load(path)
    return _parse_header(contents.get(MODEL_KEY) if isinstance(contents, dict) else None, path)


def load_model(path):
    """Rebuild the model saved in ``path`` by `save_model`, in eval mode.

    The builder named in the file must be registered (``KeyError`` otherwise); the
    weights must match it exactly (``load_state_dict(strict=True)``). No code from
    the file runs.
    """
    contents = load(path)
    if not isinstance(contents, dict):
        raise ValueError(f"load_model: {path} does not hold a dict of weights")
    name, config = _parse_header(contents.pop(MODEL_KEY, None), path)
    if name not in registry.list_models():
        raise KeyError(f"load_model: {path} names the model builder {name!r}, which is not "
                       f"registered here (registered: {registry.list_models()}); import the "
                       "module that registers it first")
    try:
        model = registry.get_model(name, **config)
    except TypeError as error:
        raise ValueError(f"load_model: {path}: {error}") from None
    model.load_state_dict(contents)
    return model.eval()
