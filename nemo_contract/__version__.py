"""The one version string of the distribution (``pyproject.toml`` reads it; so do both command lines)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
