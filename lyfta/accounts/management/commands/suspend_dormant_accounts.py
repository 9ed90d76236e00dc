from __future__ import annotations

from typing import Any

from lyfta.access.commands import SystemCommand
from lyfta.accounts.services import accounts_suspend_dormant


class Command(SystemCommand):
    help = (
        "Suspend accounts without a sign-in for LYFTA_DORMANT_ACCOUNT_DAYS (180) and assignments "
        "unused for LYFTA_DORMANT_ASSIGNMENT_DAYS (90); each suspension is audited (R7)."
    )

    def run(self, *args: Any, **options: Any) -> None:
        accounts, assignments = accounts_suspend_dormant(
            actor=self.actor("suspend_dormant_accounts")
        )
        self.stdout.write(f"suspended {accounts} accounts and {assignments} assignments")
