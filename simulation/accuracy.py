"""Accuracy: how the service's decisions compare with a ground truth (the simulated province).

Only ``deadzone demo`` has a ground truth; a real province does not. The scores here are
therefore about the *method* (rules, thresholds, evidence minimums) under a known world:
what share of the cells called dead are dead (precision), what share of the dead cells that
got a decision were called dead (recall), and how many people live in dead places that the
service has not decided yet.

Inputs are plain frames so that this module knows nothing of how the truth was made:
``truth`` has one row per working cell (``cell`` int64 H3 index, ``truth_class`` one of
covered/weak/dead, ``population`` people living in the cell, fractional), ``decided`` one
row per decided cell (``cell``, ``status`` covered/weak/dead/unknown). A truth cell without
a decision row counts as ``unknown``: no reading ever reached it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from domain.radio import Radio
from simulation.truth import class_rank

if TYPE_CHECKING:
    from simulation.scenario import Scenario

TRUTH_CLASSES = ("dead", "weak", "covered")
STATUSES = ("dead", "weak", "covered", "unknown")  # the order scores are printed in
# Decimal places of shares in reports: enough to compare runs, few enough to read.
SHARE_DECIMALS = 4


@dataclass(frozen=True)
class ClassScore:
    """Precision and recall of one status over the cells that have a decision.

    ``precision``: of the cells decided ``status``, the share whose truth is ``status``;
    ``recall``: of the decided cells whose truth is ``status``, the share decided
    ``status``. None where the denominator is zero (nothing to measure).
    """

    decided: int
    true: int
    hits: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class ScopeScore:
    """Scores of one scope (best of all operators, or one operator) at one resolution.

    People are counts of residents (fractional in the simulation, rounded here);
    ``dead_populated_unknown_share`` is the share of truly dead cells with residents that
    have no decision yet (None if there is no such cell).
    """

    cells: int
    cells_decided: int
    decided_by_status: dict[str, int]
    truth_by_class: dict[str, int]
    confusion: dict[str, dict[str, int]]  # truth class -> decided status -> cells
    dead: ClassScore
    covered: ClassScore
    dead_populated_cells: int
    dead_populated_unknown_share: float | None
    people_in_truly_dead: int
    people_in_called_dead: int
    people_in_called_dead_truly_dead: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, SHARE_DECIMALS)


def _class_score(joined: pd.DataFrame, status: str) -> ClassScore:
    decided = joined[joined["status"] != "unknown"]
    called = decided["status"] == status
    true = decided["truth_class"] == status
    hits = int((called & true).sum())
    return ClassScore(
        decided=int(called.sum()),
        true=int(true.sum()),
        hits=hits,
        precision=_share(hits, int(called.sum())),
        recall=_share(hits, int(true.sum())),
    )


def score_scope(truth: pd.DataFrame, decided: pd.DataFrame) -> ScopeScore:
    """Compare ``decided`` (cell, status) with ``truth`` (cell, truth_class, population).

    Decisions on cells outside the truth (readings whose GPS error put them beyond the
    simulated box) are ignored: nothing is known about them.
    """
    joined = truth[["cell", "truth_class", "population"]].merge(
        decided[["cell", "status"]], on="cell", how="left"
    )
    joined["truth_class"] = joined["truth_class"].astype(str)
    joined["status"] = joined["status"].fillna("unknown").astype(str)
    counts: dict[Any, int] = joined.groupby(["truth_class", "status"]).size().to_dict()
    confusion = {t: {s: int(counts.get((t, s), 0)) for s in STATUSES} for t in TRUTH_CLASSES}
    truly_dead = joined["truth_class"] == "dead"
    called_dead = joined["status"] == "dead"
    populated_dead = truly_dead & (joined["population"] > 0)
    unknown_populated_dead = populated_dead & (joined["status"] == "unknown")
    people = joined["population"]
    return ScopeScore(
        cells=len(joined),
        cells_decided=int((joined["status"] != "unknown").sum()),
        decided_by_status={s: int((joined["status"] == s).sum()) for s in STATUSES},
        truth_by_class={t: int((joined["truth_class"] == t).sum()) for t in TRUTH_CLASSES},
        confusion=confusion,
        dead=_class_score(joined, "dead"),
        covered=_class_score(joined, "covered"),
        dead_populated_cells=int(populated_dead.sum()),
        dead_populated_unknown_share=_share(
            int(unknown_populated_dead.sum()), int(populated_dead.sum())
        ),
        people_in_truly_dead=round(float(people[truly_dead].sum())),
        people_in_called_dead=round(float(people[called_dead].sum())),
        people_in_called_dead_truly_dead=round(float(people[called_dead & truly_dead].sum())),
    )


# The column of the scenario's per-cell table holding the best of all operators' truth, per
# scope over radios (``simulation.truth.SCOPE_RADIOS``).
BEST_CLASS_COLUMN: dict[str, str] = {"any": "best_class", "broadband": "best_broadband_class"}


def score_decisions(
    truth_cells: pd.DataFrame,
    truth_by_operator: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    scope: str = "any",
) -> dict[str, ScopeScore]:
    """Scores for best of all operators (``"any"``) and for each operator in the truth, in
    one scope over radios (``scope``: "any" signal or "broadband"), decisions and truth
    alike.

    ``truth_cells``: cell, best_class / best_broadband_class (best operator and radio of the
    scope), population; ``truth_by_operator``: cell, operator, truth_class (that operator's
    best radio of the scope); ``decisions``: cell, operator ("any" or MCC-MNC), status, at
    the truth's resolution and for the scope's radios together.
    """
    people = truth_cells[["cell", "population"]]
    any_truth = truth_cells.rename(columns={BEST_CLASS_COLUMN[scope]: "truth_class"})
    scores = {"any": score_scope(any_truth, decisions[decisions["operator"] == "any"])}
    for operator, frame in truth_by_operator.groupby("operator", observed=True, sort=True):
        op = str(operator)
        truth = frame[["cell", "truth_class"]].merge(people, on="cell", how="left")
        scores[op] = score_scope(truth, decisions[decisions["operator"] == op])
    return scores


def score_by_radio(
    truth_cells: pd.DataFrame, truth: pd.DataFrame, decisions: pd.DataFrame
) -> dict[str, ScopeScore]:
    """Scores per operator and radio (``"452-04/lte"``): each radio's decisions against that
    radio's own truth, which is what a phone locked to one radio can measure.

    ``truth``: cell, operator, radio, truth_class; ``decisions``: cell, operator, radio,
    status; ``truth_cells``: cell, population.
    """
    people = truth_cells[["cell", "population"]]
    scores: dict[str, ScopeScore] = {}
    groups = truth.groupby(["operator", "radio"], observed=True, sort=True)
    for (operator, radio), frame in groups:
        op, rd = str(operator), str(radio)
        mine = decisions[(decisions["operator"] == op) & (decisions["radio"] == rd)]
        scores[f"{op}/{rd}"] = score_scope(
            frame[["cell", "truth_class"]].merge(people, on="cell", how="left"), mine
        )
    return scores


VILLAGE_TRUTH = ("trang_song", "lom_song", "covered")
VILLAGE_STATUSES = ("trang_song", "lom_song", "covered", "unknown")


def score_villages(truth: pd.DataFrame, called: pd.DataFrame) -> dict[str, Any]:
    """Village statuses against the truth: how far an authority can trust the list of dark
    villages.

    ``truth``: code, status (trang_song / lom_song / covered); ``called``: code, status as
    ``service.areas.progress`` decides it (the four statuses; a village missing is ``unknown``).
    Returns the confusion (truth -> called -> villages) and, for trắng sóng and lõm sóng,
    precision and recall over the villages with a decision. The truth's lõm sóng may use a
    different rule (a share of the people in dead cells) than the service's (any populated
    village cell dead): the scores then also measure the difference of the rules.
    """
    joined = truth[["code", "status"]].merge(
        called[["code", "status"]], on="code", how="left", suffixes=("_truth", "")
    )
    joined["status"] = joined["status"].fillna("unknown").astype(str)
    joined["status_truth"] = joined["status_truth"].astype(str)
    counts: dict[Any, int] = joined.groupby(["status_truth", "status"]).size().to_dict()
    confusion = {
        t: {s: int(counts.get((t, s), 0)) for s in VILLAGE_STATUSES} for t in VILLAGE_TRUTH
    }
    decided = joined[joined["status"] != "unknown"]
    scores: dict[str, Any] = {
        "villages": len(joined),
        "decided": len(decided),
        "confusion": confusion,
    }
    for status in ("trang_song", "lom_song"):
        called_it = decided["status"] == status
        true = decided["status_truth"] == status
        hits = int((called_it & true).sum())
        scores[status] = {
            "called": int(called_it.sum()),
            "true": int(true.sum()),
            "precision": _share(hits, int(called_it.sum())),
            "recall": _share(hits, int(true.sum())),
        }
    return scores


CALIBRATION_BINS = 10  # equal-width bins of predicted p_dead
CALIBRATION_MIN_CELLS = 30  # a bin with fewer cells is printed but not judged


@dataclass(frozen=True)
class Calibration:
    """How well estimated ``p_dead`` matches the truth for one scope: per bin of predicted
    probability the cells, their mean prediction and the share truly dead (a reliability
    diagram in numbers), and the Brier score (mean squared error of the probability;
    0 is perfect, 0.25 is a coin toss)."""

    cells: int
    brier: float | None
    bins: list[dict[str, Any]]

    def worst_gap(self, min_cells: int = CALIBRATION_MIN_CELLS) -> float | None:
        """Largest |mean predicted - truly dead share| over bins of ``min_cells`` or more."""
        gaps = [abs(b["predicted"] - b["dead_share"]) for b in self.bins if b["cells"] >= min_cells]
        return round(max(gaps), SHARE_DECIMALS) if gaps else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"worst_gap": self.worst_gap()}


def calibration(truth: pd.DataFrame, estimates: pd.DataFrame) -> Calibration:
    """``truth``: cell, truth_class; ``estimates``: cell, p_dead. Cells without an estimate
    are left out (the estimate does not reach them)."""
    joined = estimates[["cell", "p_dead"]].merge(truth[["cell", "truth_class"]], on="cell")
    dead = (joined["truth_class"].astype(str) == "dead").to_numpy(float)
    p = joined["p_dead"].to_numpy(float)
    if not len(joined):
        return Calibration(0, None, [])
    index = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    bins = []
    for b in range(CALIBRATION_BINS):
        inside = index == b
        n = int(inside.sum())
        if n:
            bins.append(
                {
                    "from": b / CALIBRATION_BINS,
                    "to": (b + 1) / CALIBRATION_BINS,
                    "cells": n,
                    "predicted": round(float(p[inside].mean()), SHARE_DECIMALS),
                    "dead_share": round(float(dead[inside].mean()), SHARE_DECIMALS),
                }
            )
    brier = round(float(((p - dead) ** 2).mean()), SHARE_DECIMALS)
    return Calibration(len(joined), brier, bins)


def calibration_by_scope(
    truth_cells: pd.DataFrame, truth_by_operator: pd.DataFrame, estimates: pd.DataFrame
) -> dict[str, Calibration]:
    """Calibration for best of all (``"any"``, truth: best operator) and each operator
    (truth: its best radio); ``estimates``: cell, operator, p_dead."""
    any_truth = truth_cells.rename(columns={"best_class": "truth_class"})
    found = {"any": calibration(any_truth, estimates[estimates["operator"] == "any"])}
    for operator, frame in truth_by_operator.groupby("operator", observed=True, sort=True):
        mine = estimates[estimates["operator"] == str(operator)]
        if len(mine):
            found[str(operator)] = calibration(frame, mine)
    return found


def found_dead(
    truth_cells: pd.DataFrame, truth_by_operator: pd.DataFrame, called: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """The issue's "found" goal per scope: of the truly dead (cell, scope) pairs in cells
    with readings of that scope, the share called dead, measured or estimated, and the
    precision of those calls. ``called``: cell, operator, status (measured; every cell with
    readings has a row), inferred_status (or None)."""
    any_truth = truth_cells.rename(columns={"best_class": "truth_class"}).assign(operator="any")
    truth = pd.concat(
        [any_truth[["cell", "operator", "truth_class"]],
         truth_by_operator[["cell", "operator", "truth_class"]].astype({"operator": str})],
        ignore_index=True,
    )  # fmt: skip
    joined = called.merge(truth, on=["cell", "operator"])
    results = {}
    for scope, frame in joined.groupby("operator", sort=True):
        dead = frame["truth_class"].astype(str) == "dead"
        measured = frame["status"] == "dead"
        either = measured | (frame["inferred_status"] == "dead")
        results[str(scope)] = {
            "truly_dead_with_readings": int(dead.sum()),
            "found_measured": _share(int((measured & dead).sum()), int(dead.sum())),
            "found": _share(int((either & dead).sum()), int(dead.sum())),
            "called": int(either.sum()),
            "precision": _share(int((either & dead).sum()), int(either.sum())),
        }
    return results


def score_plan(
    scenario: Scenario, sites: Sequence[dict[str, Any]], *, operator: str, band_mhz: int,
    height_m: float,
) -> dict[str, Any]:  # fmt: skip
    """Promised against delivered: the suggested ``sites`` (each with ``lat``, ``lon`` and
    ``cells``, the h3 -> people it promised to cover) are built into the scenario's world by
    ``operator`` with the simulator's own propagation (``Scenario.new_sites_lte_dbm``), and
    the people of the promised cells that really get a signal (1 bar or more, the planner's
    target and SDG 9.c.1's "within range") are counted. ``delivered_ratio`` = delivered /
    promised (None when nothing was promised)."""
    promised = float(sum(sum(site["cells"].values()) for site in sites))
    if not sites:
        return {"promised_people": 0.0, "delivered_people": 0.0, "delivered_ratio": None,
                "built_by": operator}  # fmt: skip
    signal = scenario.new_sites_lte_dbm(
        [s["lat"] for s in sites], [s["lon"] for s in sites], operator=operator,
        band_mhz=band_mhz, height_m=height_m,
    )  # fmt: skip
    reached = dict(zip(scenario.cells["h3"], class_rank(signal, Radio.LTE) >= 1, strict=True))
    delivered = float(
        sum(people for site in sites for h3, people in site["cells"].items() if reached.get(h3))
    )
    return {
        "promised_people": round(promised, 1),
        "delivered_people": round(delivered, 1),
        "delivered_ratio": round(delivered / promised, 3) if promised > 0 else None,
        "built_by": operator,
    }
