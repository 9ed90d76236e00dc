from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "lyfta.orders"
    label = "orders"
    verbose_name = "Beställningar och utlåning"
