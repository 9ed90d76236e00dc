from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "lyfta.core"
    label = "core"
    verbose_name = _("Gemensamt")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from lyfta.core.sqlite import install

        connection_created.connect(install, dispatch_uid="lyfta.core.sqlite.like")
