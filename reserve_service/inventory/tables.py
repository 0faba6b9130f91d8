"""ORM tables of the reserve network (SQLAlchemy 2.0 typed mappings).

Stock quantities are integers in the item's unit (顶, 床, L, kg...): the ledger must add up
exactly, which floats cannot promise. ``StockLot.quantity`` is a cached balance; the ledger
(``Movement``) is the truth and the service keeps both in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reserve_service.db import Base

Quantity = BigInteger().with_variant(Integer(), "sqlite")
REGION_LEVELS = ("city", "county", "township", "village")
DEPOT_TIERS = ("city", "county", "township", "community")
DEPOT_OPERATORS = ("government", "enterprise", "supplier")
DEPOT_STATUSES = ("operating", "planned", "candidate", "closed", "damaged")
STOCK_MODES = ("government", "enterprise_held")
NORM_BASES = ("per_person", "per_household", "per_person_day", "per_county", "none")
MOVEMENT_KINDS = ("receipt", "issue", "transfer_out", "transfer_in", "adjustment", "rotation_out",
                  "rotation_in", "write_off", "return")


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    adcode: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    population: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    location_quality: Mapped[str] = mapped_column(String(16), default="approximate")
    risk_weight: Mapped[float] = mapped_column(Float, default=1.0)
    # GeoJSON geometry (Polygon/MultiPolygon, WGS-84) of the city and the counties, for maps and
    # for checking that a point lies in its region; None where no outline is known.
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id")

    __table_args__ = (CheckConstraint("population >= 0", name="population_nonnegative"),)


class Depot(Base):
    __tablename__ = "depots"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    tier: Mapped[str] = mapped_column(String(16), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    operator: Mapped[str] = mapped_column(String(16), default="government")
    status: Mapped[str] = mapped_column(String(16), default="operating", index=True)
    capacity_m3: Mapped[float] = mapped_column(Float, default=0.0)
    capacity_t: Mapped[float | None] = mapped_column(Float)
    fixed_cost_yuan: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    region: Mapped[Region] = relationship()


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(7), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32), default="")
    unit: Mapped[str] = mapped_column(String(16))
    kg_per_unit: Mapped[float] = mapped_column(Float)
    m3_per_unit: Mapped[float] = mapped_column(Float)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    norm_basis: Mapped[str] = mapped_column(String(16), default="none")
    norm_quantity: Mapped[float] = mapped_column(Float, default=0.0)
    norm_days: Mapped[int] = mapped_column(Integer, default=1)


class StockLot(Base):
    __tablename__ = "stock_lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    lot_no: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), default="government")
    quantity: Mapped[int] = mapped_column(Quantity, default=0)
    produced_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    depot: Mapped[Depot] = relationship()
    item: Mapped[Item] = relationship()

    __table_args__ = (
        UniqueConstraint("depot_id", "item_id", "lot_no", "mode", name="uq_stock_lots_identity"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
    )


class Movement(Base):
    """One line of the ledger: a signed change of one lot's quantity."""

    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("stock_lots.id"), index=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Quantity)
    balance_after: Mapped[int] = mapped_column(Quantity)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str] = mapped_column(String(128), default="", index=True)
    group_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )

    lot: Mapped[StockLot] = relationship()
    depot: Mapped[Depot] = relationship()
    item: Mapped[Item] = relationship()

    __mapper_args__ = {"eager_defaults": True}  # created_at comes back with the INSERT


class AgreementReserve(Base):
    """协议储备: a supplier's promise to deliver up to a quantity after an activation lead time."""

    __tablename__ = "agreement_reserves"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    supplier: Mapped[str] = mapped_column(String(128))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    committed_quantity: Mapped[int] = mapped_column(Quantity)
    activation_lead_hours: Mapped[float] = mapped_column(Float)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)

    item: Mapped[Item] = relationship()
    region: Mapped[Region | None] = relationship()


class CapacityReserve(Base):
    """产能储备: a producer that starts making an item after a lead time, at a daily rate."""

    __tablename__ = "capacity_reserves"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    producer: Mapped[str] = mapped_column(String(128))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    units_per_day: Mapped[int] = mapped_column(Quantity)
    lead_hours: Mapped[float] = mapped_column(Float)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)

    item: Mapped[Item] = relationship()
    region: Mapped[Region | None] = relationship()


class IdempotencyRecord(Base):
    """The stored answer to a movement POST, replayed when the same key comes again."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotency_token_key"),)


Index("ix_movements_depot_item_time", Movement.depot_id, Movement.item_id, Movement.created_at)
