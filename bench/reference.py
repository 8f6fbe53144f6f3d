"""The float64 and integer numpy references, at the path the README promises
(`bench.reference.conv2d_winograd_int8`, ...); the code lives in bench.numerics.reference."""

from bench.numerics.reference import (conv2d_direct, conv2d_im2row, conv2d_im2row_int8, conv2d_winograd,
                                      conv2d_winograd_int8, error_metrics, quantize_symmetric, winograd_int8_stages)

__all__ = ["conv2d_direct", "conv2d_im2row", "conv2d_im2row_int8", "conv2d_winograd", "conv2d_winograd_int8",
           "error_metrics", "quantize_symmetric", "winograd_int8_stages"]
