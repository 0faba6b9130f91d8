"""ORM tables of disaster dispatch: incidents, plans (one per generation) and plan vehicles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from reserve_service.db import Base

PLAN_STATUSES = ("draft", "approved", "dispatched", "delivered", "cancelled", "superseded")
VEHICLE_STATUSES = ("draft", "approved", "dispatched", "delivered", "cancelled")


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DispatchPlanRow(Base):
    __tablename__ = "dispatch_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the pure DispatchPlan as zlib-compressed JSON (dispatch.storage), so that any worker can
    # re-plan from it
    state: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PlanVehicle(Base):
    __tablename__ = "dispatch_plan_vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("dispatch_plans.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    issue_group_id: Mapped[str | None] = mapped_column(String(36))
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered: Mapped[list[Any] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("plan_id", "vehicle_id", name="uq_plan_vehicle"),)


class ScenarioSet(Base):
    """A named set of disaster scenarios (generated or uploaded) for pre-positioning runs."""

    __tablename__ = "scenario_sets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32), default="uploaded")
    scenarios: Mapped[list[Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
