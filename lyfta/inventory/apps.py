from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "lyfta.inventory"
    label = "inventory"
    verbose_name = "Lager"
