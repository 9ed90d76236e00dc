"""The R43 report keeps the path and URL namespace it had when it lived in `lyfta.audit`
("granskning/", `audit:cross_provider`), so that links, menus and the access table stay."""

from django.urls import path

from lyfta.logreview import views

app_name = "audit"
urlpatterns = [
    path("mellan-vardgivare/", views.cross_provider, name="cross_provider"),
]
