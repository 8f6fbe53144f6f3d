"""The C kernels of kernels_c/ from Python: one build for every target (`build`), the host library
through cffi (`kernels`) and the static model of a build's micro-kernels (`kernel_model`). Imports
numerics and the base modules."""
