from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lyfta.audit"
    label = "audit"
