from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "lyfta.access"
    label = "access"
