from django.urls import path

from lyfta.orders import logistics_views as views

app_name = "logistics"
urlpatterns = [
    path("", views.picklist, name="picklist"),
    path("order/<int:order_id>/", views.order, name="order"),
    path("order/<int:order_id>/rad/<int:line_id>/plocka/", views.line_pick, name="line_pick"),
    path("order/<int:order_id>/rad/<int:line_id>/makulera/", views.line_cancel, name="line_cancel"),
    path("order/<int:order_id>/leverans/", views.delivery, name="delivery"),
    path("order/<int:order_id>/leverera/", views.deliver, name="deliver"),
    path("order/<int:order_id>/bomkorning/", views.delivery_failed, name="delivery_failed"),
    path("hamtningar/", views.pickups, name="pickups"),
    path("hamtningar/<int:pickup_id>/hamtad/", views.pickup_collect, name="pickup_collect"),
    path("hamtningar/rad/<int:line_id>/skick/", views.pickup_condition, name="pickup_condition"),
    path("returer/", views.returns, name="returns"),
    path("returer/<int:line_id>/skick/", views.return_condition, name="return_condition"),
    path("skick/foto/<int:photo_id>/", views.condition_photo, name="condition_photo"),
    path("returer/<int:line_id>/mottagen/", views.return_receive, name="return_receive"),
    path("rekonditionering/", views.reconditioning, name="reconditioning"),
    path("rekonditionering/<int:item_id>/klar/", views.recondition_done, name="recondition_done"),
    path("rekonditionering/<int:item_id>/skrota/", views.scrap, name="scrap"),
]
