"""One run of the project's pipeline, with the time of each dlt step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from harness import credentials
from ivs_replicas import runner
from ivs_replicas.pipeline import make_pipeline

STEPS = ("extract", "normalize", "load")


@dataclass
class Outcome:
    """The run summary plus seconds per dlt step (extract, normalize, load)."""

    summary: runner.RunSummary
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Replica rows loaded."""
        return self.summary.tally.replicas

    @property
    def other_seconds(self) -> float:
        """Seconds outside the dlt steps: config, lock, pipeline set-up, views."""
        return self.summary.elapsed_seconds - sum(self.steps.values())


def run_pipeline(database: Path, url: str, refs: list[dict[str, str]], **options: Any) -> Outcome:
    """`runner.run` against the local endpoint with fake credentials."""
    summary = runner.run(
        database, participants=refs, credentials=credentials(), endpoint_url=url, **options
    )
    # dlt keeps the last run's trace in the pipeline's working folder.
    return Outcome(summary, step_seconds(make_pipeline(summary.database, summary.dataset)))


def step_seconds(pipeline: dlt.Pipeline) -> dict[str, float]:
    """Seconds of each step of the pipeline's last run."""
    trace = pipeline.last_trace
    if trace is None:
        return {}
    return {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in trace.steps
        if step.step in STEPS and step.finished_at is not None
    }
