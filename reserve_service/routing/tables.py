"""ORM tables of the road network the service routes on, and of dispatcher road events.

A network is stored whole (its node and edge CSV text) so that every web worker and job worker
builds the same ``RoadGraph`` with the same edge ids; events live in their own rows and are
applied to each process's cached graph on the next query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from reserve_service.db import Base


class RoadNetwork(Base):
    __tablename__ = "road_networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(500), default="")
    nodes_csv: Mapped[str] = mapped_column(Text)
    edges_csv: Mapped[str] = mapped_column(Text)
    node_count: Mapped[int] = mapped_column(Integer)
    edge_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RoadEventRow(Base):
    __tablename__ = "road_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("road_networks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    edge_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
