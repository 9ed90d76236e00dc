from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "lyfta.billing"
    label = "billing"
    verbose_name = _("Ekonomi: kunder, prislistor, betalarregler och debitering")
