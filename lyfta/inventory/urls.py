from django.urls import path

from lyfta.inventory import views

app_name = "stock"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("inleverans/", views.receive, name="receive"),
    path("inventering/", views.stocktakes, name="stocktakes"),
    path("inventering/<int:location_id>/", views.stocktake, name="stocktake"),
    path("forrad/", views.stores, name="stores"),
    path("forrad/<int:store_id>/", views.store, name="store"),
    path("forrad/<int:store_id>/sakerhetsniva/", views.store_level, name="store_level"),
    path("forrad/<int:store_id>/pafyllning/", views.store_refill, name="store_refill"),
    path("individ/", views.item_find, name="item_find"),
    path("individ/<str:individual_number>/", views.item, name="item"),
    path("aterkallelse/", views.recall, name="recall"),
    path("aterkallelse/lista.csv", views.recall_csv, name="recall_csv"),
]
