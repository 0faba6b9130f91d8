"""Fixtures shared by the API tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

FINISHED = ("succeeded", "failed", "cancelled")


def strict_json(response: Any) -> Any:
    """A response body parsed as JSON proper: NaN and Infinity are not JSON and fail the test."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the body of {response.request.path}")

    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


@pytest.fixture
def wait_for_job(client) -> Callable[..., dict[str, Any]]:
    """``wait_for_job(url, headers)``: poll a job until it finishes and return its body.

    The job must end ``succeeded`` unless ``expect`` says otherwise; every body polled is read
    as strict JSON.
    """

    def wait(
        url: str,
        headers: dict[str, str],
        *,
        expect: str | None = "succeeded",
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = strict_json(client.get(url, headers=headers))
            if job["status"] in FINISHED:
                if expect is not None:
                    assert job["status"] == expect, (job["message"], job.get("error"))
                return job
            time.sleep(0.1)
        pytest.fail(f"job {url} did not finish within {timeout_s} s")

    return wait
