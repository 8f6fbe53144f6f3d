"""The mathematics, in numpy and exact rationals: Winograd transforms and transform files
(`winograd`), the float64 and integer references the kernels must match (`reference`), transform
matrices as integers (`matrix_quant`) and the search for int8-friendly transforms (`search`).
Shipped named transforms live in `transforms/`. Imports only the base modules."""
