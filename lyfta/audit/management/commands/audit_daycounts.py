from __future__ import annotations

from typing import Any

from django.db import transaction

from lyfta.access.commands import SystemCommand
from lyfta.audit import daily
from lyfta.audit.sealing import _lock_sealer


class Command(SystemCommand):
    help = (
        "Recount the log reviewer's accesses per day from the sealed log (the sealer keeps them "
        "as it seals; migration 0005 counted the log of an existing installation). After a "
        "restore or a bulk import sealed outside the sealer."
    )

    def run(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            _lock_sealer()
            rows = daily.rebuild()
        self.stdout.write(f"{rows} rows of accesses per day")
