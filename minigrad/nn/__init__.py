"""Neural-network building blocks, with PyTorch's names: ``from minigrad import nn``.

``nn.Module`` and the containers live in ``module.py``, the basic layers in
``layers.py``, initialisers in ``nn.init``, stateless functions and losses in
``nn.functional`` (``import minigrad.nn.functional as F``). This file only
re-exports them; each chapter's layers add their import line below.
"""

# isort: skip_file
# In the order a reader meets them (the API page lists them so): Module and containers,
# the basic layers, activations, losses, convolution and pooling, normalization, dropout,
# embeddings, recurrent layers, attention and Transformers, then the tools around them.
from minigrad.nn.module import Module, Parameter, Sequential, ModuleList, ModuleDict
from minigrad.nn.layers import (
    Linear, Identity, Flatten, Dropout,
    ReLU, Sigmoid, Tanh, GELU, LeakyReLU, Softmax, LogSoftmax,
    MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss,
)
from minigrad.nn.activation import *  # noqa: F403
from minigrad.nn.conv import Conv1d, Conv2d
from minigrad.nn.pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from minigrad.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from minigrad.nn.dropout import Dropout1d, Dropout2d
from minigrad.nn.embedding import Embedding
from minigrad.nn.rnn import RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU
from minigrad.nn.attention import MultiheadAttention, PositionalEncoding, LearnedPositionalEmbedding
from minigrad.nn.transformer import (
    TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer,
    TransformerBlock, TransformerLM,
)
from minigrad.nn import functional, init, utils, parallel
from minigrad.nn.registry import register_model
from minigrad.nn.layers import CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, MarginRankingLoss, PoissonNLLLoss, SmoothL1Loss, TripletMarginLoss  # noqa: E402,I001,E501
from minigrad.nn.conv_more import *  # noqa: F403,E402
