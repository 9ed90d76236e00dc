from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "lyfta.orders"
    label = "orders"
    verbose_name = _("Beställningar och utlåning")

    def ready(self) -> None:
        from lyfta.access.actor import Actor
        from lyfta.catalogue.models import Article
        from lyfta.inventory.signals import stock_available
        from lyfta.orders.services import backorders_fill

        def fill(sender: object, *, actor: Actor, article: Article, **kwargs: object) -> None:
            backorders_fill(actor=actor, article=article)

        # Units of an article became available: backordered lines get their reservation.
        stock_available.connect(fill, dispatch_uid="orders.backorders_fill", weak=False)
