"""Neural-network building blocks, with PyTorch's names: ``from minigrad import nn``.

``nn.Module`` and the containers live in ``module.py``, the basic layers in
``layers.py``, initialisers in ``nn.init``, stateless functions and losses in
``nn.functional`` (``import minigrad.nn.functional as F``). This file only
re-exports them; each chapter's layers add their import line below.
"""

from minigrad.nn import (
    functional,
    init,
    parallel,  # noqa: E402
    utils,
)
from minigrad.nn.activation import *  # noqa: E402,F403
from minigrad.nn.attention import LearnedPositionalEmbedding, MultiheadAttention, PositionalEncoding
from minigrad.nn.conv import Conv1d, Conv2d
from minigrad.nn.dropout import Dropout1d, Dropout2d
from minigrad.nn.embedding import Embedding
from minigrad.nn.layers import (
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minigrad.nn.module import Module, ModuleDict, ModuleList, Parameter, Sequential
from minigrad.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from minigrad.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from minigrad.nn.registry import register_model  # noqa: E402
from minigrad.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minigrad.nn.transformer import (
    Transformer,
    TransformerBlock,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    TransformerLM,
)
