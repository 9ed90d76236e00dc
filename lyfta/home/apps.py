from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The start page, the menus and the commands that serve and seed the whole county: above
    every domain app, known to none of them (only the URL conf and the settings name it)."""

    name = "lyfta.home"
    label = "home"
