from django.urls import path

from lyfta.organisations import views

app_name = "organisations"
urlpatterns = [
    path("", views.providers, name="providers"),
    path("vardgivare/<int:provider_id>/", views.provider_detail, name="provider"),
    path("vardgivare/<int:provider_id>/historik/", views.provider_history, name="provider_history"),
    path("enheter/<int:unit_id>/", views.unit_detail, name="unit"),
    path("enheter/<int:unit_id>/historik/", views.unit_history, name="unit_history"),
]
