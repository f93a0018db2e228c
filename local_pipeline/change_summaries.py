"""The change summaries a run's ChangeSummary steps left (``pipeline.change_summary``'s
``<stack>.json`` and ``.txt`` in their output artifacts), found per stage: what the run's
page, `make approve` and `APPROVE=1 make local` show an approver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The summary step's id starts so (pipeline/approval_steps.py, CHANGE_SUMMARY; not imported:
# the local run does not load the pipeline's CDK code).
CHANGE_SUMMARY = "ChangeSummary"
AUTO_APPROVE = "AutoApprove"  # the step beside an approval that decides it when nothing widens


def _outputs(run_folder: Path, stage: str) -> list[Path]:
    folders = sorted(folder for folder in (run_folder / "actions").glob(f"{stage}.*") if CHANGE_SUMMARY in folder.name)
    return [file for folder in folders for file in sorted((folder / "out").glob("*/*.json"))]


def stage_summaries(run_folder: Path, stage: str) -> list[dict[str, Any]]:
    """Each summary of ``stage``'s stacks in this run, as ``ChangeSummary.as_json`` wrote it."""
    summaries = []
    for file in _outputs(run_folder, stage):
        try:
            summary = json.loads(file.read_text())
        except (OSError, ValueError):
            continue  # a build's file that is not a summary: not shown, never trusted
        if isinstance(summary, dict) and "stack" in summary and "changes" in summary:
            summaries.append(summary)
    return summaries


def summary_text(run_folder: Path, stage: str) -> str:
    """The stage's summaries as their steps printed them, or "" when it has none."""
    texts = []
    for file in _outputs(run_folder, stage):
        text = file.with_suffix(".txt")
        if text.is_file():
            texts.append(text.read_text().rstrip())
    return "\n".join(texts)
