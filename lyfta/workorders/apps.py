from django.apps import AppConfig


class WorkOrdersConfig(AppConfig):
    name = "lyfta.workorders"
    label = "workorders"
    verbose_name = "Teknik: arbetsordrar och besiktningar"
