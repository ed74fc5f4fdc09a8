"""The cohortql version, in a leaf module so that stages can print it without importing the package's API."""

__version__ = "0.1.0"
