"""Pages of the assortment: articles, suppliers, substitution groups, ISO classes and the article
file import. Everyone who orders or handles devices sees them; the catalogue manager keeps them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.audit.views import history_template
from lyfta.catalogue import imports, selectors, services
from lyfta.catalogue.forms import (
    ArticleFilterForm,
    ArticleForm,
    ImportForm,
    IsoClassCreateForm,
    IsoClassEditForm,
    SubstitutionGroupForm,
    SupplierForm,
)
from lyfta.catalogue.models import Article, IsoClass, SubstitutionGroup, Supplier
from lyfta.core.forms import add_service_errors
from lyfta.core.http import LyftaRequest

PAGE_SIZE = 50


def _manager(request: LyftaRequest) -> bool:
    return can(request.actor, Cap.CATALOGUE_MANAGE)


def _form_page(request: LyftaRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    form = context["form"]
    return render(request, template, context, status=400 if form.errors else 200)


# --- Articles -------------------------------------------------------------------------------------


@require_GET
def articles(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_VIEW)
    form = ArticleFilterForm(request.GET or None)
    arguments = form.search_arguments() if form.is_valid() else {"limit": 0}
    page = Paginator(selectors.article_search(**arguments), PAGE_SIZE).get_page(
        request.GET.get("sida")
    )
    query = request.GET.copy()
    query.pop("sida", None)
    return render(
        request,
        "catalogue/articles.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "searched": bool(request.GET),
            "manager": _manager(request),
        },
    )


@require_GET
def article_detail(request: LyftaRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get(actor=request.actor, article_id=article_id)
    group = article.substitution_group
    return render(
        request,
        "catalogue/article_detail.html",
        {
            "article": article,
            "iso_path": article.iso_class.path(),
            "accessories": selectors.article_accessories(article),
            "accessory_of": selectors.article_accessory_of(article),
            "group_members": selectors.group_members(group).exclude(pk=article.pk) if group else [],
            "expected_delivery": selectors.expected_delivery(article, timezone.localdate()),
            "manager": _manager(request),
        },
    )


@require_http_methods(["GET", "POST"])
def article_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    form = ArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.article_create(
                actor=request.actor,
                accessories=form.cleaned_data["accessory_numbers"],
                **form.service_data(changed_only=False),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Artikeln är upplagd."))
            return redirect("catalogue:article", article_id=article.pk)
    return _form_page(request, "catalogue/article_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def article_edit(request: LyftaRequest, article_id: int) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    article = get_object_or_404(Article, pk=article_id)
    form = ArticleForm(request.POST or None, instance=article)
    if request.method == "POST" and form.is_valid():
        accessories = (
            form.cleaned_data["accessory_numbers"]
            if "accessory_numbers" in form.changed_data
            else None
        )
        try:
            services.article_update(
                actor=request.actor,
                article=Article.objects.get(pk=article_id),
                accessories=accessories,
                **form.service_data(changed_only=True),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Ändringarna är sparade."))
            return redirect("catalogue:article", article_id=article_id)
    return _form_page(
        request, "catalogue/article_form.html", {"form": form, "article_id": article_id}
    )


@require_POST
def article_assortment(request: LyftaRequest, article_id: int) -> HttpResponse:
    """Take an article out of the assortment, or put it back."""
    require(request.actor, Cap.CATALOGUE_MANAGE)
    article = get_object_or_404(Article, pk=article_id)
    if request.POST.get("in_assortment") == "1":
        services.article_reinstate(actor=request.actor, article=article)
        messages.success(request, _("Artikeln är åter i sortimentet."))
    else:
        services.article_withdraw(actor=request.actor, article=article)
        messages.success(request, _("Artikeln är utgången ur sortimentet och kan inte beställas."))
    return redirect("catalogue:article", article_id=article.pk)


@require_GET
def article_history(request: LyftaRequest, article_id: int) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    article = get_object_or_404(Article, pk=article_id)
    events = selectors.article_history(actor=request.actor, article=article)
    return render(request, history_template(request), {"events": events, "subject": article})


@require_http_methods(["GET", "POST"])
def article_import(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    result = None
    if form.is_bound and form.is_valid():
        result = services.article_import(actor=request.actor, file=form.cleaned_data["file"])
        if result.ok:
            messages.success(
                request,
                _("Filen är inläst: %(c)s nya, %(u)s ändrade och %(n)s oförändrade artiklar.")
                % {"c": result.created, "u": result.updated, "n": result.unchanged},
            )
            return redirect("catalogue:article_import")
    # A file that was read but refused is answered with its report (200); a form without a
    # file is bad input (400).
    status = 400 if form.errors else 200
    return render(
        request,
        "catalogue/import.html",
        {
            "form": form,
            "result": result,
            "columns": imports.COLUMNS,
            "labels": imports.COLUMN_LABELS,
        },
        status=status,
    )


@require_GET
def import_template(request: LyftaRequest) -> HttpResponse:
    """A CSV file with the header and two example rows, ready for a spreadsheet."""
    require(request.actor, Cap.CATALOGUE_MANAGE)
    response = HttpResponse(
        "\ufeff" + imports.template_csv(), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="artiklar-mall.csv"'
    return response


# --- Suppliers ------------------------------------------------------------------------------------


@require_GET
def suppliers(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "catalogue/suppliers.html",
        {"suppliers": selectors.suppliers_list(actor=request.actor), "manager": _manager(request)},
    )


@require_GET
def supplier_detail(request: LyftaRequest, supplier_id: int) -> HttpResponse:
    supplier = selectors.supplier_get(actor=request.actor, supplier_id=supplier_id)
    return render(
        request,
        "catalogue/supplier_detail.html",
        {
            "supplier": supplier,
            "articles": selectors.article_search(supplier_id=supplier.pk, limit=500),
            "manager": _manager(request),
        },
    )


@require_http_methods(["GET", "POST"])
def supplier_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    form = SupplierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = services.supplier_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Leverantören är upplagd."))
            return redirect("catalogue:supplier", supplier_id=supplier.pk)
    return _form_page(request, "catalogue/simple_form.html", _supplier_context(form, None))


@require_http_methods(["GET", "POST"])
def supplier_edit(request: LyftaRequest, supplier_id: int) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    supplier = get_object_or_404(Supplier, pk=supplier_id)
    form = SupplierForm(request.POST or None, instance=supplier)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.supplier_update(
                actor=request.actor, supplier=Supplier.objects.get(pk=supplier_id), **data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Ändringarna är sparade."))
            return redirect("catalogue:supplier", supplier_id=supplier_id)
    return _form_page(request, "catalogue/simple_form.html", _supplier_context(form, supplier_id))


def _supplier_context(form: SupplierForm, supplier_id: int | None) -> dict[str, Any]:
    return {
        "form": form,
        "title": _("Ändra leverantör") if supplier_id else _("Ny leverantör"),
        "parent_label": _("Leverantörer"),
        "parent_url": "catalogue:suppliers",
    }


# --- Substitution groups --------------------------------------------------------------------------


@require_GET
def groups(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "catalogue/groups.html",
        {"groups": selectors.groups_list(actor=request.actor), "manager": _manager(request)},
    )


@require_GET
def group_detail(request: LyftaRequest, group_id: int) -> HttpResponse:
    group = selectors.group_get(actor=request.actor, group_id=group_id)
    return render(
        request,
        "catalogue/group_detail.html",
        {"group": group, "members": selectors.group_members(group), "manager": _manager(request)},
    )


@require_http_methods(["GET", "POST"])
def group_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    form = SubstitutionGroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.substitution_group_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Ersättningsgruppen är upplagd."))
            return redirect("catalogue:group", group_id=group.pk)
    return _form_page(request, "catalogue/simple_form.html", _group_context(form, None))


@require_http_methods(["GET", "POST"])
def group_edit(request: LyftaRequest, group_id: int) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    group = get_object_or_404(SubstitutionGroup, pk=group_id)
    form = SubstitutionGroupForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.substitution_group_update(
                actor=request.actor, group=SubstitutionGroup.objects.get(pk=group_id), **data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Ändringarna är sparade."))
            return redirect("catalogue:group", group_id=group_id)
    return _form_page(request, "catalogue/simple_form.html", _group_context(form, group_id))


def _group_context(form: SubstitutionGroupForm, group_id: int | None) -> dict[str, Any]:
    return {
        "form": form,
        "title": _("Ändra ersättningsgrupp") if group_id else _("Ny ersättningsgrupp"),
        "parent_label": _("Ersättningsgrupper"),
        "parent_url": "catalogue:groups",
    }


# --- ISO 9999 classes ----------------------------------------------------------------------------


@require_GET
def iso_classes(request: LyftaRequest) -> HttpResponse:
    return render(
        request,
        "catalogue/iso_classes.html",
        {"classes": selectors.iso_classes_top(actor=request.actor), "manager": _manager(request)},
    )


@require_GET
def iso_class_detail(request: LyftaRequest, iso_id: int) -> HttpResponse:
    iso_class = selectors.iso_class_get(actor=request.actor, iso_id=iso_id)
    return render(
        request,
        "catalogue/iso_class_detail.html",
        {
            "iso_class": iso_class,
            "iso_path": iso_class.path(),
            "children": selectors.iso_children(iso_class),
            "articles": selectors.article_search(iso_code=iso_class.code, limit=500)
            if iso_class.level == 3
            else [],
            "manager": _manager(request),
        },
    )


@require_http_methods(["GET", "POST"])
def iso_class_create(request: LyftaRequest) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    form = IsoClassCreateForm(request.POST or None, initial={"code": request.GET.get("under", "")})
    if request.method == "POST" and form.is_valid():
        try:
            iso_class = services.iso_class_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("ISO-klassen är upplagd."))
            return redirect("catalogue:iso_class", iso_id=iso_class.pk)
    return _form_page(
        request,
        "catalogue/simple_form.html",
        {
            "form": form,
            "title": _("Ny ISO-klass"),
            "parent_label": _("ISO-klasser"),
            "parent_url": "catalogue:iso_classes",
        },
    )


@require_http_methods(["GET", "POST"])
def iso_class_edit(request: LyftaRequest, iso_id: int) -> HttpResponse:
    require(request.actor, Cap.CATALOGUE_MANAGE)
    iso_class = get_object_or_404(IsoClass, pk=iso_id)
    form = IsoClassEditForm(request.POST or None, initial={"name": iso_class.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.iso_class_update(
                actor=request.actor, iso_class=iso_class, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Ändringarna är sparade."))
            return redirect("catalogue:iso_class", iso_id=iso_id)
    return _form_page(
        request,
        "catalogue/simple_form.html",
        {
            "form": form,
            "title": _("Ändra ISO-klass %(code)s") % {"code": iso_class.code},
            "parent_label": _("ISO-klasser"),
            "parent_url": "catalogue:iso_classes",
        },
    )
