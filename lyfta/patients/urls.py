from django.urls import path

from lyfta.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search, name="search"),
    path("mina/", views.mine, name="mine"),
    path("utan-vardrelation/", views.outside, name="outside"),
    path("nodatkomst/", views.emergency, name="emergency"),
    path("nodatkomst/<int:emergency_id>/avsluta/", views.emergency_end, name="emergency_end"),
    path("nodatkomst/granska/", views.emergency_queue, name="emergency_queue"),
    path("ny/", views.register, name="register"),
    path("<int:patient_id>/", views.detail, name="detail"),
    path("<int:patient_id>/ratta/", views.correct, name="correct"),
    path("<int:patient_id>/vardrelation/", views.relationship_add, name="relationship_add"),
    path(
        "<int:patient_id>/vardrelation/<int:relationship_id>/avsluta/",
        views.relationship_end,
        name="relationship_end",
    ),
    path("<int:patient_id>/samtycke/", views.consent_add, name="consent_add"),
    path(
        "<int:patient_id>/samtycke/<int:consent_id>/<str:how>/",
        views.consent_close,
        name="consent_close",
    ),
    path("<int:patient_id>/sparr/", views.block_add, name="block_add"),
    path("<int:patient_id>/sparr/visa-vardgivare/", views.block_reveal, name="block_reveal"),
    path("<int:patient_id>/sparr/<int:block_id>/tillfalligt/", views.block_lift, name="block_lift"),
    path("<int:patient_id>/sparr/<int:block_id>/<str:how>/", views.block_close, name="block_close"),
    path("<int:patient_id>/skydd/", views.protection, name="protection"),
]
