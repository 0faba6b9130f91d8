"""Road events: closures, slowdowns, traffic control and repairs with a validity window.

An event targets either explicit edge ids or an area (a GeoJSON Polygon/MultiPolygon in lng/lat;
every edge crossing it is affected). It is in force on ``[starts_at, ends_at)``; a missing bound
is open. Times without a zone are read in the service's time zone (:func:`local_zone`,
``Asia/Shanghai`` unless ``TIME_ZONE`` says otherwise). Effects, for every vehicle profile:

* ``closure`` (flooded, collapsed) and ``repair`` (closed until the expected reopening
  ``ends_at``) close the edge to everyone, green channel included;
* ``traffic_control`` (交通管制) closes the edge to vehicles without green-channel passage;
* ``slowdown`` multiplies the edge speed by ``speed_factor`` (0 < factor < 1); several slowdowns
  on one edge multiply.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from reserve_service import clock
from reserve_service.clock import DEFAULT_TIME_ZONE, local_zone
from reserve_service.routing.errors import RoadEventError
from reserve_service.routing.geojson import check_area

__all__ = ["DEFAULT_TIME_ZONE", "EventKind", "RoadEvent", "as_utc", "local_zone", "set_local_zone"]


class EventKind(StrEnum):
    """What a road event does to the edges it covers."""

    CLOSURE = "closure"
    SLOWDOWN = "slowdown"
    TRAFFIC_CONTROL = "traffic_control"
    REPAIR = "repair"


def set_local_zone(name: str) -> tzinfo:
    """Make ``name`` (an IANA zone such as ``Asia/Shanghai``) the zone of zone-less times."""
    try:
        return clock.set_local_zone(name)
    except ValueError as exc:
        raise RoadEventError("TIME_ZONE", str(exc)) from exc


def as_utc(moment: datetime | str | None, field_name: str = "at") -> datetime | None:
    """A timezone-aware UTC datetime from a datetime or ISO-8601 text.

    A time without an offset is a wall-clock time of :func:`local_zone` (the service's zone).
    """
    if moment is None:
        return None
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError as exc:
            raise RoadEventError(
                field_name, f"{field_name} is not an ISO-8601 time: {moment!r}"
            ) from exc
    if not isinstance(moment, datetime):
        raise RoadEventError(field_name, f"{field_name} must be a datetime, got {moment!r}")
    return clock.aware(moment).astimezone(UTC)


def _area_geometry(area: Mapping[str, Any]) -> BaseGeometry:
    """Validate a GeoJSON Polygon/MultiPolygon and return it as a shapely geometry."""
    check_area(area)  # RFC 7946 rings, before shapely closes an open one
    try:
        geometry = shape(area)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise RoadEventError("area", f"area coordinates are malformed: {exc}") from exc
    if geometry.is_empty or not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise RoadEventError("area", f"area is not a valid polygon: {reason}")
    return geometry


@dataclass(frozen=True)
class RoadEvent:
    """A closure, slowdown, traffic control or repair on edges or an area, with a window."""

    kind: EventKind
    edge_ids: tuple[int, ...] = ()
    area: Mapping[str, Any] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    speed_factor: float | None = None
    cause: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        try:
            kind = EventKind(self.kind)
        except ValueError:
            known = ", ".join(k.value for k in EventKind)
            raise RoadEventError(
                "kind", f"kind must be one of {known}, got {self.kind!r}"
            ) from None
        object.__setattr__(self, "kind", kind)
        if bool(self.edge_ids) == (self.area is not None):
            raise RoadEventError("edge_ids", "give either edge_ids or an area, not both or neither")
        if self.edge_ids:
            try:
                ids = tuple(int(e) for e in self.edge_ids)
            except (TypeError, ValueError):
                raise RoadEventError(
                    "edge_ids", f"edge_ids must be integers: {self.edge_ids!r}"
                ) from None
            object.__setattr__(self, "edge_ids", ids)
        else:
            _area_geometry(self.area)  # type: ignore[arg-type]
        starts, ends = as_utc(self.starts_at, "starts_at"), as_utc(self.ends_at, "ends_at")
        object.__setattr__(self, "starts_at", starts)
        object.__setattr__(self, "ends_at", ends)
        if starts is not None and ends is not None and ends <= starts:
            raise RoadEventError(
                "ends_at",
                f"ends_at ({ends.isoformat()}) must be after starts_at ({starts.isoformat()})",
            )
        if kind is EventKind.REPAIR and ends is None:
            raise RoadEventError("ends_at", "a repair needs ends_at, the expected reopening time")
        if kind is EventKind.SLOWDOWN:
            factor = self.speed_factor
            if (
                isinstance(factor, bool)
                or not isinstance(factor, int | float)
                or not (math.isfinite(factor) and 0 < factor < 1)
            ):
                raise RoadEventError(
                    "speed_factor", f"a slowdown needs 0 < speed_factor < 1, got {factor!r}"
                )
        elif self.speed_factor is not None:
            raise RoadEventError(
                "speed_factor", f"speed_factor applies only to slowdowns, not {kind}"
            )

    @property
    def closes_edges(self) -> bool:
        """True for events that physically close the edge to every vehicle."""
        return self.kind in (EventKind.CLOSURE, EventKind.REPAIR)

    def area_geometry(self) -> BaseGeometry | None:
        """The event area as a shapely geometry (lng/lat), or None for edge events."""
        return None if self.area is None else _area_geometry(self.area)

    def in_force_at(self, at: datetime | str | None) -> bool:
        """True when ``at`` lies in ``[starts_at, ends_at)``; ``at=None`` means any time."""
        moment = as_utc(at)
        if moment is None:
            return True
        if self.starts_at is not None and moment < self.starts_at:
            return False
        return self.ends_at is None or moment < self.ends_at

    def in_force_during(self, start: datetime | str, end: datetime | str) -> bool:
        """True when the window ``[starts_at, ends_at)`` meets the drive ``[start, end]``.

        A leg driven over ``[start, end]`` may cross the event's edges at any moment of it, so
        an event in force at any such moment applies to the leg (a safe reading).
        """
        begin, finish = as_utc(start, "start"), as_utc(end, "end")
        assert begin is not None and finish is not None
        if self.starts_at is not None and finish < self.starts_at:
            return False
        return self.ends_at is None or begin < self.ends_at

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (times in ISO-8601)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "edge_ids": list(self.edge_ids),
            "area": self.area,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "speed_factor": self.speed_factor,
            "cause": self.cause,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoadEvent:
        """Build an event from a dict such as :meth:`to_dict` returns."""
        known = {"id", "kind", "edge_ids", "area", "starts_at", "ends_at", "speed_factor", "cause"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RoadEventError(unknown[0], f"unknown event fields {unknown}")
        if "kind" not in data:
            raise RoadEventError("kind", "an event needs a kind")
        values = {k: v for k, v in data.items() if v is not None}
        values["edge_ids"] = tuple(values.get("edge_ids") or ())
        return cls(**values)
