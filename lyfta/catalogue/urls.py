from django.urls import path

from lyfta.catalogue import views

app_name = "catalogue"
urlpatterns = [
    path("", views.articles, name="articles"),
    path("artiklar/ny/", views.article_create, name="article_create"),
    path("artiklar/<int:article_id>/", views.article_detail, name="article"),
    path("artiklar/<int:article_id>/andra/", views.article_edit, name="article_edit"),
    path(
        "artiklar/<int:article_id>/sortiment/",
        views.article_assortment,
        name="article_assortment",
    ),
    path("artiklar/<int:article_id>/historik/", views.article_history, name="article_history"),
    path("import/", views.article_import, name="article_import"),
    path("import/mall.csv", views.import_template, name="import_template"),
    path("leverantorer/", views.suppliers, name="suppliers"),
    path("leverantorer/ny/", views.supplier_create, name="supplier_create"),
    path("leverantorer/<int:supplier_id>/", views.supplier_detail, name="supplier"),
    path("leverantorer/<int:supplier_id>/andra/", views.supplier_edit, name="supplier_edit"),
    path("ersattningsgrupper/", views.groups, name="groups"),
    path("ersattningsgrupper/ny/", views.group_create, name="group_create"),
    path("ersattningsgrupper/<int:group_id>/", views.group_detail, name="group"),
    path("ersattningsgrupper/<int:group_id>/andra/", views.group_edit, name="group_edit"),
    path("iso/", views.iso_classes, name="iso_classes"),
    path("iso/ny/", views.iso_class_create, name="iso_class_create"),
    path("iso/<int:iso_id>/", views.iso_class_detail, name="iso_class"),
    path("iso/<int:iso_id>/andra/", views.iso_class_edit, name="iso_class_edit"),
]
