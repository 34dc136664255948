"""Prompt suites and the default simulator config, shipped as package data."""

from pathlib import Path

SUITES_DIR = Path(__file__).parent
