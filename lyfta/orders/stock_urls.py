"""The stock pages under /lager/ (the namespace "stock"): stock's own (lyfta/inventory/urls.py)
and those that orders draw, since they read orders' loans and lines (lyfta/orders/stock_views.py).
One namespace, so that every `reverse("stock:…")` is as it was."""

from django.urls import path

from lyfta.inventory.urls import urlpatterns as stock_pages
from lyfta.orders import stock_views as views

app_name = "stock"
urlpatterns = [
    *stock_pages,
    path("forrad/", views.stores, name="stores"),
    path("forrad/<int:store_id>/", views.store, name="store"),
    path("forrad/<int:store_id>/sakerhetsniva/", views.store_level, name="store_level"),
    path("forrad/<int:store_id>/pafyllning/", views.store_refill, name="store_refill"),
    # The converter `item_number` is stock's (registered by lyfta/inventory/urls.py).
    path("individ/<item_number:individual_number>/", views.item, name="item"),
    path(
        "individ/<item_number:individual_number>/reservera/",
        views.item_reserve,
        name="item_reserve",
    ),
    path("aterkallelse/", views.recall, name="recall"),
    path("aterkallelse/lista.csv", views.recall_csv, name="recall_csv"),
]
