"""Combination proxies computed from stored proxy values, never by rerunning models.

An expression combines the stored values of other proxies per architecture:

    expr   := term (('+' | '*' | '/') term)*        evaluated left to right, * and / first
    term   := NAME | NUMBER | FUNC '(' expr (',' expr)* ')' | '(' expr ')'
    FUNC   := rank | log | z | mean_rank | borda

``NAME`` is a proxy name (e.g. ``v-pca``, ``params-nonemb``); ``rank(x)`` is the average rank
scaled to (0, 1], ``log(x)`` the natural log, ``z(x)`` the standard score, ``mean_rank(a, b,
...)`` the mean of the arguments' ranks and ``borda(a, b, ...)`` the Borda count (points
n − position of each architecture in each argument's descending order, summed; it orders
architectures like ``mean_rank`` except among ties). An architecture with a NaN input gets
a NaN value (status ``nan``), never a made-up one.

Registered combinations (:func:`register_combination`) are named expressions; ``bench
combine`` evaluates them on a run and appends their rows to the run's ``derived.csv``
(keyed like the run's rows; the version is a hash of the expression), where statistics and
reports read them like any other proxy.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from bench.errors import UserError

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z#][A-Za-z0-9_#-]*)|(?P<op>[-+*/(),]))")
FUNCTIONS = ("rank", "log", "z", "mean_rank", "borda")


@dataclass(frozen=True)
class Combination:
    """A named combination of stored proxies."""

    name: str
    expression: str
    label: str
    higher_is_better: bool = True

    @property
    def version(self) -> str:
        return "expr-" + hashlib.sha1(self.expression.encode()).hexdigest()[:10]


COMBINATIONS: dict[str, Combination] = {}


def register_combination(name: str, expression: str, label: str | None = None, higher_is_better: bool = True) -> Combination:
    """Register a named combination (checked for syntax now, for inputs when evaluated)."""
    if name in COMBINATIONS:
        raise UserError(f"combination {name!r} is already registered")
    parse(expression)
    combo = Combination(name, expression, label or name, higher_is_better)
    COMBINATIONS[name] = combo
    return combo



def _tokens(text: str) -> list[tuple[str, str]]:
    out, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise UserError(f"cannot read the expression {text!r} at position {position}: {text[position:position + 10]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def parse(text: str):
    """Parse an expression into a nested tuple tree.

    Raises:
        UserError: naming the position of a syntax error.
    """
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None or (expected is not None and token[1] != expected):
            raise UserError(f"expression {text!r}: expected {expected or 'more'} at token {position}")
        position += 1
        return token

    def expression():
        node = product()
        while peek() is not None and peek()[1] == "+":
            take()
            node = ("+", node, product())
        return node

    def product():
        node = term()
        while peek() is not None and peek()[1] in ("*", "/"):
            op = take()[1]
            node = (op, node, term())
        return node

    def term():
        kind, value = take()
        if kind == "number":
            return ("num", float(value))
        if value == "(":
            node = expression()
            take(")")
            return node
        if kind == "name":
            if peek() is not None and peek()[1] == "(":
                if value not in FUNCTIONS:
                    raise UserError(f"expression {text!r}: unknown function {value!r}; allowed: {', '.join(FUNCTIONS)}")
                take("(")
                args = [expression()]
                while peek() is not None and peek()[1] == ",":
                    take()
                    args.append(expression())
                take(")")
                return ("call", value, args)
            return ("var", value)
        raise UserError(f"expression {text!r}: unexpected {value!r}")

    tree = expression()
    if position != len(tokens):
        raise UserError(f"expression {text!r}: unexpected {tokens[position][1]!r} after a complete expression")
    return tree


def names_in(tree) -> set[str]:
    """Proxy names an expression reads."""
    if tree[0] == "var":
        return {tree[1]}
    if tree[0] == "num":
        return set()
    if tree[0] == "call":
        return set().union(*(names_in(a) for a in tree[2]))
    return names_in(tree[1]) | names_in(tree[2])


def _rank(x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan, dtype=float)
    finite = np.isfinite(x)
    out[finite] = stats.rankdata(x[finite]) / max(int(finite.sum()), 1)
    return out


def _borda(columns: list[np.ndarray]) -> np.ndarray:
    total = np.zeros_like(columns[0], dtype=float)
    for column in columns:
        order = np.argsort(-np.where(np.isfinite(column), column, -np.inf), kind="stable")
        points = np.empty(len(column))
        points[order] = len(column) - np.arange(len(column))
        total += np.where(np.isfinite(column), points, np.nan)
    return total


_CALLS: dict[str, Callable[[list[np.ndarray]], np.ndarray]] = {
    "rank": lambda a: _rank(a[0]),
    "log": lambda a: np.log(np.where(a[0] > 0, a[0], np.nan)),
    "z": lambda a: (a[0] - np.nanmean(a[0])) / np.nanstd(a[0]),
    "mean_rank": lambda a: np.mean([_rank(x) for x in a], axis=0),
    "borda": _borda,
}


def evaluate(tree, table: pd.DataFrame) -> np.ndarray:
    """Evaluate a parsed expression over a (architecture × proxy) table of values.

    Raises:
        UserError: for a proxy the table does not hold.
    """
    kind = tree[0]
    if kind == "num":
        return np.full(len(table), tree[1])
    if kind == "var":
        if tree[1] not in table.columns:
            raise UserError(f"the run has no values of proxy {tree[1]!r}; it has: {', '.join(sorted(table.columns))}")
        return table[tree[1]].to_numpy(dtype=float)
    if kind == "call":
        return _CALLS[tree[1]]([evaluate(a, table) for a in tree[2]])
    left, right = evaluate(tree[1], table), evaluate(tree[2], table)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "+":
            return left + right
        if kind == "*":
            return left * right
        return left / right


def value_table(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Stored values as an (arch_hash × proxy) table for one seed."""
    chosen = rows[rows["seed"].astype(int) == int(seed)]
    return chosen.pivot_table(index="arch_hash", columns="proxy", values="value", aggfunc="first", dropna=False)


def derived_rows(combo: Combination, rows: pd.DataFrame, seed: int, space: str) -> pd.DataFrame:
    """Rows of a combination for every architecture of ``rows`` (one seed), in the store's layout."""
    table = value_table(rows, seed)
    values = evaluate(parse(combo.expression), table)
    arch = rows.drop_duplicates("arch_hash").set_index("arch_hash")
    return pd.DataFrame({
        "space": space,
        "arch_id": arch.loc[table.index, "arch_id"].to_numpy() if "arch_id" in arch else -1,
        "arch_hash": table.index,
        "arch": arch.loc[table.index, "arch"].to_numpy() if "arch" in arch else "",
        "proxy": combo.name,
        "proxy_version": combo.version,
        "seed": seed,
        "value": values,
        "seconds": 0.0,
        "pass_seconds": 0.0,
        "status": ["ok" if math.isfinite(v) else "nan" for v in values],
        "error": "",
    })


register_combination("vpca-x-nonemb", "v-pca * params-nonemb", "V-PCA × non-embedding #Params")
register_combination("mean-rank-wpca-nonemb", "mean_rank(w-pca, params-nonemb)", "Mean rank (W-PCA, non-emb. #Params)")
register_combination("borda-free", "borda(w-pca, softmax-confidence, head-confidence, activation-distance)", "Borda (gradient-free)")
