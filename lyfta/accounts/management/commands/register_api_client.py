from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from lyfta.access.commands import SystemCommand
from lyfta.access.roles import API_CLIENT_ROLES
from lyfta.accounts.api_clients import api_client_register
from lyfta.accounts.models import ApiScope
from lyfta.organisations.models import Unit


class Command(SystemCommand):
    help = (
        "Register a machine client of the API (issue 18) and print its token, once. The same "
        "service as the system administrator's page (/konto/admin/api-klienter/ny/); recorded "
        "as api_client.registered by system:register_api_client."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--unit", required=True, help="the unit's customer number or id")
        parser.add_argument("--role", required=True, choices=API_CLIENT_ROLES)
        parser.add_argument(
            "--scopes", required=True, help=f"comma-separated: {', '.join(ApiScope.values)}"
        )
        parser.add_argument("--expires", required=True, help="valid through YYYY-MM-DD")
        parser.add_argument("--decision", required=True, help="decision reference")
        parser.add_argument("--rate-limit", type=int, default=None)
        parser.add_argument("--description", default="")

    def run(self, *args: Any, **options: Any) -> None:
        raw_unit = str(options["unit"])
        unit = Unit.objects.filter(customer_number=raw_unit).first()
        if unit is None and raw_unit.isdigit():
            unit = Unit.objects.filter(pk=int(raw_unit)).first()
        if unit is None:
            raise CommandError(f"no unit {raw_unit!r}")
        try:
            expires = dt.date.fromisoformat(options["expires"])
        except ValueError as error:
            raise CommandError(f"--expires: {error}") from None
        try:
            registered = api_client_register(
                actor=self.actor("register_api_client"),
                name=options["name"],
                unit=unit,
                role=options["role"],
                scopes=[s.strip() for s in options["scopes"].split(",") if s.strip()],
                expires_on=expires,
                decision_reference=options["decision"],
                description=options["description"],
                rate_limit=options["rate_limit"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"registered {registered.client.name} (id {registered.client.pk})")
        self.stdout.write("token (shown once; store it in the client's secret store):")
        self.stdout.write(registered.token)
