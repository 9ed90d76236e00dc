from __future__ import annotations

from typing import Any

from lyfta.access.commands import SystemCommand
from lyfta.patients.services import emergencies_escalate


class Command(SystemCommand):
    help = (
        "Escalate emergency accesses still without a verdict three working days after they "
        "started: the provider's log reviewers (or whoever stands in) are told; audited (R52)."
    )

    def run(self, *args: Any, **options: Any) -> None:
        count = emergencies_escalate(actor=self.actor("escalate_overdue_emergency_reviews"))
        self.stdout.write(f"escalated {count} emergency accesses")
