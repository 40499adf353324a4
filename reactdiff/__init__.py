"""ReactDiff: generate multiple appropriate listener facial reactions."""

__version__ = "0.1.0"
