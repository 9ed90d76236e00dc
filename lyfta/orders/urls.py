from django.urls import path

from lyfta.orders import views

app_name = "orders"
urlpatterns = [
    path("innehav/<int:patient_id>/", views.holdings, name="holdings"),
    path("innehav/<int:patient_id>/bestall/", views.order_new, name="order_new"),
    path("innehav/<int:patient_id>/bestall/artiklar/", views.article_results, name="articles"),
    path("innehav/<int:patient_id>/bestall/rad/", views.cart_add, name="cart_add"),
    path(
        "innehav/<int:patient_id>/bestall/rad/<int:index>/bort/",
        views.cart_remove,
        name="cart_remove",
    ),
    path("innehav/<int:patient_id>/bestall/mall/", views.template_save, name="template_save"),
    path(
        "innehav/<int:patient_id>/bestall/mall/<int:template_id>/",
        views.template_use,
        name="template_use",
    ),
    path("innehav/<int:patient_id>/hamtning/", views.pickup_new, name="pickup_new"),
    path("innehav/<int:patient_id>/aterlamning/", views.return_letter, name="return_letter"),
    path("innehav/<int:patient_id>/forlust/<int:loan_id>/", views.loss_new, name="loss_new"),
    path("innehav/<int:patient_id>/uttag/", views.withdraw, name="withdraw"),
    path("ordrar/", views.order_list, name="orders"),
    path("ordrar/<int:order_id>/", views.order_detail, name="order"),
    path("ordrar/<int:order_id>/makulera/", views.order_cancel, name="order_cancel"),
    path("ordrar/<int:order_id>/laneforbindelse/", views.loan_agreement, name="loan_agreement"),
    path(
        "ordrar/<int:order_id>/rad/<int:line_id>/makulera/", views.line_cancel, name="line_cancel"
    ),
    path("hamtordrar/<int:pickup_id>/makulera/", views.pickup_cancel, name="pickup_cancel"),
    path("forlust/<int:report_id>/aterfunnen/", views.loss_found, name="loss_found"),
]
