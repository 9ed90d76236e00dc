"""The work-order pages of the technicians' desk, under /teknik/ (namespace "workorders")."""

from django.urls import URLPattern, path

from lyfta.workorders import views

WO = "arbetsorder/<int:pk>/"

urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("enhetens/", views.unit_list, name="unit_list"),
    path("felanmalan/<int:patient_id>/<int:loan_id>/", views.report_fault, name="report_fault"),
    path("ny/<str:individual_number>/", views.new_for_item, name="new_for_item"),
    path(WO, views.detail, name="detail"),
    path(WO + "planera/", views.plan, name="plan"),
    path(WO + "paborja/", views.start, name="start"),
    path(WO + "vantar/", views.wait_for_parts, name="wait_for_parts"),
    path(WO + "rapport/", views.report, name="report"),
    path(WO + "reservdel/", views.use_part, name="use_part"),
    path(WO + "klar/", views.done, name="done"),
    path(WO + "ateroppna/", views.reopen, name="reopen"),
    path(WO + "avsluta/", views.close, name="close"),
    path(WO + "makulera/", views.cancel, name="cancel"),
    path(WO + "kostnadsforslag/", views.estimate, name="estimate"),
    path(WO + "godkann/", views.approve, name="approve"),
    path(WO + "bilaga/", views.attach, name="attach"),
    path(WO + "bilaga/<int:attachment_id>/", views.attachment, name="attachment"),
    path(WO + "kallelse.pdf", views.letter, name="letter"),
]
