"""The package version, defined once (read by hatchling and by ``emotionkit.__version__``)."""

__version__ = "0.2.0"
