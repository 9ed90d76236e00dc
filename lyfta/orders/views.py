"""The prescriber's device pages: the patient's holdings, ordering (with article search, stock,
substitutes and templates), pick-up orders, loss reports, buffer-store withdrawals, and the
unit's orders. Each view parses input, calls one selector or service and renders."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lyfta.access import rows
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import Refused, read_only_refusal
from lyfta.access.roles import Cap
from lyfta.accounts.sessions import session_ref
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.catalogue.models import Article
from lyfta.catalogue.selectors import article_search, substitutes
from lyfta.core.http import LyftaRequest
from lyfta.inventory import services as stock
from lyfta.orders import loan_agreement as loan_agreement_pdf
from lyfta.orders import selectors, services, signature
from lyfta.orders.forms import (
    AddLineForm,
    ArticleSearchForm,
    LossForm,
    OrderForm,
    PickupForm,
    ReasonForm,
    ReturnLetterForm,
    TemplateForm,
    WithdrawForm,
)
from lyfta.orders.logistics_views import shown_to
from lyfta.orders.models import Order, OrderTemplate
from lyfta.patients import selectors as patient_selectors

CART = "lyfta_cart_{}"
MAX_CART = services.MAX_LINES


def _grant(request: LyftaRequest, patient_id: int) -> PatientGrant:
    return patient_selectors.grant_or_404(
        actor=request.actor, patient_id=patient_id, session_ref=session_ref(request)
    )


def _read_only(request: LyftaRequest, grant: PatientGrant, step: str) -> HttpResponse | None:
    """The way back to the holdings, with the recorded refusal's message, when the grant gives
    read access only (an emergency access, R50): the cart, a template made from it and a letter
    to the patient are writes too. None when the grant lets its holder write."""
    refusal = read_only_refusal(request.actor, grant, step)
    if refusal is None:
        return None
    messages.error(request, refusal.user_message)
    return redirect("orders:holdings", patient_id=grant.patient.pk)


def _record_form_read(request: LyftaRequest, grant: PatientGrant, resource_type: str) -> None:
    """A form that shows the patient's name (and loans) is a read of the patient (R57)."""
    record(
        action=Action.PATIENT_READ,
        actor=request.actor,
        patient_id=grant.patient.pk,
        resource_type=resource_type,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
    )


def _problems(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, Refused):
        return [error.user_message]
    if isinstance(error, PermissionDenied):
        return [_("Du har inte behörighet att göra det här.")]
    return list(error.messages)


def _fail(request: LyftaRequest, error: ValidationError | PermissionDenied) -> None:
    for problem in _problems(error):
        messages.error(request, problem)


# --- The holdings (hjälpmedelsinnehav) ---------------------------------------------------------


@require_GET
def holdings(request: LyftaRequest, patient_id: int) -> HttpResponse:
    grant = _grant(request, patient_id)
    view = selectors.holdings(actor=request.actor, grant=grant)
    may_place = can(request.actor, Cap.ORDERS_PLACE) and not grant.read_only
    # A death proposes a pick-up of every device at once (issue 16 point 6): the page offers
    # it first, and the pick-up form comes with all of them chosen, for the prescriber to
    # confirm. Not created by itself: a death registered by mistake is corrected without a
    # driver at the door, and the estate's contact and address are only known then.
    to_collect = [
        row
        for row in view.active
        if row.own_provider and not row.waiting_pickup and row.billing_type != "sale"
    ]
    return render(
        request,
        "orders/holdings.html",
        {
            "grant": grant,
            "patient": grant.patient,
            "view": view,
            "may_order": can(request.actor, Cap.ORDERS_PRESCRIBE) and not grant.read_only,
            "may_place": may_place,
            "may_letter": (
                can(request.actor, Cap.ORDERS_PLACE) or can(request.actor, Cap.ORDERS_HANDLE)
            )
            and not grant.read_only,
            "death_pickup": len(to_collect)
            if may_place and grant.patient.deceased_date is not None
            else 0,
            "may_request": can(request.actor, Cap.WORKORDERS_REQUEST) and not grant.read_only,
            "may_handle": can(request.actor, Cap.WORKORDERS_HANDLE),
            "losses": view.losses,
        },
    )


# --- Ordering (DOMAIN.md §3.2) -----------------------------------------------------------------


def _cart(request: LyftaRequest, patient_id: int) -> list[dict[str, int]]:
    raw = request.session.get(CART.format(patient_id), [])
    return [row for row in raw if isinstance(row, dict)][:MAX_CART]


def _save_cart(request: LyftaRequest, patient_id: int, cart: list[dict[str, int]]) -> None:
    request.session[CART.format(patient_id)] = cart[:MAX_CART]


def _cart_rows(
    cart: list[dict[str, int]],
    *,
    with_free: bool = True,
    whose: dict[str, int | None] | None = None,
) -> list[tuple[int, Article, int, int]]:
    """(index, article, quantity, free in central stock) for each line of the cart; the free
    count only `with_free` (the page shows it; placing the order does not need it), counting
    devices reserved for `whose` patient and unit and not those reserved for others."""
    articles = Article.objects.select_related("iso_class").in_bulk([row["a"] for row in cart])
    try:
        central = services.central() if with_free else None
    except ValidationError:
        central = None
    rows = []
    for index, row in enumerate(cart):
        article = articles.get(row["a"])
        if article is not None:
            free = stock.available(article, central, **(whose or {})) if central else 0
            rows.append((index, article, row["n"], free))
    return rows


def _article_rows(
    articles: Any, whose: dict[str, int | None] | None = None
) -> list[dict[str, Any]]:
    """Search results with delivery class, expected date, free stock (for `whose` patient and
    unit: devices reserved for others are not free) and in-stock substitutes."""
    whose = whose or {}
    try:
        central = services.central()
    except ValidationError:
        return []
    today = timezone.localdate()
    rows = []
    for article in articles:
        free = stock.available(article, central, **whose)
        offers = []
        if free == 0:
            offers = [
                s for s in substitutes(article)[:5] if stock.available(s, central, **whose) > 0
            ]
        rows.append(
            {
                "article": article,
                "free": free,
                "expected": services.expected_delivery([article], urgent=False, today=today),
                "substitutes": offers,
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
def order_new(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """The order page: the holdings, the cart, article search and the delivery details."""
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    grant = _grant(request, patient_id)
    cart = _cart(request, patient_id)
    form = OrderForm(request.POST or None)
    over_limit: list[services.IsoExcess] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.order_place(
                actor=request.actor,
                grant=grant,
                lines=[
                    services.LineInput(article, quantity)
                    for _i, article, quantity, _free in _cart_rows(cart, with_free=False)
                ],
                delivery=services.DeliveryInput(
                    kind=data["delivery"],
                    street=data["street"],
                    postal_code=data["postal_code"],
                    city=data["city"],
                    contact_name=data["contact_name"],
                    contact_phone=data["contact_phone"],
                    note=data["note"],
                    urgent=data["urgent"],
                ),
                prescription=services.PrescriptionInput(
                    goal=data["goal"],
                    follow_up_on=data["follow_up_on"],
                    short_term_until=data["short_term_until"],
                ),
                over_limit_reason=data["over_limit_reason"],
            )
        except services.OverIsoLimit as error:
            # Not an error to correct but a question to answer: the page asks for the reason.
            over_limit = error.excess
            form.add_error("over_limit_reason", _("Ange skälet för att beställa ändå."))
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            _save_cart(request, patient_id, [])
            messages.success(
                request, _("Ordern %(number)s är registrerad.") % {"number": order.number}
            )
            return redirect("orders:order", order_id=order.pk)
    view = selectors.holdings(actor=request.actor, grant=grant)
    unit = request.actor.unit
    return render(
        request,
        "orders/order_new.html",
        {
            "patient": grant.patient,
            "grant": grant,
            "view": view,
            "form": form,
            "search": ArticleSearchForm(),
            "cart": _cart_rows(
                cart, whose={"patient_id": grant.patient.pk, "unit_id": unit.pk if unit else None}
            ),
            "templates": OrderTemplate.objects.filter(unit=unit) if unit else [],
            "template_form": TemplateForm(),
            "today": timezone.localdate(),
            "often": _article_rows(selectors.often_ordered(actor=request.actor)),
            "over_limit": over_limit,
            "limit": settings.LYFTA_MAX_PER_ISO_CLASS,
            "ask_reason": bool(over_limit) or bool(form.data.get("over_limit_reason")),
        },
        status=400 if form.errors else 200,
    )


@require_GET
def article_results(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """The article search's results (htmx partial, or a page without JavaScript)."""
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    form = ArticleSearchForm(request.GET)
    rows: list[dict[str, Any]] = []
    if form.is_valid() and (form.cleaned_data["q"] or form.cleaned_data["iso"]):
        unit = request.actor.unit
        rows = _article_rows(
            article_search(
                query=form.cleaned_data["q"], iso_code=form.cleaned_data["iso"], limit=25
            ),
            # Only the unit's planned need counts as theirs here: the search checks no grant to
            # the patient, so it must not tell whether something is held for him.
            whose={"unit_id": unit.pk if unit else None},
        )
    # htmx swaps the results into the order page; without JavaScript they are a page of their own.
    template = "_article_results" if request.headers.get("HX-Request") else "article_results_page"
    return render(
        request,
        f"orders/{template}.html",
        {"rows": rows, "patient_id": patient_id, "searched": form.is_valid()},
    )


@require_POST
def cart_add(request: LyftaRequest, patient_id: int) -> HttpResponse:
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    refused = _read_only(request, _grant(request, patient_id), "cart_add")
    if refused is not None:
        return refused
    form = AddLineForm(request.POST)
    if not form.is_valid():
        if "article" in form.errors:
            messages.error(request, _("Välj en artikel i sökresultatet."))
        else:
            messages.error(request, _("Ange ett antal mellan 1 och 100."))
        return redirect("orders:order_new", patient_id=patient_id)
    article = Article.objects.filter(pk=form.cleaned_data["article"], in_assortment=True).first()
    if article is None:
        raise Http404
    cart = _cart(request, patient_id)
    if len(cart) >= MAX_CART:
        messages.error(request, _("En order kan ha högst %(n)s rader.") % {"n": MAX_CART})
    else:
        cart.append({"a": article.pk, "n": form.cleaned_data["quantity"]})
        _save_cart(request, patient_id, cart)
        messages.success(request, _("%(article)s är tillagd.") % {"article": article})
    return redirect("orders:order_new", patient_id=patient_id)


@require_POST
def cart_remove(request: LyftaRequest, patient_id: int, index: int) -> HttpResponse:
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    cart = _cart(request, patient_id)
    if index < len(cart):
        cart.pop(index)
        _save_cart(request, patient_id, cart)
    return redirect("orders:order_new", patient_id=patient_id)


@require_POST
def template_save(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """Save the cart as the unit's order template (beställningsmall)."""
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    refused = _read_only(request, _grant(request, patient_id), "template_save")
    if refused is not None:
        return refused
    cart = _cart(request, patient_id)
    form = TemplateForm(request.POST)
    unit, user = request.actor.unit, request.actor.user
    if not form.is_valid() or not cart or unit is None or user is None:
        messages.error(request, _("Ge mallen ett namn och lägg till minst en artikel."))
    elif OrderTemplate.objects.filter(unit=unit, name=form.cleaned_data["name"]).exists():
        messages.error(request, _("Enheten har redan en mall med det namnet."))
    else:
        template = OrderTemplate.objects.create(
            unit=unit,
            name=form.cleaned_data["name"],
            lines=[{"article": row["a"], "quantity": row["n"]} for row in cart],
            created_by=user,
        )
        record(action=Action.ORDER_TEMPLATE_SAVED, actor=request.actor, target=template)
        messages.success(request, _("Mallen är sparad."))
    return redirect("orders:order_new", patient_id=patient_id)


@require_POST
def template_use(request: LyftaRequest, patient_id: int, template_id: int) -> HttpResponse:
    require(request.actor, Cap.ORDERS_PRESCRIBE)
    template = OrderTemplate.objects.filter(pk=template_id, unit=request.actor.unit).first()
    if template is None:
        raise Http404
    cart = _cart(request, patient_id)
    for line in template.lines:
        if isinstance(line, dict) and len(cart) < MAX_CART:
            cart.append({"a": int(line["article"]), "n": int(line["quantity"])})
    _save_cart(request, patient_id, cart)
    messages.success(request, _("Mallens artiklar är tillagda."))
    return redirect("orders:order_new", patient_id=patient_id)


# --- The unit's orders ---------------------------------------------------------------------------


@require_GET
def order_list(request: LyftaRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Order.Status.values:
        status = ""
    page = selectors.order_list(actor=request.actor, status=status, page=request.GET.get("sida"))
    return render(
        request,
        "orders/order_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Order.Status.choices,
            "query": urlencode({"status": status}) if status else "",
        },
    )


@require_GET
def order_detail(request: LyftaRequest, order_id: int) -> HttpResponse:
    order = selectors.order_for(actor=request.actor, order_id=order_id)
    # A protected patient's name, contact and address are for the named staff only (R53, R55).
    shown = shown_to(request.actor, order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "lines": selectors.order_lines(request.actor, order),
            "reason_form": ReasonForm(),
            "shown": shown,
            "attempts": selectors.order_attempts(request.actor, order),
            "receipts": [
                (receipt, signature.svg(receipt.signature))
                for receipt in selectors.order_receipts(request.actor, order)
            ],
        },
    )


@require_GET
def loan_agreement(request: LyftaRequest, order_id: int) -> HttpResponse:
    """The order's loan agreement (låneförbindelse) as a PDF: printed to sign in ink before the
    delivery, or with the signature given on delivery. Through the access layer, recorded as a
    read of the patient; it shows no more of the patient than the actor's order page (R34, R55)."""
    order = selectors.order_for(actor=request.actor, order_id=order_id)
    if order.patient is None:
        raise Http404
    pdf = loan_agreement_pdf.render_pdf(
        order=order,
        lines=selectors.order_lines(request.actor, order),
        receipts=selectors.order_receipts(request.actor, order),
        shown=shown_to(request.actor, order),
        produced_by=request.actor.user.display_name if request.actor.user else "",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"laneforbindelse-{order.number}.pdf") or "inline"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def order_cancel(request: LyftaRequest, order_id: int) -> HttpResponse:
    order = selectors.order_for(actor=request.actor, order_id=order_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ange skälet till att ordern makuleras."))
    else:
        try:
            services.order_cancel(
                actor=request.actor, order=order, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(request, _("Ordern är makulerad."))
    return redirect("orders:order", order_id=order.pk)


@require_POST
def line_cancel(request: LyftaRequest, order_id: int, line_id: int) -> HttpResponse:
    order = selectors.order_for(actor=request.actor, order_id=order_id)
    line = (
        rows.lines_of(request.actor, order)
        .filter(pk=line_id)
        .select_related("order", "article", "item", "source")
        .first()
    )
    if line is None:
        raise selectors.denied(request.actor, "orders.orderline", line_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ange skälet till att raden makuleras."))
    else:
        try:
            services.order_line_cancel(
                actor=request.actor, line=line, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, PermissionDenied) as error:
            _fail(request, error)
        else:
            messages.success(request, _("Raden är makulerad."))
    return redirect("orders:order", order_id=order.pk)


# --- Pick-ups, losses and withdrawals -------------------------------------------------------


@require_http_methods(["GET", "POST"])
def pickup_new(request: LyftaRequest, patient_id: int) -> HttpResponse:
    require(request.actor, Cap.ORDERS_PLACE)
    grant = _grant(request, patient_id)
    loans = list(selectors.loans_for_pickup(actor=request.actor, grant=grant))
    by_id = {str(loan.pk): loan for loan in loans}
    choices = [
        (
            str(loan.pk),
            f"{loan.article}" + (f" – {loan.item}" if loan.item else f" × {loan.quantity}"),
        )
        for loan in loans
    ]
    # A patient who has died: every device is proposed at once (the prescriber confirms).
    initial = {"loans": list(by_id)} if grant.patient.deceased_date is not None else {}
    form = PickupForm(request.POST or None, choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pickup = services.pickup_register(
                actor=request.actor,
                grant=grant,
                pickup=services.PickupInput(
                    street=data["street"],
                    postal_code=data["postal_code"],
                    city=data["city"],
                    contact_phone=data["contact_phone"],
                    loans=[by_id[key] for key in data["loans"]],
                ),
            )
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(
                request,
                _("Hämtorder %(number)s är registrerad. Hyran upphör %(day)s.")
                % {"number": pickup.number, "day": pickup.rent_stop_on.isoformat()},
            )
            return redirect("orders:holdings", patient_id=patient_id)
    _record_form_read(request, grant, "orders.pickup_form")
    return render(
        request,
        "orders/pickup_new.html",
        {"patient": grant.patient, "form": form, "has_loans": bool(loans)},
        status=400 if form.errors else 200,
    )


@require_GET
def return_letter(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """A letter asking the patient, or the estate of a patient who has died, to return devices
    (a short-term loan has ended, the need is gone), as a PDF. A protected patient's address is
    never printed: the unit hands the letter over (R55)."""
    if not (can(request.actor, Cap.ORDERS_PLACE) or can(request.actor, Cap.ORDERS_HANDLE)):
        require(request.actor, Cap.ORDERS_PLACE)
    grant = _grant(request, patient_id)
    refused = _read_only(request, grant, "return_letter")
    if refused is not None:
        return refused
    form = ReturnLetterForm(request.GET)
    if not form.is_valid():
        for field in form:
            for problem in field.errors:
                messages.error(request, str(problem))
        return redirect("orders:holdings", patient_id=patient_id)
    reason = form.cleaned_data["skal"]
    if reason == "dodsbo" and grant.patient.deceased_date is None:
        messages.error(
            request, _("Brev till dödsboet skrivs när patienten är registrerad som avliden.")
        )
        return redirect("orders:holdings", patient_id=patient_id)
    letter = selectors.return_letter(
        actor=request.actor, grant=grant, reason=reason, loan_id=form.cleaned_data["lan"]
    )
    if not letter.loans:
        messages.error(
            request, _("Det finns inga hjälpmedel från din vårdgivare att lämna tillbaka.")
        )
        return redirect("orders:holdings", patient_id=patient_id)
    import weasyprint

    unit = request.actor.unit
    context = {
        "letter": letter,
        "name": str(letter.patient),
        "unit": unit,
        "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "produced_by": request.actor.user.display_name if request.actor.user else "",
    }
    with override("sv"):
        html = render_to_string("orders/return_letter_pdf.html", context)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"aterlamning-{patient_id}.pdf") or "inline"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def pickup_cancel(request: LyftaRequest, pickup_id: int) -> HttpResponse:
    pickup = rows.pickups_for(request.actor).filter(pk=pickup_id).first()
    if pickup is None:
        raise selectors.denied(request.actor, "orders.pickuporder", pickup_id)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Ange skälet till att hämtordern makuleras."))
        services.pickup_cancel(
            actor=request.actor, pickup=pickup, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, PermissionDenied) as error:
        _fail(request, error)
    else:
        messages.success(request, _("Hämtordern är makulerad."))
    return redirect("orders:holdings", patient_id=pickup.patient_id)


@require_http_methods(["GET", "POST"])
def loss_new(request: LyftaRequest, patient_id: int, loan_id: int) -> HttpResponse:
    require(request.actor, Cap.ORDERS_PLACE)
    grant = _grant(request, patient_id)
    loan = selectors.loan_of(actor=request.actor, grant=grant, loan_id=loan_id)
    form = LossForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.loss_report(actor=request.actor, grant=grant, loan=loan, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            for problem in _problems(error):
                form.add_error(None, problem)
        else:
            messages.success(request, _("Förlusten är anmäld."))
            return redirect("orders:holdings", patient_id=patient_id)
    _record_form_read(request, grant, "orders.loss_form")
    return render(
        request,
        "orders/loss_new.html",
        {"patient": grant.patient, "loan": loan, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def loss_found(request: LyftaRequest, report_id: int) -> HttpResponse:
    report = (
        rows.losses_for(request.actor).filter(pk=report_id).select_related("loan", "item").first()
    )
    if report is None:
        raise selectors.denied(request.actor, "orders.lossreport", report_id)
    try:
        services.loss_found(actor=request.actor, report=report)
    except (ValidationError, PermissionDenied) as error:
        _fail(request, error)
    else:
        messages.success(
            request, _("Hjälpmedlet är återregistrerat och går till rekonditionering.")
        )
    return redirect("orders:holdings", patient_id=report.loan.patient_id)


@require_http_methods(["GET", "POST"])
def withdraw(request: LyftaRequest, patient_id: int) -> HttpResponse:
    """Register a device taken from the unit's buffer store on the patient (DOMAIN.md §3.3)."""
    require(request.actor, Cap.ORDERS_PLACE)
    grant = _grant(request, patient_id)
    stores = selectors.stores_visible(request.actor).filter(unit=request.actor.unit)
    form = WithdrawForm(request.POST or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        article = Article.objects.filter(article_number=data["article"].strip()).first()
        if article is None:
            form.add_error(
                "article",
                _(
                    "Det finns ingen artikel med numret %(number)s. Välj i listan över "
                    "förrådets innehåll."
                )
                % {"number": data["article"].strip()},
            )
        else:
            try:
                services.buffer_withdraw(
                    actor=request.actor,
                    grant=grant,
                    store=data["store"],
                    article=article,
                    individual_number=data["individual_number"],
                    quantity=data["quantity"],
                    taken_on=data["taken_on"],
                )
            except (ValidationError, PermissionDenied) as error:
                for problem in _problems(error):
                    form.add_error(None, problem)
            else:
                messages.success(request, _("Uttaget är registrerat och lånet har startat."))
                return redirect("orders:holdings", patient_id=patient_id)
    _record_form_read(request, grant, "orders.withdraw_form")
    return render(
        request,
        "orders/withdraw.html",
        {
            "patient": grant.patient,
            "form": form,
            "has_store": stores.exists(),
            "contents": selectors.store_contents(actor=request.actor),
            "today": timezone.localdate(),
        },
        status=400 if form.errors else 200,
    )
