from django.urls import path, register_converter
from django.urls.converters import StringConverter

from lyfta.inventory import views
from lyfta.inventory.forms import ITEM_NUMBER


class ItemNumberConverter(StringConverter):
    """Only a well-formed individual number reaches the item card: anything else (a NUL byte, a
    fullwidth digit, 100 kB) is the same 404 as a number that does not exist."""

    regex = ITEM_NUMBER


register_converter(ItemNumberConverter, "item_number")

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
    path("individ/<item_number:individual_number>/", views.item, name="item"),
    path(
        "individ/<item_number:individual_number>/reservera/",
        views.item_reserve,
        name="item_reserve",
    ),
    path(
        "reservation/<int:reservation_id>/avbryt/",
        views.reservation_cancel,
        name="reservation_cancel",
    ),
    path("aterkallelse/", views.recall, name="recall"),
    path("aterkallelse/lista.csv", views.recall_csv, name="recall_csv"),
]
