from __future__ import annotations

from importlib import import_module
from typing import Any

from django.db import transaction

from lyfta.access.commands import SystemCommand
from lyfta.audit.sealing import audit_seal

# Each app's seed, in dependency order. Later issues add theirs here.
SEEDERS = [
    "lyfta.organisations.seed",
    "lyfta.catalogue.seed",
    "lyfta.accounts.seed",
    "lyfta.patients.seed",
    "lyfta.inventory.seed",
    "lyfta.workorders.seed",
    "lyfta.quality.seed",
    "lyfta.billing.seed",
    "lyfta.billing.seed_runs",
    "lyfta.reports.seed",
    "lyfta.logreview.seed",
]


class Command(SystemCommand):
    help = "Create the demo county (synthetic data only). Idempotent: a second run changes nothing."

    def run(self, *args: Any, **options: Any) -> None:
        actor = self.actor("seed_demo")
        with transaction.atomic():
            for module in SEEDERS:
                import_module(module).seed(actor)
        result = audit_seal(checkpoint=None)
        self.stdout.write(f"demo county ready; {result.sealed} new audit events sealed")
