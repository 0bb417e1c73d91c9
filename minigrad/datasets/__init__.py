"""Datasets that minigrad's examples and tutorials train on."""

from minigrad.datasets.mnist import MNIST_MEAN, MNIST_STD, MNISTData, load_mnist

__all__ = ["load_mnist", "MNISTData", "MNIST_MEAN", "MNIST_STD"]
