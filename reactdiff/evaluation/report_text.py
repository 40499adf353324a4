"""Sentences the report's notes share across protocols."""

from __future__ import annotations


def lags(context: dict) -> str:
    """The TLCC lag window in frames and seconds, for the notes."""
    lag, fps = context["max_lag"], context["fps"]
    return f"lags -{lag}..{lag} frames, ±{lag / fps:.2f} s at {fps} fps"
