from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "lyfta.catalogue"
    label = "catalogue"
