"""Strict JSON: what the service writes never holds NaN or Infinity."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reserve_service import create_app
from reserve_service.jsonio import dumps_strict, finite


def test_finite_replaces_every_non_finite_number_by_null_at_any_depth():
    body = {"vss": math.inf, "eev": -math.inf, "gap": math.nan, "ok": 1.5,
            "points": [{"x": np.float64("nan")}, (np.inf, 2)], "array": np.array([1.0, np.nan])}
    assert finite(body) == {"vss": None, "eev": None, "gap": None, "ok": 1.5,
                            "points": [{"x": None}, [None, 2]], "array": [1.0, None]}


def test_strict_dumps_is_parsed_by_a_strict_reader():
    text = dumps_strict({"bound": float("inf"), "values": [float("nan"), 3]})

    def refuse(constant: str) -> None:
        raise AssertionError(constant)

    assert json.loads(text, parse_constant=refuse) == {"bound": None, "values": [None, 3]}


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_view_handing_back_a_non_finite_number_still_sends_json(value, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})

    @app.get("/non-finite")
    def non_finite():
        return {"value": value, "list": [value, 1.0]}

    response = app.test_client().get("/non-finite")
    assert response.status_code == 200
    assert json.loads(response.get_data(as_text=True), parse_constant=lambda c: pytest.fail(c)) == {
        "value": None, "list": [None, 1.0]}
