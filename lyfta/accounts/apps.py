from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "lyfta.accounts"
    label = "accounts"
    verbose_name = _("Användare och uppdrag")

    def ready(self) -> None:
        from lyfta.accounts import api_clients, services
        from lyfta.accounts.models import PrivilegeRequest

        services.APPROVED_ELSEWHERE[PrivilegeRequest.Kind.API_CLIENT] = (
            api_clients.api_client_register_approved
        )
