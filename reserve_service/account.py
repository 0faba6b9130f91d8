"""``GET /api/v1/me``: who the token is, its role, and what it may change (the console shows only what will work)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from reserve_service.auth import ROLES, current_principal
from reserve_service.extensions import session
from reserve_service.inventory.services import region_subtree_ids
from reserve_service.inventory.tables import Depot, Region

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="The calling token")

# What each role may do, as the console asks it (the views enforce the same with roles_required).
ABILITIES = {
    "admin": ("stock", "plan", "dispatch", "events", "jobs"),
    "planner": ("plan", "jobs"),
    "dispatcher": ("dispatch", "events", "jobs"),
    "manager": ("stock",),
    "viewer": (),
}


class MeSchema(Schema):
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    abilities = fields.List(fields.String(), required=True,
                            metadata={"description": "stock, plan, dispatch, events, jobs"})
    scope_region = fields.String(allow_none=True, metadata={"description": "adcode of the manager's region"})
    depots_in_scope = fields.List(fields.String(), allow_none=True,
                                  metadata={"description": "depot codes this token may change; null = all"})


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """The calling token: name, role, abilities and the depots whose stock it may change."""
    principal = current_principal()
    db = session()
    scope_region = None
    depots: list[str] | None = None
    if principal.role == "manager":
        codes = set(principal.scope_depot_codes)
        if principal.scope_region_id is not None:
            scope_region = db.scalar(select(Region.adcode).where(Region.id == principal.scope_region_id))
            ids = region_subtree_ids(db, principal.scope_region_id)
            codes.update(db.scalars(select(Depot.code).where(Depot.region_id.in_(ids))))
        depots = sorted(codes)
    elif principal.role not in ("admin",):
        depots = []
    return {"name": principal.name, "role": principal.role, "abilities": list(ABILITIES.get(principal.role, ())),
            "scope_region": scope_region, "depots_in_scope": depots}
