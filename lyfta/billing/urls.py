from django.urls import URLPattern, path  # noqa: F401 - pages are added here

app_name = "billing"

urlpatterns: list[URLPattern] = []
