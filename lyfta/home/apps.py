from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeConfig(AppConfig):
    """The start page, the menus and the commands that serve and seed the whole county: above
    every domain app, known to none of them (only the URL conf and the settings name it)."""

    name = "lyfta.home"
    label = "home"
    verbose_name = _("Start")
