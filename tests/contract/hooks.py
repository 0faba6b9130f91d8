"""schemathesis hooks for the contract run (loaded through ``SCHEMATHESIS_HOOKS``).

``positive_data_acceptance`` is configured to accept a 422 (see ``schemathesis.toml``): a request
that matches the document can still be refused by the data (an unknown depot code, a ``p``
larger than the candidates) or by a rule across fields the document cannot state ("valid_to
after valid_from"). What must never happen is the request *validator* refusing what the
document allows with a rule the document could have stated: a type, a format, an enumeration,
a range, a length, a required or unknown member. This check keeps that strict: a schema-valid
request answered with such a message, or with a 400, fails.
"""

from __future__ import annotations

import schemathesis

# marshmallow's messages for rules an OpenAPI document states (type, format, enum, bounds...).
DOCUMENTABLE = ("Not a valid", "Must be one of", "Missing data for required field", "Unknown field",
                "Must be greater", "Must be less", "Must be between", "Must be at least",
                "Shorter than", "Longer than", "Length must be", "Field may not be null",
                "Invalid input type", "String does not match expected pattern", "a JSON body is required")


@schemathesis.check
def validator_agrees_with_document(ctx, response, case):
    """A request generated from the schema is never refused as not matching the schema."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    kind = str(problem.get("type", "")) if isinstance(problem, dict) else ""
    messages = [m for ms in (problem.get("errors") or {}).values() for m in ms] if isinstance(problem, dict) else []
    documentable = [m for m in messages if str(m).startswith(DOCUMENTABLE)]
    if response.status_code == 400 or (kind.endswith("/schema-violation") and documentable):
        raise AssertionError(
            f"a request that matches the document was refused as malformed: "
            f"{response.status_code} {problem.get('detail') if isinstance(problem, dict) else problem}"
        )
    return None
