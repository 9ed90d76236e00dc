from django.urls import path

from lyfta.audit import views

app_name = "audit"
urlpatterns = [
    path("mellan-vardgivare/", views.cross_provider, name="cross_provider"),
]
