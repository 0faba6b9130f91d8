"""Two-stage stochastic pre-positioning of relief stock (after Rawls & Turnquist 2010).

First stage (decided now): how much of each item to hold at each depot — starting from
today's stock by buying, moving between depots, keeping and releasing (selling back) — and
optionally which candidate depots to open in which size class, within a budget and each depot's
volume. Second stage (per disaster scenario, once it is known): ship surviving depot stock,
enterprise-held stock (企业代储), agreement reserves (协议储备) and production-capacity reserves
(产能储备) over the surviving roads to the affected regions; unmet need is penalised.

**"Within 10 hours"**: a source ``a`` may serve region ``r`` in scenario ``s`` only if its lead
time (loading, activation or production start) plus the travel time over the scenario's road
network is at most the deadline ``T`` (10 h): ``lead_a + t^s_ar <= T``. Only such pairs get
shipment variables, so every unit shipped in the model arrives within ``T``; need met from
nowhere else is unmet within ``T``.

Formulation
-----------
Sets: depots ``D`` (existing, planned and candidate), items ``I``, regions ``R``, scenarios
``S`` with probabilities ``p_s``, external sources ``E`` (each holds one item ``i(e)``), size
classes ``K_j`` of candidate depot ``j``.

Data: today's stock ``c_ji``; unit volume ``vol_i``; depot volume ``cap_j`` (0 for a candidate
not yet built); prices ``buy_i``, ``hold_i`` (per unit held over the plan period), ``rel_i``
(value of a released unit), ``move_jk`` per m³ moved; size class ``(cap_jk, f_jk)``; need
``n_sri``; share of depot stock lost ``δ_sj``; travel ``t^s_ar``; leads; transport cost
``τ_i`` per unit-hour; external unit cost ``a_e``, quantity ``Q_e`` or rate ``ρ_e`` per day;
penalty ``π_i`` per unmet unit; budget ``B``; service level ``β``; scenario share ``α``.

First-stage variables: ``x_ji >= 0`` target stock; ``b_ji >= 0`` bought; ``m_jki >= 0`` moved
``j → k``; ``l_ji >= 0`` released; ``y_jk ∈ {0,1}`` open candidate ``j`` in class ``k``;
``v_s ∈ {0,1}`` scenario ``s`` must meet the service level (only with ``α``).

Second-stage variables per scenario: ``z_sjri >= 0`` from depot ``j`` (feasible pairs only),
``w_ser >= 0`` from external source ``e``, ``u_sri >= 0`` unmet.

Objective: ``min  C1 + Σ_s p_s · C2_s`` with
``C1 = Σ buy_i b_ji + Σ move_jk vol_i m_jki + Σ hold_i x_ji + Σ f_jk y_jk − Σ rel_i l_ji`` and
``C2_s = Σ τ_i t^s_jr z_sjri + Σ (a_e + τ_i(e) t^s_er) w_ser + Σ π_i u_sri``.

Constraints (first stage):

* (F1) balance: ``x_ji = c_ji + b_ji − l_ji − Σ_k m_jki + Σ_k m_kji``
* (F2) outflow: ``l_ji + Σ_k m_jki <= c_ji`` (only today's stock can leave)
* (F3) volume: ``Σ_i vol_i x_ji <= cap_j + Σ_k cap_jk y_jk``
* (F4) one size: ``Σ_k y_jk <= 1``
* (F5) budget: ``Σ buy b + Σ move m + Σ f y − Σ rel l <= B`` — the net spend on changes;
  holding (``hold_i x_ji``) is a running cost in the objective, not in the budget
* (F6) scenario share: ``Σ_s p_s v_s >= α``

Constraints (second stage, every scenario ``s``):

* (S1) depot supply: ``Σ_r z_sjri <= (1 − δ_sj) x_ji``
* (S2) external stock: ``Σ_r w_ser <= Q_e`` (enterprise-held and agreement reserves)
* (S3) production: for capacity reserves, regions sorted by latest completion time
  ``L_r = T − t^s_er``: ``Σ_{r: L_r <= L_q} w_ser <= ρ_e (L_q − lead_e) / 24`` for every ``q``
  (earliest-deadline-first production at rate ``ρ_e``)
* (S4) need: ``Σ_j z_sjri + Σ_{e: i(e)=i} w_ser + u_sri = n_sri``
* (S5) service level: ``Σ_r u_sri <= (1 − β) Σ_r n_sri`` for each item — in every scenario,
  or, with ``α``, ``<= Σ_r n_sri − β Σ_r n_sri v_s``.

Coverage of a scenario = mean over items with need of (need met within ``T``) / need.

Solvers: ``method="extensive"`` writes the deterministic equivalent once as a
:class:`~reserve_service.optimize.solvers.LinearModel` and solves it with any backend in
:class:`SolverParams`. ``method="benders"`` is a multi-cut L-shaped method: the master holds the
first stage plus one ``θ_s`` per scenario; each scenario LP (the second stage with ``x`` fixed;
without a service level it always has a solution because ``u`` absorbs any need) is solved by
HiGHS (highspy) with warm starts, and its row duals give the optimality cut
``θ_s >= Q_s(x̂) + g_s·(x − x̂)``. With a service level the scenario LP can be infeasible for a
plan; HiGHS' dual ray (a Farkas certificate) then gives the feasibility cut
``r·(h + T x) <= 0`` that every plan able to meet the service level satisfies. If the master
becomes infeasible, the certificates name the scenarios, items and regions that cannot reach
the level. The master is the same first-stage LinearModel, passed to highspy once and extended
with cuts; its binaries (size classes, ``v_s``) are relaxed until the LP bound converges and
then restored. It stops when upper − lower bound ≤ max(gap, 1e-6) × |upper|.

Value of information: :func:`value_of_stochastic_solution` (VSS = EEV − RP, with the
mean-value problem of :func:`mean_value_instance`) and
:func:`expected_value_of_perfect_information` (EVPI = RP − WS). :func:`budget_sweep` gives the
cost-vs-coverage curve and :func:`plot_budget_curve` draws it. :func:`instance_from_seed` builds
the 宿州 instance from ``seed_data`` and a road graph.

Modules: :mod:`.instance` (data, result, errors), :mod:`.validation`, :mod:`.first_stage`,
:mod:`.second_stage`, :mod:`.extensive`, :mod:`.lshaped`, :mod:`.solve`, :mod:`.extract`,
:mod:`.explain`, :mod:`.value`, :mod:`.plot`, :mod:`.suzhou` (the 宿州 instance builder) and
:mod:`.scenarios` (disaster scenarios); the HTTP side is :mod:`.service`, :mod:`.schemas` and
:mod:`.api`.
"""

from __future__ import annotations

from .extensive import ExtensiveModel, build_extensive
from .extract import result_to_dict
from .instance import (
    Action,
    ExternalKind,
    ExternalSource,
    Method,
    PrepositioningInputError,
    PrepositioningInstance,
    PrepositioningResult,
    ScenarioData,
    ServiceLevelInfeasibleError,
    SizeClass,
)
from .plot import plot_budget_curve
from .solve import solve_prepositioning
from .suzhou import SEED_ITEMS, SEED_PRICES, SEED_TABLES, instance_from_seed, instance_from_tables
from .validation import validate_instance
from .value import (
    BudgetPoint,
    StochasticValue,
    budget_sweep,
    expected_value_of_perfect_information,
    mean_value_instance,
    value_of_stochastic_solution,
)

__all__ = [
    "SEED_ITEMS",
    "SEED_PRICES",
    "SEED_TABLES",
    "Action",
    "BudgetPoint",
    "ExtensiveModel",
    "ExternalKind",
    "ExternalSource",
    "Method",
    "PrepositioningInputError",
    "PrepositioningInstance",
    "PrepositioningResult",
    "ScenarioData",
    "ServiceLevelInfeasibleError",
    "SizeClass",
    "StochasticValue",
    "budget_sweep",
    "build_extensive",
    "expected_value_of_perfect_information",
    "instance_from_seed",
    "instance_from_tables",
    "mean_value_instance",
    "plot_budget_curve",
    "result_to_dict",
    "solve_prepositioning",
    "validate_instance",
    "value_of_stochastic_solution",
]
