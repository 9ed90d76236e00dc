from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "lyfta.organisations"
    label = "organisations"
