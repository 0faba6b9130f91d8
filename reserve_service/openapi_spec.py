"""Write or check the committed OpenAPI document: ``python -m reserve_service.openapi_spec write PATH``."""

from __future__ import annotations

import json
import sys
from typing import Any


def current_spec() -> dict[str, Any]:
    """The OpenAPI document the schemas generate now (no database needed)."""
    from reserve_service import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True})
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "write":
        print("usage: python -m reserve_service.openapi_spec write PATH", file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as handle:
        handle.write(render(current_spec()))
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
