"""JSON as JSON: no NaN or Infinity in any body the service writes.

``finite`` replaces every non-finite float (Python or NumPy) by ``None`` — the honest JSON for
"no number" — and ``StrictJSONProvider`` serialises Flask responses strictly, falling back to
``finite`` (and a warning in the log) if an engine ever hands a view a NaN or an infinity.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from flask.json.provider import DefaultJSONProvider

log = logging.getLogger(__name__)


def finite(value: Any) -> Any:
    """``value`` with every NaN/±Infinity (at any depth) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # NumPy scalars and arrays
        return finite(value.tolist())
    return value


def dumps_strict(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        log.warning("a non-finite number was replaced by null in a JSON body")
        return json.dumps(finite(value), allow_nan=False, **kwargs)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, writing strict JSON (see :func:`dumps_strict`)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return dumps_strict(obj, **kwargs)
