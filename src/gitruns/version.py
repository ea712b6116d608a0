"""gitruns' version, on its own so any layer can name it without importing the package."""

__version__ = "0.2.0"
