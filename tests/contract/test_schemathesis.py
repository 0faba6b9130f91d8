"""The OpenAPI document is the API: schemathesis, every check and every phase (examples, coverage,
fuzzing, stateful), against a live server on a fresh database with a small seed, for an admin
and for a county manager. Zero failures.

The run is bounded (examples per operation, a time budget, a fixed seed) so that it costs about
a minute per token on two cores; raise ``CONTRACT_MAX_TIME`` / ``CONTRACT_MAX_EXAMPLES`` to dig
deeper. Failures are printed with a ``curl`` line that reproduces each one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.live import live_server

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
MAX_TIME = os.environ.get("CONTRACT_MAX_TIME", "60")
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "5")
SEED = os.environ.get("CONTRACT_SEED", "20261201")


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if found is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("contract")) as live:
        yield live


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_schemathesis_finds_nothing(server, role, tmp_path):
    command = [
        _st(), "--config-file", str(HERE / "schemathesis.toml"), "run", f"{server.url}/openapi.json",
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "-H", f"Authorization: Bearer {server.tokens[role]}",
        "--max-examples", MAX_EXAMPLES, "--max-time", MAX_TIME, "--seed", SEED,
        "--workers", "1", "--no-shrink", "--request-timeout", "30",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"), "NO_COLOR": "1"}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    summary = run.stdout[-20000:]
    assert run.returncode == 0, f"schemathesis ({role}) failed:\n{summary}\n{run.stderr[-3000:]}"
    assert "Stateful" in summary
    # the token works: schemathesis warns when an operation only ever answered 401/403
    refused = re.search(r"Authentication failed: (\d+) operations", summary)
    assert refused is None or int(refused.group(1)) < 30, summary
