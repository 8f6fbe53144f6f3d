"""winobench: latency and error of im2row and Winograd convolution on Arm big.LITTLE boards."""

__version__ = "0.1.0"
