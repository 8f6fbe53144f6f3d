"""The C kernels of the host build, at the path the README promises (`bench.kernels.conv2d`); the
code lives in bench.native.kernels."""

from bench.native.kernels import (ConvOp, ConvTimes, Timing, checksum, conv2d, conv2d_error, conv2d_int8_stages,
                                  conv2d_timed, gaussian)

__all__ = ["ConvOp", "ConvTimes", "Timing", "checksum", "conv2d", "conv2d_error", "conv2d_int8_stages",
           "conv2d_timed", "gaussian"]
