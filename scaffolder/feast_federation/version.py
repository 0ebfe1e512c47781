"""This release's version: what generated repos pin and saved plans record."""

__version__ = "0.1.0"
