"""The inspection pages of the technicians' desk, under /teknik/ (namespace "workorders")."""

from django.urls import URLPattern, path

from lyfta.workorders import plan_views

urlpatterns: list[URLPattern] = [
    path("besiktningsplaner/", plan_views.plans, name="plans"),
    path("besiktningsplaner/ny/", plan_views.plan_new, name="plan_new"),
    path("besiktningsplaner/<int:pk>/", plan_views.plan_edit, name="plan_edit"),
    path("besiktningar/", plan_views.due, name="due"),
    path("dagplan/", plan_views.dayplan, name="dayplan"),
    path("arbetsorder/<int:pk>/besiktning/", plan_views.inspect, name="inspect"),
]
