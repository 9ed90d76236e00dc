from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lyfta.accounts"
    label = "accounts"
