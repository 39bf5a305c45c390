"""What one run did, stage by stage: the report the orchestrator fills as it goes
(:mod:`reverse_etl.app.orchestrator`), so that a failed run's report is partial, not empty."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from reverse_etl.core.build_plan import BuildPlan
from reverse_etl.core.errors import QuarantinedRecordsError, RejectedRecordsError
from reverse_etl.push.quarantine_report import quarantine_message


@dataclass
class SyncReport:
    """What one run did, stage by stage (filled as it goes, so a failed run's is partial)."""

    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    dry_run: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage: str | None = None  # the stage running, or the one that failed
    extract: Any = None
    transform: Any = None
    push: Any = None
    freshness: Any = None
    publish: Any = None
    plan: BuildPlan | None = None
    quarantined: list[Any] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Invoices HubSpot rejected plus customer writes (companies, associations) it refused."""
        invoices = int(getattr(self.push, "rejected", 0) or 0)
        return invoices + int(getattr(self.push, "customers_refused", 0) or 0)

    def raise_for_problems(self) -> None:
        """Exit 3 when HubSpot rejected records or Xero records are in quarantine."""
        quarantine = quarantine_message(self.quarantined) if self.quarantined else ""
        try:
            if self.push is not None and hasattr(self.push, "raise_for_rejections"):
                self.push.raise_for_rejections()
        except RejectedRecordsError as exc:
            if quarantine:
                raise RejectedRecordsError(f"{exc} Also: {quarantine}") from None
            raise
        if quarantine:
            raise QuarantinedRecordsError(quarantine)

    def summary(self) -> str:
        timings = ", ".join(f"{name} {secs:.1f}s" for name, secs in self.stage_seconds.items())
        what = "Dry run" if self.dry_run else "Sync"
        line = f"{what} finished in {sum(self.stage_seconds.values()):.1f}s ({timings})."
        if self.plan is not None and self.plan.skipped:
            line += " Transform, push and publish skipped: nothing changed."
        return line

    def stages_as_dict(self) -> dict[str, dict[str, Any]]:
        """Per stage: its counts and seconds (the ``stages`` of the ``--json`` summary)."""
        stages: dict[str, dict[str, Any]] = {}
        for name in ("extract", "transform", "freshness", "push"):
            result = getattr(self, name)
            if result is not None and hasattr(result, "as_dict"):
                stages[name] = dict(result.as_dict())
            if name in self.stage_seconds:
                stages.setdefault(name, {})["seconds"] = round(self.stage_seconds[name], 3)
        return stages
