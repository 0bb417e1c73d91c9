"""Neural-network building blocks, with PyTorch's names: ``from minigrad import nn``.

``nn.Module`` and the containers live in ``module.py``, the basic layers in
``layers.py``, initialisers in ``nn.init``, stateless functions and losses in
``nn.functional`` (``import minigrad.nn.functional as F``). This file only
re-exports them; each chapter's layers add their import line below.
"""

from minigrad.nn import functional, init, utils
from minigrad.nn.layers import (
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minigrad.nn.module import Module, ModuleDict, ModuleList, Parameter, Sequential
