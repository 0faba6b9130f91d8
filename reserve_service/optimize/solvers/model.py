"""The linear model: variables, linear expressions and constraints, one objective, hints.

A :class:`LinearModel` is kept as plain arrays; :meth:`LinearModel.solve` hands it to the
backend named in :class:`~reserve_service.optimize.solvers.params.SolverParams`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .params import Sense, SolverParams, VarKind
from .result import SolveResult

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
        from .backends import solve_model

        return solve_model(self, params if params is not None else SolverParams())
