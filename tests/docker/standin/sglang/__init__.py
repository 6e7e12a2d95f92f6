"""Fake ``sglang`` for the stand-in image: ``python3 -m sglang.launch_server`` only."""

__version__ = "0.0.0+standin"
