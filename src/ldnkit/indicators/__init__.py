"""Indicators: xarray in, xarray out."""
