"""Numba kernels: numpy in, numpy out; no xarray, no I/O."""
