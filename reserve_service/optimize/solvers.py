"""Solver backends: write a linear model once, solve it with PuLP (CBC, HiGHS) or OR-Tools.

A model is a :class:`LinearModel` — variables, linear constraints, one linear objective and
optional warm-start hints — kept as plain arrays.  :meth:`LinearModel.solve` emits it to the
backend named in :class:`SolverParams` and returns a :class:`SolveResult` with a status in
``{"optimal", "feasible", "infeasible", "time_limit"}``, the objective, the best bound, the gap
and the variable values.  Choosing a solver is a parameter, never a fork of the model.

Backends (``SolverParams.solver``)

======================  =====================================================================
``"auto"``              ``"highs"``
``"highs"``             PuLP → HiGHS (highspy); warm-start hints supported
``"cbc"``               PuLP → CBC (``PULP_CBC_CMD``); hints via ``warmStart``; bound read from log
``"ortools"``           OR-Tools ``pywraplp`` with SCIP; hints supported
``"ortools-cbc"``       OR-Tools ``pywraplp`` with CBC
``"cpsat"``             OR-Tools CP-SAT; only for models whose variables are all integral and
                        whose constraint coefficients are integers
======================  =====================================================================

Example
-------
>>> m = LinearModel("knapsack")
>>> x = m.add_vars(3, kind="binary", prefix="x")
>>> _ = m.add_constraint(LinExpr.weighted(x, [2, 3, 4]) <= 5)
>>> m.maximize(LinExpr.weighted(x, [3, 4, 5]))
>>> m.solve(SolverParams(solver="highs")).objective
7.0
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

VarKind = Literal["continuous", "integer", "binary"]
Sense = Literal["<=", ">=", "=="]
Status = Literal["optimal", "feasible", "infeasible", "time_limit"]

SOLVER_NAMES: tuple[str, ...] = ("auto", "highs", "cbc", "ortools", "ortools-cbc", "cpsat")
_AUTO_SOLVER = "highs"


class SolverError(RuntimeError):
    """The backend failed (unbounded model, solver error, unavailable solver)."""


@dataclass(frozen=True)
class SolverParams:
    """How to solve a model; defaults suit proving optimality on small and medium models.

    Parameters
    ----------
    solver
        One of ``SOLVER_NAMES``; ``"auto"`` picks HiGHS.
    time_limit
        Wall-clock seconds for the solver; ``None`` means no limit.
    threads
        Solver threads; ``None`` leaves the solver default.
    gap
        Relative MIP gap at which the solver may stop and report ``"optimal"``.  The default is
        tiny so that "optimal" means proven optimal, not "within 0.01 %" (HiGHS' own default).
    seed
        Random seed passed to the solver where it accepts one.
    verbose
        Print the solver log.
    options
        Backend-specific options by name, passed through unchanged: HiGHS option names
        (``{"presolve": "off"}``), CBC command-line options (``{"cuts": "off"}``), SCIP
        parameters for ``"ortools"`` (``{"limits/nodes": 1000}``) or CP-SAT parameter fields.
    """

    solver: str = "auto"
    time_limit: float | None = None
    threads: int | None = None
    gap: float = 1e-9
    seed: int | None = 0
    verbose: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.solver not in SOLVER_NAMES:
            raise ValueError(f"solver must be one of {SOLVER_NAMES}, got {self.solver!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap must be in [0, 1), got {self.gap}")

    @property
    def backend(self) -> str:
        """The concrete backend name (``"auto"`` resolved)."""
        return _AUTO_SOLVER if self.solver == "auto" else self.solver


def resolve_params(
    params: SolverParams | None, solver: str = "auto", time_limit: float | None = None
) -> SolverParams:
    """Merge keyword shortcuts into a parameter object; explicit keywords win over ``params``."""
    base = params if params is not None else SolverParams()
    changes: dict[str, Any] = {}
    if solver != "auto":
        changes["solver"] = solver
    if time_limit is not None:
        changes["time_limit"] = time_limit
    if not changes:
        return base
    return SolverParams(**{**base.__dict__, **changes})


# --------------------------------------------------------------------------------------------
# Linear-expression builder
# --------------------------------------------------------------------------------------------


class Var:
    """A decision variable of a :class:`LinearModel`; supports ``+ - *`` to build expressions."""

    __slots__ = ("index", "name")

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name

    def __repr__(self) -> str:
        return f"Var({self.name})"

    def _expr(self) -> LinExpr:
        return LinExpr({self.index: 1.0})

    def __add__(self, other: Any) -> LinExpr:
        return self._expr() + other

    __radd__ = __add__

    def __sub__(self, other: Any) -> LinExpr:
        return self._expr() - other

    def __rsub__(self, other: Any) -> LinExpr:
        return (-self._expr()) + other

    def __mul__(self, coef: float) -> LinExpr:
        return self._expr() * coef

    __rmul__ = __mul__

    def __neg__(self) -> LinExpr:
        return self._expr() * -1.0

    def __le__(self, other: Any) -> LinearConstraint:
        return self._expr() <= other

    def __ge__(self, other: Any) -> LinearConstraint:
        return self._expr() >= other

    def __eq__(self, other: Any) -> LinearConstraint:  # type: ignore[override]
        return self._expr() == other

    __hash__ = object.__hash__


class LinExpr:
    """A linear expression ``sum coef * var + constant``, stored as ``{var index: coef}``."""

    __slots__ = ("terms", "constant")

    def __init__(self, terms: dict[int, float] | None = None, constant: float = 0.0) -> None:
        self.terms: dict[int, float] = terms if terms is not None else {}
        self.constant = float(constant)

    @classmethod
    def total(cls, items: Iterable[Var | LinExpr | float]) -> LinExpr:
        """Sum of variables / expressions / numbers (faster than ``sum()``)."""
        out = cls()
        for item in items:
            out._iadd(item, 1.0)
        return out

    @classmethod
    def weighted(cls, variables: Sequence[Var], coefs: Iterable[float]) -> LinExpr:
        """``sum coefs[k] * variables[k]``."""
        out = cls()
        for var, coef in zip(variables, coefs, strict=True):
            out.terms[var.index] = out.terms.get(var.index, 0.0) + float(coef)
        return out

    def copy(self) -> LinExpr:
        return LinExpr(dict(self.terms), self.constant)

    def _iadd(self, other: Any, sign: float) -> LinExpr:
        if isinstance(other, Var):
            self.terms[other.index] = self.terms.get(other.index, 0.0) + sign
        elif isinstance(other, LinExpr):
            for idx, coef in other.terms.items():
                self.terms[idx] = self.terms.get(idx, 0.0) + sign * coef
            self.constant += sign * other.constant
        elif isinstance(other, int | float | np.integer | np.floating):
            self.constant += sign * float(other)
        else:
            return NotImplemented
        return self

    def __add__(self, other: Any) -> LinExpr:
        return self.copy()._iadd(other, 1.0)

    __radd__ = __add__

    def __iadd__(self, other: Any) -> LinExpr:
        return self._iadd(other, 1.0)

    def __sub__(self, other: Any) -> LinExpr:
        return self.copy()._iadd(other, -1.0)

    def __rsub__(self, other: Any) -> LinExpr:
        return (self * -1.0)._iadd(other, 1.0)

    def __mul__(self, coef: Any) -> LinExpr:
        if not isinstance(coef, int | float | np.integer | np.floating):
            return NotImplemented
        c = float(coef)
        return LinExpr({k: v * c for k, v in self.terms.items()}, self.constant * c)

    __rmul__ = __mul__

    def __neg__(self) -> LinExpr:
        return self * -1.0

    def _compare(self, other: Any, sense: Sense) -> LinearConstraint:
        diff = self - other
        indices = np.fromiter(diff.terms.keys(), dtype=np.int64, count=len(diff.terms))
        coefs = np.fromiter(diff.terms.values(), dtype=np.float64, count=len(diff.terms))
        return LinearConstraint(indices, coefs, sense, -diff.constant)

    def __le__(self, other: Any) -> LinearConstraint:
        return self._compare(other, "<=")

    def __ge__(self, other: Any) -> LinearConstraint:
        return self._compare(other, ">=")

    def __eq__(self, other: Any) -> LinearConstraint:  # type: ignore[override]
        return self._compare(other, "==")

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LinExpr({self.terms}, constant={self.constant})"


@dataclass
class LinearConstraint:
    """``sum coefs * x[indices]  sense  rhs``."""

    indices: np.ndarray
    coefs: np.ndarray
    sense: Sense
    rhs: float
    name: str | None = None


@dataclass
class SolveResult:
    """What a backend returns.

    ``values`` holds one value per model variable (``None`` when no solution is available);
    ``bound`` is the solver's best proven bound on the objective (``None`` when unknown).
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    solver: str
    values: np.ndarray | None = None
    message: str = ""

    @property
    def has_solution(self) -> bool:
        return self.values is not None

    def value(self, item: Var | LinExpr) -> float:
        """Value of a variable or expression in the solution."""
        if self.values is None:
            raise SolverError(f"no solution available (status {self.status})")
        if isinstance(item, Var):
            return float(self.values[item.index])
        return item.constant + sum(c * float(self.values[i]) for i, c in item.terms.items())


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / max(|objective|, 1e-10)``, or ``None`` if either is unknown."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-10)


@dataclass
class LinearModel:
    """A mixed-integer linear model kept as plain arrays, solvable by any backend."""

    name: str = "model"
    var_lb: list[float] = field(default_factory=list)
    var_ub: list[float] = field(default_factory=list)
    var_kind: list[VarKind] = field(default_factory=list)
    var_names: list[str] = field(default_factory=list)
    constraints: list[LinearConstraint] = field(default_factory=list)
    objective: LinExpr = field(default_factory=LinExpr)
    objective_sense: Literal["minimize", "maximize"] = "minimize"
    hints: dict[int, float] = field(default_factory=dict)

    # -- variables -------------------------------------------------------------------------
    def add_var(
        self,
        name: str | None = None,
        *,
        lb: float = 0.0,
        ub: float = math.inf,
        kind: VarKind = "continuous",
    ) -> Var:
        """Add one variable; binaries get bounds ``[max(lb,0), min(ub,1)]``."""
        if kind not in ("continuous", "integer", "binary"):
            raise ValueError(f"unknown variable kind {kind!r}")
        if kind == "binary":
            lb, ub = max(lb, 0.0), min(ub, 1.0)
        if lb > ub:
            raise ValueError(f"variable {name}: lb {lb} > ub {ub}")
        index = len(self.var_lb)
        self.var_lb.append(float(lb))
        self.var_ub.append(float(ub))
        self.var_kind.append(kind)
        self.var_names.append(name if name is not None else f"v{index}")
        return Var(index, self.var_names[-1])

    def add_vars(
        self,
        count: int,
        *,
        lb: float = 0.0,
        ub: float = math.inf,
        kind: VarKind = "continuous",
        prefix: str = "v",
    ) -> list[Var]:
        """Add ``count`` variables named ``prefix[k]``."""
        return [self.add_var(f"{prefix}[{k}]", lb=lb, ub=ub, kind=kind) for k in range(count)]

    def fix(self, var: Var, value: float) -> None:
        """Fix a variable to a value (sets both bounds)."""
        self.var_lb[var.index] = self.var_ub[var.index] = float(value)

    # -- constraints -----------------------------------------------------------------------
    def add_constraint(self, constraint: LinearConstraint, name: str | None = None) -> int:
        """Add a constraint built with ``<=``, ``>=`` or ``==`` on expressions; returns its row."""
        if not isinstance(constraint, LinearConstraint):
            raise TypeError(f"expected a LinearConstraint, got {type(constraint).__name__}")
        if name is not None:
            constraint.name = name
        self.constraints.append(constraint)
        return len(self.constraints) - 1

    def add_row(
        self,
        variables: Sequence[Var] | np.ndarray,
        coefs: Sequence[float] | np.ndarray,
        sense: Sense,
        rhs: float,
        name: str | None = None,
    ) -> int:
        """Fast path: add ``sum coefs[k] * variables[k] sense rhs`` (variables or indices)."""
        if sense not in ("<=", ">=", "=="):
            raise ValueError(f"sense must be '<=', '>=' or '==', got {sense!r}")
        if len(variables) and isinstance(variables[0], Var):
            indices = np.fromiter((v.index for v in variables), np.int64, len(variables))
        else:
            indices = np.asarray(variables, dtype=np.int64)
        coef_arr = np.asarray(coefs, dtype=np.float64)
        if coef_arr.shape != indices.shape:
            raise ValueError("variables and coefs differ in length")
        self.constraints.append(LinearConstraint(indices, coef_arr, sense, float(rhs), name))
        return len(self.constraints) - 1

    # -- objective and hints ---------------------------------------------------------------
    def minimize(self, expr: LinExpr | Var) -> None:
        self.objective = expr._expr() if isinstance(expr, Var) else expr
        self.objective_sense = "minimize"

    def maximize(self, expr: LinExpr | Var) -> None:
        self.objective = expr._expr() if isinstance(expr, Var) else expr
        self.objective_sense = "maximize"

    def set_hints(self, hints: Mapping[Var, float] | Iterable[tuple[Var, float]]) -> None:
        """Warm-start values (a full or partial solution); backends that cannot use them ignore them."""
        items = hints.items() if isinstance(hints, Mapping) else hints
        for var, value in items:
            self.hints[var.index] = float(value)

    # -- facts -----------------------------------------------------------------------------
    @property
    def num_vars(self) -> int:
        return len(self.var_lb)

    @property
    def num_constraints(self) -> int:
        return len(self.constraints)

    @property
    def num_nonzeros(self) -> int:
        return int(sum(len(c.indices) for c in self.constraints))

    @property
    def is_mip(self) -> bool:
        return any(kind != "continuous" for kind in self.var_kind)

    def is_integral(self) -> bool:
        """All variables integral and all constraint coefficients / right-hand sides integers."""
        if any(kind == "continuous" for kind in self.var_kind):
            return False
        return all(
            np.all(np.mod(c.coefs, 1.0) == 0) and float(c.rhs).is_integer()
            for c in self.constraints
        )

    def objective_vector(self) -> np.ndarray:
        obj = np.zeros(self.num_vars)
        for idx, coef in self.objective.terms.items():
            obj[idx] += coef
        return obj

    def summary(self) -> str:
        return (
            f"{self.name}: {self.num_vars} vars "
            f"({sum(k != 'continuous' for k in self.var_kind)} integral), "
            f"{self.num_constraints} constraints, {self.num_nonzeros} nonzeros"
        )

    # -- solve -----------------------------------------------------------------------------
    def solve(self, params: SolverParams | None = None) -> SolveResult:
        """Emit to the backend chosen in ``params`` and solve."""
        params = params if params is not None else SolverParams()
        backend = params.backend
        if backend == "highs":
            return _solve_pulp(self, params, "highs")
        if backend == "cbc":
            return _solve_pulp(self, params, "cbc")
        if backend == "ortools":
            return _solve_pywraplp(self, params, "SCIP")
        if backend == "ortools-cbc":
            return _solve_pywraplp(self, params, "CBC")
        if backend == "cpsat":
            return _solve_cpsat(self, params)
        raise SolverError(f"unknown solver {backend!r}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _finish(
    model: LinearModel,
    status: Status,
    objective: float | None,
    bound: float | None,
    seconds: float,
    solver: str,
    values: np.ndarray | None,
    message: str = "",
) -> SolveResult:
    if values is None:
        objective = None
    if status == "optimal" and bound is None:
        bound = objective
    if not model.is_mip and status == "optimal":
        bound = objective
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        solve_seconds=seconds,
        solver=solver,
        values=values,
        message=message,
    )


def _solve_pulp(model: LinearModel, params: SolverParams, which: str) -> SolveResult:
    import pulp

    started = time.perf_counter()
    sense = pulp.LpMaximize if model.objective_sense == "maximize" else pulp.LpMinimize
    prob = pulp.LpProblem(re.sub(r"\W", "_", model.name) or "model", sense)
    cat = {"continuous": pulp.LpContinuous, "integer": pulp.LpInteger, "binary": pulp.LpInteger}
    lp_vars = [
        prob.add_variable(
            f"v{k}",
            lowBound=lb if math.isfinite(lb) else None,
            upBound=ub if math.isfinite(ub) else None,
            cat=cat[kind],
        )
        for k, (lb, ub, kind) in enumerate(
            zip(model.var_lb, model.var_ub, model.var_kind, strict=True)
        )
    ]
    prob.setObjective(
        pulp.LpAffineExpression(
            [(lp_vars[i], c) for i, c in model.objective.terms.items()],
            constant=model.objective.constant,
        )
    )
    pulp_sense = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
    for k, con in enumerate(model.constraints):
        expr = pulp.LpAffineExpression(
            list(zip([lp_vars[i] for i in con.indices.tolist()], con.coefs.tolist(), strict=True))
        )
        prob.addConstraint(pulp.LpConstraint(expr, pulp_sense[con.sense], rhs=con.rhs), f"c{k}")

    if which == "cbc":
        return _solve_pulp_cbc(model, params, prob, lp_vars, started)
    return _solve_pulp_highs(model, params, prob, lp_vars, started)


def _solve_pulp_cbc(
    model: LinearModel, params: SolverParams, prob: Any, lp_vars: list[Any], started: float
) -> SolveResult:
    import pulp

    for idx, value in model.hints.items():
        lp_vars[idx].setInitialValue(value)
    options = [] if params.seed is None else [f"randomCbcSeed {params.seed + 1}"]
    options += [f"{key} {value}" for key, value in params.options.items()]
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        with warnings.catch_warnings():
            # PuLP 3.3 flags its bundled CBC as deprecated in favour of a separately installed
            # COIN_CMD; the bundled binary is what is installed here.
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(
                msg=params.verbose,
                timeLimit=params.time_limit,
                gapRel=params.gap if model.is_mip else None,
                threads=params.threads,
                warmStart=bool(model.hints),
                logPath=log_path,
                options=options,
            )
        prob.solve(cmd)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
    seconds = time.perf_counter() - started

    stopped_on_time = bool(re.search(r"Stopped on time|time limit", log, re.IGNORECASE))
    values = None
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        values = np.array(
            [
                v.varValue if v.varValue is not None else min(max(0.0, lb), ub)
                for v, lb, ub in zip(lp_vars, model.var_lb, model.var_ub, strict=True)
            ]
        )
    objective = pulp.value(prob.objective) if values is not None else None
    bound = _cbc_bound(log, model, objective)
    if prob.status == pulp.LpStatusInfeasible:
        status: Status = "infeasible"
    elif prob.status == pulp.LpStatusUnbounded:
        raise SolverError(f"{model.name}: CBC reports the model unbounded")
    elif prob.sol_status == pulp.LpSolutionOptimal and not stopped_on_time:
        status = "optimal"
    elif stopped_on_time:
        status = "time_limit"
    elif values is not None:
        status = "feasible"
    else:
        raise SolverError(
            f"{model.name}: CBC ended without a solution ({pulp.LpStatus[prob.status]})"
        )
    return _finish(model, status, objective, bound, seconds, "pulp-cbc", values)


def _cbc_bound(log: str, model: LinearModel, objective: float | None) -> float | None:
    """Best bound from CBC's log ("Lower bound:"); CBC prints it without the objective constant.

    When maximising, the printed sign depends on how the model reached CBC, so the candidate
    consistent with the incumbent (bound >= objective) is taken.
    """
    match = re.search(r"Lower bound:\s*([-+0-9.eE]+)", log)
    if match is None:
        return None
    printed = float(match.group(1))
    constant = model.objective.constant
    if model.objective_sense == "minimize":
        return printed + constant
    candidates = [c + constant for c in (printed, -printed)]
    if objective is not None:
        candidates = [c for c in candidates if c >= objective - 1e-6 * max(1.0, abs(objective))]
    return min(candidates) if candidates else None


def _solve_pulp_highs(
    model: LinearModel, params: SolverParams, prob: Any, lp_vars: list[Any], started: float
) -> SolveResult:
    import highspy
    import pulp

    hints = model.hints

    class _HiGHSWithHints(pulp.HiGHS):  # type: ignore[misc, name-defined]
        """PuLP's HiGHS plus a warm start passed to highspy after the model is built."""

        def buildSolverModel(self, lp: Any) -> None:  # noqa: N802 (PuLP's name)
            super().buildSolverModel(lp)
            if hints:
                start = np.zeros(lp.solverModel.getNumCol())
                for idx, value in hints.items():
                    col = getattr(lp_vars[idx], "index", None)
                    if col is not None:
                        start[col] = value
                solution = highspy.HighsSolution()
                solution.col_value = start.tolist()
                solution.value_valid = True
                lp.solverModel.setSolution(solution)

    options: dict[str, Any] = {}
    if params.seed is not None:
        options["random_seed"] = int(params.seed)
    options.update(params.options)
    solver = _HiGHSWithHints(
        msg=params.verbose,
        timeLimit=params.time_limit,
        gapRel=params.gap if model.is_mip else None,
        threads=params.threads,
        **options,
    )
    prob.solve(solver)
    seconds = time.perf_counter() - started

    h = prob.solverModel
    info = h.getInfo()
    hstatus = h.getModelStatus()
    ms = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = None
    if has_solution:
        col_values = np.asarray(h.getSolution().col_value)
        values = np.array([_pulp_value(v, col_values, model) for v in lp_vars])
    objective = pulp.value(prob.objective) if values is not None else None
    bound = None
    if model.is_mip and math.isfinite(info.mip_dual_bound):
        # PuLP hands HiGHS the objective without its constant, negated when maximising
        sign = -1.0 if model.objective_sense == "maximize" else 1.0
        bound = sign * info.mip_dual_bound + model.objective.constant
    if hstatus == ms.kOptimal:
        status: Status = "optimal"
    elif hstatus in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        status = "infeasible"
    elif hstatus == ms.kUnbounded:
        raise SolverError(f"{model.name}: HiGHS reports the model unbounded")
    elif hstatus == ms.kTimeLimit:
        status = "time_limit"
    elif values is not None:
        status = "feasible"
    else:
        raise SolverError(f"{model.name}: HiGHS ended with {h.modelStatusToString(hstatus)}")
    return _finish(model, status, objective, bound, seconds, "pulp-highs", values)


def _pulp_value(var: Any, col_values: np.ndarray, model: LinearModel) -> float:
    """Value of a PuLP variable from HiGHS' column values; unused variables sit at a bound."""
    col = getattr(var, "index", None)
    if col is not None:
        return float(col_values[col])
    k = int(var.name[1:])
    return min(max(0.0, model.var_lb[k]), model.var_ub[k])


def _solve_pywraplp(model: LinearModel, params: SolverParams, backend: str) -> SolveResult:
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:
        raise SolverError(f"OR-Tools solver {backend} is not available")
    inf = solver.infinity()
    variables = []
    for k, (lb, ub, kind) in enumerate(
        zip(model.var_lb, model.var_ub, model.var_kind, strict=True)
    ):
        lo = lb if math.isfinite(lb) else -inf
        hi = ub if math.isfinite(ub) else inf
        if kind == "continuous":
            variables.append(solver.NumVar(lo, hi, f"v{k}"))
        else:
            variables.append(solver.IntVar(lo, hi, f"v{k}"))
    for con in model.constraints:
        lo, hi = {
            "<=": (-inf, con.rhs),
            ">=": (con.rhs, inf),
            "==": (con.rhs, con.rhs),
        }[con.sense]
        row = solver.Constraint(lo, hi)
        for idx, coef in zip(con.indices.tolist(), con.coefs.tolist(), strict=True):
            row.SetCoefficient(variables[idx], coef)
    objective = solver.Objective()
    for idx, coef in model.objective.terms.items():
        objective.SetCoefficient(variables[idx], coef)
    objective.SetOffset(model.objective.constant)
    if model.objective_sense == "maximize":
        objective.SetMaximization()
    else:
        objective.SetMinimization()

    if params.time_limit is not None:
        solver.SetTimeLimit(int(math.ceil(params.time_limit * 1000)))
    if params.threads is not None:
        solver.SetNumThreads(params.threads)
    if params.verbose:
        solver.EnableOutput()
    specific = dict(params.options)
    if backend == "SCIP" and params.seed is not None:
        specific.setdefault("randomization/randomseedshift", params.seed)
    if specific:
        solver.SetSolverSpecificParametersAsString(
            "\n".join(f"{key} = {value}" for key, value in specific.items())
        )
    if model.hints:
        idxs = list(model.hints)
        solver.SetHint([variables[i] for i in idxs], [model.hints[i] for i in idxs])
    mp = pywraplp.MPSolverParameters()
    if model.is_mip:
        mp.SetDoubleParam(mp.RELATIVE_MIP_GAP, params.gap)
    code = solver.Solve(mp)
    seconds = time.perf_counter() - started
    name = f"ortools-{backend.lower()}"

    has_solution = code in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    values = np.array([v.solution_value() for v in variables]) if has_solution else None
    obj_value = objective.Value() if has_solution else None
    bound = _finite_or_none(objective.BestBound()) if model.is_mip else None
    out_of_time = params.time_limit is not None and solver.wall_time() >= 0.98e3 * params.time_limit
    if code == pywraplp.Solver.OPTIMAL:
        status: Status = "optimal"
    elif code == pywraplp.Solver.INFEASIBLE:
        status = "infeasible"
    elif code == pywraplp.Solver.UNBOUNDED:
        raise SolverError(f"{model.name}: {backend} reports the model unbounded")
    elif code == pywraplp.Solver.FEASIBLE:
        status = "time_limit" if out_of_time else "feasible"
    elif code == pywraplp.Solver.NOT_SOLVED and out_of_time:
        status = "time_limit"
    else:
        raise SolverError(f"{model.name}: {backend} ended with result code {code}")
    return _finish(model, status, obj_value, bound, seconds, name, values)


def _solve_cpsat(model: LinearModel, params: SolverParams) -> SolveResult:
    from ortools.sat.python import cp_model

    if not model.is_integral():
        raise SolverError(
            f"{model.name}: CP-SAT needs integral variables and integer constraint "
            "coefficients; use 'highs', 'cbc' or 'ortools'"
        )
    started = time.perf_counter()
    cp = cp_model.CpModel()
    big = 2**40
    variables = [
        cp.NewIntVar(
            int(max(lb, -big)) if math.isfinite(lb) else -big,
            int(min(ub, big)) if math.isfinite(ub) else big,
            f"v{k}",
        )
        for k, (lb, ub) in enumerate(zip(model.var_lb, model.var_ub, strict=True))
    ]
    for con in model.constraints:
        expr = sum(
            int(c) * variables[i]
            for i, c in zip(con.indices.tolist(), con.coefs.tolist(), strict=True)
        )
        rhs = int(con.rhs)
        if con.sense == "<=":
            cp.Add(expr <= rhs)
        elif con.sense == ">=":
            cp.Add(expr >= rhs)
        else:
            cp.Add(expr == rhs)
    idxs = list(model.objective.terms)
    obj = cp_model.LinearExpr.WeightedSum(
        [variables[i] for i in idxs], [model.objective.terms[i] for i in idxs]
    )
    if model.objective_sense == "maximize":
        cp.Maximize(obj)
    else:
        cp.Minimize(obj)
    for idx, value in model.hints.items():
        cp.AddHint(variables[idx], int(round(value)))

    solver = cp_model.CpSolver()
    if params.time_limit is not None:
        solver.parameters.max_time_in_seconds = params.time_limit
    solver.parameters.num_workers = params.threads or 1
    solver.parameters.relative_gap_limit = params.gap
    if params.seed is not None:
        solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = params.verbose
    for key, value in params.options.items():
        setattr(solver.parameters, key, value)
    code = solver.Solve(cp)
    seconds = time.perf_counter() - started

    has_solution = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    values = np.array([solver.Value(v) for v in variables], dtype=float) if has_solution else None
    constant = model.objective.constant
    obj_value = solver.ObjectiveValue() + constant if has_solution else None
    bound = solver.BestObjectiveBound() + constant if has_solution else None
    if code == cp_model.OPTIMAL:
        status: Status = "optimal"
    elif code == cp_model.INFEASIBLE:
        status = "infeasible"
    elif code in (cp_model.FEASIBLE, cp_model.UNKNOWN) and params.time_limit is not None:
        status = "time_limit"
    elif code == cp_model.FEASIBLE:
        status = "feasible"
    else:
        raise SolverError(f"{model.name}: CP-SAT ended with {solver.StatusName(code)}")
    return _finish(model, status, obj_value, bound, seconds, "ortools-cpsat", values)
