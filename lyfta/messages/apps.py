from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagesConfig(AppConfig):
    name = "lyfta.messages"
    label = "inbox"
    verbose_name = _("Meddelanden")
