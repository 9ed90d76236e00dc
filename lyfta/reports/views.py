"""The statistics pages (issue 17): the list of figures, a figure with its filters, chart and
table, its exports (xlsx, CSV, PDF with the chart), ordering it as a scheduled report, and the
user's report orders. Every number comes from the summary tables through `selectors`; no page
here names a patient."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lyfta.access.statistics import may_see_statistics, statistics_scope
from lyfta.core.http import LyftaRequest
from lyfta.core.replica import reading_replica
from lyfta.reports import charts, exports, selectors
from lyfta.reports.figures import FIGURES, Figure
from lyfta.reports.forms import FigureForm
from lyfta.reports.models import Subscription
from lyfta.reports.services import subscriptions


def _allowed(request: LyftaRequest) -> None:
    if not may_see_statistics(request.actor):
        raise PermissionDenied


def _figure(slug: str) -> Figure:
    found = FIGURES.get(slug)
    if found is None:
        raise Http404
    return found


@require_GET
@reading_replica(*selectors.REPLICA_TABLES)
def index(request: LyftaRequest) -> HttpResponse:
    """The figures, each with its definition, how fresh the numbers are, and the user's orders."""
    _allowed(request)
    return render(
        request,
        "reports/index.html",
        {
            "figures": selectors.figures_for(request.actor),
            "refreshed_at": selectors.refreshed_at(),
            "subscriptions": selectors.report_orders(request.actor),
        },
    )


def computed(request: LyftaRequest, figure: Figure) -> tuple[FigureForm, dict[str, Any] | None]:
    """The figure's form bound to the query, and (when valid) what the page and exports show."""
    form = FigureForm(request.GET, figure=figure, scope=statistics_scope(request.actor))
    if not form.is_valid():
        return form, None
    filters = form.filters()
    context: dict[str, Any] = {
        "filters": filters,
        "query": urlencode(filters.as_params()),
        "kind": figure.kind,
        "refreshed_at": selectors.refreshed_at(),
        "counted_on": "",
        "drill": False,
    }
    if figure.kind == "facts":
        table = selectors.figure_table(request.actor, figure, filters)
        context["table"] = table
        context["counted_on"] = table.counted_on
        context["drill"] = (
            figure.slug == "utlanade"
            and table.group == "article"
            and selectors.may_drill(request.actor, filters)
        )
        context["chart"] = _chart(figure, table)
    elif figure.kind == "persons":
        context["persons"] = selectors.person_table(request.actor, filters)
        context["chart"] = _persons_chart(context["persons"])
    else:
        rows = selectors.population_table(request.actor, filters)
        context["population"] = rows
        context["chart"] = charts.bars(
            [r.municipality for r in rows if r.per_thousand is not None],
            [round(r.per_thousand, 1) for r in rows if r.per_thousand is not None],
            title=str(figure.title),
            unit=_("per 1 000 invånare"),
        )
    if context.get("chart") is not None:
        stamp = context["refreshed_at"]
        version = {"v": f"{stamp:%Y%m%d%H%M%S}"} if stamp else {}
        source = reverse("reports:chart", kwargs={"slug": figure.slug})
        context["chart_src"] = f"{source}?{urlencode({**filters.as_params(), **version})}"
    return form, context


def _chart(figure: Figure, table: selectors.Table) -> charts.Chart:
    """Months as a series in time order; age bands, sexes and delivery classes in their order;
    anything else as bars, largest first."""
    index = next((i for i, c in enumerate(figure.columns) if c.key == figure.chart_column), 0)
    unit = str(figure.columns[index].label)
    points = [(r.label, float(v)) for r in table.all_rows if (v := r.values[index]) is not None]
    title = _("%(figure)s per %(group)s") % {"figure": figure.title, "group": table.group_said}
    if table.group == "month":
        return charts.series([p[0] for p in points], [p[1] for p in points], title=title, unit=unit)
    if table.group not in ("age", "sex", "delivery_class"):
        points.sort(key=lambda p: -p[1])
    return charts.bars([p[0] for p in points], [p[1] for p in points], title=title, unit=unit)


def _persons_chart(table: selectors.PersonTable) -> charts.Chart:
    total_at = len(table.columns) - 1
    points = [(label, cells[total_at]) for code, label, cells, _d in table.rows if code]
    shown = sorted(((lbl, v) for lbl, v in points if v is not None), key=lambda p: -(p[1] or 0))
    return charts.bars(
        [lbl for lbl, _v in shown],
        [float(v or 0) for _l, v in shown],
        title=_("Personer per ISO-klass %(year)s") % {"year": table.year},
        unit=_("personer"),
    )


@require_GET
@reading_replica(*selectors.REPLICA_TABLES)
def figure(request: LyftaRequest, slug: str) -> HttpResponse:
    """A figure: its filters, chart, table and definition, exports and the report order."""
    _allowed(request)
    found = _figure(slug)
    form, context = computed(request, found)
    return render(
        request,
        "reports/figure.html",
        {
            "figure": found,
            "form": form,
            "frequencies": Subscription.Frequency.choices,
            **(context or {}),
        },  # fmt: skip
        status=200 if context is not None else 400,
    )


@require_GET
@reading_replica(*selectors.REPLICA_TABLES)
def chart(request: LyftaRequest, slug: str) -> HttpResponse:
    """A figure's chart as an image, for the same filters and the same scope as its page (a
    filter outside the user's scope is refused as on the page). `bredd=smal` draws it for a
    phone's width. The numbers change only at the refresh, whose time is in the page's link to
    this image, so the browser may keep it; a request that names the same chart again is
    answered "not modified" without drawing."""
    _allowed(request)
    found = _figure(slug)
    _form, context = computed(request, found)
    if context is None or context.get("chart") is None:
        return HttpResponse(
            _("Diagrammet kan inte ritas med de här filtren."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    drawn: charts.Chart = context["chart"]
    narrow = request.GET.get("bredd") == "smal"
    etag = f'"{drawn.key(narrow=narrow)}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        # Opened on its own, the drawing is a document: nothing in it may run or load.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(drawn.svg(narrow=narrow), content_type="image/svg+xml", headers=headers)


@require_GET
def drill(request: LyftaRequest, article_id: int) -> HttpResponse:
    """The rows behind a cell of devices on loan: the own unit's open loans of one article,
    through the access layer and recorded (issue 17 point 2)."""
    _allowed(request)
    from lyfta.catalogue.models import Article

    article = Article.objects.filter(pk=article_id).first()
    if article is None:
        raise Http404
    return render(
        request,
        "reports/drill.html",
        {"article": article, "rows": selectors.drill_loans(request.actor, article_id)},
    )


@require_GET
@reading_replica(*selectors.REPLICA_TABLES)
def export(request: LyftaRequest, slug: str, fmt: str) -> HttpResponse:
    """The figure as a spreadsheet (xlsx), CSV or PDF (with the chart), as on the page."""
    _allowed(request)
    found = _figure(slug)
    if fmt not in exports.FORMATS:
        raise Http404
    form, context = computed(request, found)
    if context is None:
        # The figure's page with the form's messages, as a GET of the page gives them.
        return render(
            request,
            "reports/figure.html",
            {"figure": found, "form": form, "frequencies": Subscription.Frequency.choices},
            status=400,
        )
    return exports.respond(found, context, fmt)


@require_POST
def subscribe(request: LyftaRequest, slug: str) -> HttpResponse:
    """Order the figure, with the filters on the page, as a weekly or monthly report."""
    _allowed(request)
    found = _figure(slug)
    frequency = request.POST.get("frequency", "")
    params = {k: request.POST.get(k, "") for k in subscriptions.KEPT}
    form = FigureForm(params, figure=found, scope=statistics_scope(request.actor))
    if frequency not in Subscription.Frequency.values:
        messages.error(request, _("Välj hur ofta rapporten ska komma: varje vecka eller månad."))
        return redirect("reports:figure", slug=slug)
    if not form.is_valid():
        problems = [str(p) for errors in form.errors.values() for p in errors]
        messages.error(
            request,
            _("Rapporten kunde inte beställas: %(problems)s") % {"problems": " ".join(problems)},
        )
        return redirect("reports:figure", slug=slug)
    kept = {k: v for k, v in form.filters().as_params().items() if k in subscriptions.KEPT}
    made = subscriptions.subscription_create(
        actor=request.actor, figure=slug, params=kept, frequency=frequency
    )
    messages.success(
        request,
        _("Rapporten är beställd. Den första kommer till din inkorg %(day)s.")
        % {"day": made.next_on.isoformat()},
    )
    return redirect("reports:index")


@require_POST
def unsubscribe(request: LyftaRequest, pk: int) -> HttpResponse:
    """End one of the user's report orders."""
    _allowed(request)
    if subscriptions.subscription_end(actor=request.actor, subscription_id=pk) is None:
        raise Http404
    messages.success(request, _("Rapportbeställningen är avslutad."))
    return redirect("reports:index")


urlpatterns: list[URLPattern] = [
    path("", index, name="index"),
    path("prenumerationer/<int:pk>/avsluta/", unsubscribe, name="unsubscribe"),
    path("utlanade/rader/<int:article_id>/", drill, name="drill"),
    path("<slug:slug>/", figure, name="figure"),
    path("<slug:slug>/diagram.svg", chart, name="chart"),
    path("<slug:slug>/export.<str:fmt>", export, name="export"),
    path("<slug:slug>/prenumerera/", subscribe, name="subscribe"),
]
