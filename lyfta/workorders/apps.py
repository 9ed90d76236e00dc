from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    name = "lyfta.workorders"
    label = "workorders"
    verbose_name = _("Teknik: arbetsordrar och besiktningar")

    def ready(self) -> None:
        from lyfta.orders import selectors as orders
        from lyfta.workorders.selectors import holdings_work, item_card_work

        # The desk's part of orders' holdings page and item card (orders know no work orders).
        if holdings_work not in orders.HOLDINGS_PARTS:
            orders.HOLDINGS_PARTS.append(holdings_work)
        if item_card_work not in orders.ITEM_CARD_PARTS:
            orders.ITEM_CARD_PARTS.append(item_card_work)
