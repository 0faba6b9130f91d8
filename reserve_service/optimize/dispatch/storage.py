"""A plan as JSON and back, so that a stored plan survives code changes (pure code).

Every dataclass of a plan is written field by field as a JSON object (dates and datetimes in
ISO 8601, travel-time matrices as nested lists with ``null`` for unreachable) and read back
through the field types, so a class that moves to another module still reads.  The document
is stored zlib-compressed (the travel matrices dominate it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import types
import typing
import zlib
from collections.abc import Mapping
from functools import cache
from typing import Any, cast

import numpy as np

from reserve_service.optimize.dispatch.plan import DispatchPlan

PLAN_FORMAT = "dispatch-plan/1"


class StoredPlanError(ValueError):
    """Stored bytes that are not a plan of this format (e.g. a pickle from an older version)."""


def dump_plan(plan: DispatchPlan, names: Mapping[str, str]) -> bytes:
    """The plan and its display names as compressed JSON."""
    document = {"format": PLAN_FORMAT, "plan": _encode(plan), "names": dict(names)}
    return zlib.compress(json.dumps(document, ensure_ascii=False, allow_nan=False).encode())


def load_plan(data: bytes) -> tuple[DispatchPlan, dict[str, str]]:
    """Read :func:`dump_plan`'s bytes; :class:`StoredPlanError` for anything else."""
    try:
        document = json.loads(zlib.decompress(data).decode())
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoredPlanError("not a stored dispatch plan (stored by an older version?)") from exc
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise StoredPlanError(f"unknown stored plan format {document.get('format')!r}")
    return _decode(DispatchPlan, document["plan"]), dict(document["names"])


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [[x if math.isfinite(x) else None for x in row] for row in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    from reserve_service.optimize import dispatch  # every name a plan's fields refer to

    return typing.get_type_hints(cls, localns=vars(dispatch))


def _decode(hint: Any, data: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if data is None:
        return math.inf if hint is float else None
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data
    if dataclasses.is_dataclass(hint):
        cls = cast(type, hint)  # a type hint: the dataclass itself, never an instance
        hints = _hints(cls)
        fields = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(cls)
            if f.init and f.name in data
        }
        return cls(**fields)
    if hint is np.ndarray:
        return np.array([[math.inf if x is None else x for x in row] for row in data], float)
    if origin in (dict, Mapping, typing.Mapping) or hint in (dict, Mapping):
        value_hint = args[1] if args else Any
        return {k: _decode(value_hint, v) for k, v in data.items()}
    if origin is tuple:
        if len(args) > 1 and args[-1] is not Ellipsis:  # a fixed-length tuple, e.g. (float, matrices)
            return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in data)
    if origin is list:
        return [_decode(args[0] if args else Any, v) for v in data]
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if hint is dt.date:
        return dt.date.fromisoformat(data)
    if hint is float:
        return float(data)
    return data
