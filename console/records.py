"""Dataclasses rebuilt from JSON the console wrote earlier (saved chats, fleet state): each field
checked against its annotation, so a hand-edited or damaged file fails where it is read, in
words, instead of as a TypeError three screens later. Stdlib only; a leaf.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")

_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false", type(None): "null",
          dict: "an object", list: "a list", tuple: "a list", bytes: "bytes"}


def fits(value: Any, tp: Any) -> bool:
    """Does a JSON value fit the annotation ``tp`` (str, int, float, bool, None, unions, list/tuple/dict
    of them, Any)? Classes that JSON cannot hold (a Secret, bytes) never fit."""
    if tp is Any or tp is object:
        return True
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return any(fits(value, a) for a in get_args(tp))
    if tp is type(None) or tp is None:
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp in (str, bool):
        return isinstance(value, tp)
    args = get_args(tp)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args else Any
        return all(fits(v, inner) for v in value)
    if origin is dict or tp is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value) and (
            not args or all(fits(v, args[1]) for v in value.values()))
    if tp in (list, tuple):
        return isinstance(value, (list, tuple))
    return isinstance(tp, type) and isinstance(value, tp)


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(a) for a in get_args(tp))
    return _WORDS.get(origin or tp, getattr(tp, "__name__", str(tp)))


def build(cls: type[T], data: Any, *, what: str, skip: tuple[str, ...] = ()) -> T:
    """``cls(**data)`` for the fields ``data`` has (others ignored, missing ones defaulted); raises
    ValueError naming the field and what it must be. ``skip``: fields never taken from ``data``."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be an object, not {_WORDS.get(type(data), type(data).__name__)}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in skip or not f.init:
            continue
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
                raise ValueError(f"{what} has no {f.name!r}")
            continue
        value = data[f.name]
        if not fits(value, hints[f.name]):
            raise ValueError(f"{what}: {f.name!r} must be {_describe(hints[f.name])}")
        kwargs[f.name] = tuple(value) if get_origin(hints[f.name]) is tuple else value
    return cls(**kwargs)
