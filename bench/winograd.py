"""Winograd transforms, at the path the README promises (`bench.winograd.cook_toom`, ...); the code
lives in bench.numerics.winograd."""

from bench.numerics.winograd import (BARABASZ_POINTS, DEFAULT_POINTS, Transform, cook_toom, diagonal_scaling,
                                     exact_matrices, identity_error, load_transform, named_transform, parse_points,
                                     save_transform)
from bench.operators import NAMED_TRANSFORMS

__all__ = ["BARABASZ_POINTS", "DEFAULT_POINTS", "NAMED_TRANSFORMS", "Transform", "cook_toom", "diagonal_scaling",
           "exact_matrices", "identity_error", "load_transform", "named_transform", "parse_points", "save_transform"]
