from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "lyfta.patients"
    label = "patients"
