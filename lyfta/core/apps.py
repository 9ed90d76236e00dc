from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lyfta.core"
    label = "core"
