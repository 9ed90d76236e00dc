from django.urls import path

from lyfta.messages import views

app_name = "messages"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:message_id>/", views.open_message, name="open"),
]
