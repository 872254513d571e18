"""The package version (a base module, so that any layer can record it without importing the face)."""

__version__ = "0.1.0"
