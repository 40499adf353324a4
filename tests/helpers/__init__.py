"""Helpers shared by test modules (not fixtures: those live in conftest.py files)."""
