"""Run a Great Expectations 1.x suite (JSON in `expectations/`) on a pandas frame.

GE 1.24 has no working DuckDB datasource and dagster-ge needs GE < 1, so the asset checks
read the partition from DuckDB as pandas and validate it here. Suites take runtime values
through GE's `{"$PARAMETER": name}` (e.g. the relation vocabulary), so editing a suite needs
no code change. Id checks are not value sets: the loaders add `unknown_<column>` from an
anti-join in DuckDB (defs/validation/checks.py) and the suites expect it null. An expectation's GE `severity` decides whether a
failure blocks downstream assets ("critical") or only warns ("warning", "info").
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    severity: str
    unexpected_count: int | None
    observed: str

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "critical"


@dataclass
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocking]

    def markdown(self) -> str:
        lines = ["| expectation | column | result | severity | unexpected | observed |",
                 "|---|---|---|---|---|---|"]
        for o in self.outcomes:
            lines.append(
                f"| {o.expectation} | {o.column or ''} | {'pass' if o.success else 'FAIL'} | "
                f"{o.severity} | {'' if o.unexpected_count is None else o.unexpected_count} | {o.observed} |"
            )
        return "\n".join(lines)


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # older/newer GE without this knob: bars are cosmetic
        pass
    source = context.data_sources.add_pandas("pkg_frames")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")


def load_suite_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"expectation suite {path} not found") from exc


def run_suite(path: Path, frame: pd.DataFrame, parameters: dict | None = None) -> SuiteOutcome:
    import great_expectations as gx

    spec = load_suite_json(path)
    suite = gx.ExpectationSuite(**spec)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, expectation_parameters=parameters or {})
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        kwargs = config.kwargs or {}
        details = item.result or {}
        observed = details.get("observed_value")
        if observed is None and details.get("partial_unexpected_list"):
            observed = details["partial_unexpected_list"][:3]
        severity = getattr(config, "severity", None) or "critical"
        outcomes.append(ExpectationOutcome(
            expectation=config.type,
            column=kwargs.get("column") or (",".join(kwargs["column_list"]) if kwargs.get("column_list") else None),
            success=bool(item.success),
            severity=str(getattr(severity, "value", severity)).lower(),
            unexpected_count=details.get("unexpected_count"),
            observed=str(observed)[:80] if observed is not None else "",
        ))
    return SuiteOutcome(suite=spec.get("name", path.stem), rows=len(frame), outcomes=outcomes)
