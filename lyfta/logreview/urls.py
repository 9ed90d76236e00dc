from django.urls import path

from lyfta.logreview import views

app_name = "review"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("sok/", views.search, name="search"),
    path("sok/fhir/", views.fhir_export, name="fhir"),
    path("handelse/<int:event_id>/", views.entry, name="entry"),
    path("riktad/<str:name>/", views.targeted, name="targeted"),
    path("spara/", views.check_save, name="check_save"),
    path("stickprov/", views.sample_new, name="sample_new"),
    path("kontroll/<int:check_id>/", views.check, name="check"),
    path("schema/<int:unit_id>/", views.schedule, name="schedule"),
    path("utdrag/", views.extract_new, name="extract_new"),
    path("utdrag/<int:request_id>/", views.extract, name="extract"),
    path("utdrag/<int:request_id>/fil.<str:fmt>", views.extract_file, name="extract_file"),
    path("utdrag/<int:request_id>/lamnat/", views.extract_delivered, name="extract_delivered"),
]
