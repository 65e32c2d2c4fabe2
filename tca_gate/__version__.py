"""The version of tca-gate: a leaf module, so any layer can read it without importing the rest."""

__version__ = "0.1.0"
