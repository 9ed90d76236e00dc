from django.urls import path, register_converter
from django.urls.converters import StringConverter

from lyfta.inventory import views
from lyfta.inventory.forms import ITEM_NUMBER


class ItemNumberConverter(StringConverter):
    """Only a well-formed individual number reaches the item card: anything else (a NUL byte, a
    fullwidth digit, 100 kB) is the same 404 as a number that does not exist."""

    regex = ITEM_NUMBER


register_converter(ItemNumberConverter, "item_number")

# Stock's own pages. The namespace "stock" under /lager/ is lyfta/orders/stock_urls.py: these and
# the stock pages that orders draw (buffer stores, the item card, recalls).
app_name = "stock"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("inleverans/", views.receive, name="receive"),
    path("inventering/", views.stocktakes, name="stocktakes"),
    path("inventering/<int:location_id>/", views.stocktake, name="stocktake"),
    path("individ/", views.item_find, name="item_find"),
    path(
        "reservation/<int:reservation_id>/avbryt/",
        views.reservation_cancel,
        name="reservation_cancel",
    ),
]
