"""Showing a secret without revealing it (the rule lives in console.secret)."""

from console.secret import mask_secret

__all__ = ["mask_secret"]
