from django.urls import path

from lyfta.accounts import views

app_name = "accounts"
urlpatterns = [
    path("logga-in/", views.login, name="login"),
    path("logga-ut/", views.logout, name="logout"),
    path("uppdrag/", views.choose_assignment, name="choose_assignment"),
]
