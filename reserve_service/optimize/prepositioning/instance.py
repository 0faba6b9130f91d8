"""The pre-positioning instance, its result and its input errors (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

ExternalKind = Literal["enterprise_held", "agreement", "capacity"]
Method = Literal["extensive", "benders"]
_EPS = 1e-7


class PrepositioningInputError(ValueError):
    """Impossible or malformed input; ``field`` names it (e.g. ``budget``, ``capacity_m3[SZ-X]``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class ServiceLevelInfeasibleError(PrepositioningInputError):
    """The service level cannot be met; ``details`` lists scenario, item, regions and numbers."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message, "service_level")
        self.details = details


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeClass:
    """A size a candidate depot can be built in: extra volume and one-off cost."""

    capacity_m3: float
    fixed_cost: float
    name: str = ""


@dataclass(frozen=True)
class ExternalSource:
    """Stock outside the government depots, usable in the second stage.

    ``kind``: ``enterprise_held`` (企业代储) or ``agreement`` (协议储备) with ``quantity`` units,
    or ``capacity`` (产能储备) producing ``rate_per_day`` after ``lead_hours``.
    ``unit_cost``: yuan per unit drawn (activation / purchase price at the time).
    """

    id: str
    kind: ExternalKind
    item: str
    quantity: float = 0.0
    rate_per_day: float = 0.0
    lead_hours: float = 0.0
    unit_cost: float = 0.0


@dataclass
class ScenarioData:
    """One scenario as numbers: ``need`` (R, I), ``depot_hours`` (D, R), ``external_hours`` (E, R),
    ``depot_loss`` (D,) share of stock lost; ``np.inf`` hours = unreachable."""

    id: str
    probability: float
    need: np.ndarray
    depot_hours: np.ndarray
    external_hours: np.ndarray
    depot_loss: np.ndarray
    hazard: str = ""


@dataclass
class PrepositioningInstance:
    """Everything the model needs, as plain arrays indexed by depot / item / region position.

    ``current_stock`` (D, I); ``capacity_m3`` (D,) volume usable today; ``item_m3``, ``buy_cost``,
    ``hold_cost``, ``release_value``, ``penalty`` (I,); ``move_cost_m3`` (D, D) yuan per m³ moved
    (``None``: no moves); ``transport_cost_m3h`` yuan per m³ per hour driven;
    ``depot_lead_hours`` (D,); ``candidate_sizes``: depot id → size classes.
    """

    depot_ids: list[str]
    item_ids: list[str]
    region_ids: list[str]
    current_stock: np.ndarray
    capacity_m3: np.ndarray
    item_m3: np.ndarray
    buy_cost: np.ndarray
    hold_cost: np.ndarray
    release_value: np.ndarray
    penalty: np.ndarray
    scenarios: list[ScenarioData]
    move_cost_m3: np.ndarray | None = None
    transport_cost_m3h: float = 1.0
    depot_lead_hours: np.ndarray | None = None
    candidate_sizes: dict[str, list[SizeClass]] = field(default_factory=dict)
    external: list[ExternalSource] = field(default_factory=list)
    deadline_hours: float = 10.0

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(depots, items, regions, scenarios)."""
        return (len(self.depot_ids), len(self.item_ids), len(self.region_ids), len(self.scenarios))

    def with_scenarios(self, scenarios: list[ScenarioData]) -> PrepositioningInstance:
        return replace(self, scenarios=scenarios)


@dataclass(frozen=True)
class Action:
    """One step from today's stock to the targets."""

    kind: Literal["buy", "move", "release"]
    item: str
    quantity: float
    cost: float
    from_depot: str | None = None
    to_depot: str | None = None


@dataclass
class PrepositioningResult:
    """Targets, actions, coverage and costs of a solved plan.

    ``status`` in {"optimal", "feasible", "time_limit", "infeasible"}; ``objective`` = first-stage
    cost + expected second-stage cost; ``bound`` a proven lower bound; ``gap`` relative.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    solver: str
    method: str
    targets: dict[str, dict[str, float]] = field(default_factory=dict)
    stock: np.ndarray | None = None
    actions: list[Action] = field(default_factory=list)
    opened: dict[str, SizeClass] = field(default_factory=dict)
    expected_coverage: float | None = None
    worst_coverage: float | None = None
    worst_scenario: str | None = None
    scenario_coverage: dict[str, float] = field(default_factory=dict)
    scenarios_meeting_level: list[str] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    message: str = ""

    def summary(self) -> str:
        obj = "—" if self.objective is None else f"{self.objective:,.0f}"
        cov = "—" if self.expected_coverage is None else f"{self.expected_coverage:.1%}"
        worst = "—" if self.worst_coverage is None else f"{self.worst_coverage:.1%}"
        gap = "—" if self.gap is None else f"{self.gap:.2e}"
        return (
            f"{self.method}/{self.solver}: {self.status}, objective {obj}, gap {gap}, "
            f"coverage expected {cov} worst {worst} ({self.worst_scenario}), "
            f"{len(self.actions)} actions, {self.solve_seconds:.1f} s"
        )
