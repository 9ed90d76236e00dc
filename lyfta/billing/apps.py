from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "lyfta.billing"
    label = "billing"
    verbose_name = _("Ekonomi: kunder, prislistor, betalarregler och debitering")

    def ready(self) -> None:
        from lyfta.billing.services.run import run_to_compute
        from lyfta.billing.tasks import compute_billing_run

        def enqueue(sender: object, *, run_id: int, **kwargs: object) -> None:
            compute_billing_run.enqueue(run_id)

        # A run started or recomputed: the background worker computes its lines.
        run_to_compute.connect(enqueue, dispatch_uid="billing.compute_run", weak=False)
