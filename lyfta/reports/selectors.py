"""Reading the figures (issue 17): every number on a statistics page comes from the summary
tables, filtered to the actor's scope (`lyfta.access.statistics`), grouped as asked. Nothing here
reads a patient row: the tables hold counts only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, Sum
from django.db.models.functions import Substr
from django.utils import formats
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.statistics import StatisticsScope, statistics_scope
from lyfta.catalogue.models import Article, DeliveryClass, IsoClass, Supplier
from lyfta.organisations.models import CareProvider, Unit
from lyfta.reports.figures import FIGURES, GROUPINGS, Figure, Sums
from lyfta.reports.models import (
    AgeBand,
    Fact,
    PersonCount,
    Population,
    Refresh,
    Sex,
    Subscription,
)
from lyfta.reports.suppression import Relation, suppress

# A page shows at most this many groups; the rest are summed on one row (exports have all).
SHOWN_GROUPS = 60
# The summary tables, which the statistics pages and the scheduled reports read from a replica
# where there is one (lyfta.core.replica, decision 0022); names, units and the report orders
# are read from the primary.
REPLICA_TABLES = (Fact, PersonCount, Population, Refresh)


@dataclass(frozen=True)
class Filters:
    """What a figure is computed over: months [first, last] (first days), and optional narrowing
    by provider, unit, product area and ISO class (code prefixes), article and supplier."""

    first: dt.date
    last: dt.date
    group: str = ""
    provider: int | None = None
    unit: int | None = None
    area: str = ""
    iso: str = ""
    article: int | None = None
    supplier: int | None = None
    kind: str = PersonCount.Kind.ON_LOAN
    article_number: str = ""

    def as_params(self) -> dict[str, str]:
        """The filters as the page's query parameters (for links, exports and subscriptions)."""
        params = {"fran": f"{self.first:%Y-%m}", "till": f"{self.last:%Y-%m}"}
        for key, value in (
            ("grupp", self.group), ("huvudman", self.provider), ("enhet", self.unit),
            ("omrade", self.area), ("iso", self.iso), ("artikel", self.article_number),
            ("leverantor", self.supplier),
            ("slag", self.kind if self.kind != PersonCount.Kind.ON_LOAN else ""),
        ):  # fmt: skip
            if value not in (None, ""):
                params[key] = str(value)
        return params


@dataclass
class Row:
    key: Any
    label: str
    values: list[float | int | None]
    sums: Sums = field(default_factory=Sums)


@dataclass
class Table:
    """A figure computed: its columns, rows (at most SHOWN_GROUPS, the rest on `rest`), the total,
    and how fresh the numbers are."""

    figure: Figure
    filters: Filters
    group: str
    group_label: str
    columns: list[str]
    kinds: list[str]
    rows: list[Row]
    total: Row
    rest: Row | None
    all_rows: list[Row]
    refreshed_at: dt.datetime | None
    counted_on: str = ""

    @property
    def group_said(self) -> str:
        """The grouping inside a sentence ("per produktområde (ISO-klass)"): only its first
        letter made small, so that ISO keeps its capitals."""
        return self.group_label[:1].lower() + self.group_label[1:]


def refreshed_at() -> dt.datetime | None:
    return Refresh.objects.order_by("-finished_at").values_list("finished_at", flat=True).first()


def _scoped(query: Any, scope: StatisticsScope, field_name: str = "provider_id") -> Any:
    if scope.providers is None:
        return query
    return query.filter(**{f"{field_name}__in": sorted(scope.providers)})


_KEYS: dict[str, Any] = {
    "month": F("month"),
    "provider": F("provider_id"),
    "unit": F("unit_id"),
    "area": Substr("iso_code", 1, 2),
    "iso": Substr("iso_code", 1, 5),
    "article": F("article_id"),
    "supplier": F("article__supplier_id"),
    "delivery_class": F("article__delivery_class"),
    "sex": F("sex"),
    "age": F("age_band"),
    "cost_centre": F("cost_centre_id"),
    "category": F("category"),
}


def month_label(month: dt.date) -> str:
    return formats.date_format(month, "F Y").capitalize()


def _labels(group: str, keys: list[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k not in (None, "")]
    if group == "month":
        return {k: month_label(k) for k in ids}
    if group == "provider":
        return dict(CareProvider.objects.filter(pk__in=ids).values_list("pk", "name"))
    if group == "unit":
        return dict(Unit.objects.filter(pk__in=ids).values_list("pk", "name"))
    if group == "article":
        return {
            pk: f"{number} {name}"
            for pk, number, name in Article.objects.filter(pk__in=ids).values_list(
                "pk", "article_number", "name"
            )
        }
    if group == "supplier":
        return dict(Supplier.objects.filter(pk__in=ids).values_list("pk", "name"))
    if group in ("area", "iso"):
        return {
            code: f"{code} {name}"
            for code, name in IsoClass.objects.filter(code__in=ids).values_list("code", "name")
        }
    if group == "delivery_class":
        return {k: str(DeliveryClass(k).label) for k in ids if k in DeliveryClass.values}
    if group == "sex":
        return {k: str(Sex(k).label) for k in ids if k in Sex.values}
    if group == "age":
        return {k: str(AgeBand(k).label) for k in ids if k in AgeBand.values}
    if group == "cost_centre":
        from lyfta.billing.models import CostCentre

        return {
            pk: f"{code} {name} ({customer})"
            for pk, code, name, customer in CostCentre.objects.filter(pk__in=ids).values_list(
                "pk", "code", "name", "customer__provider__short_name"
            )
        }
    if group == "category":
        from lyfta.billing.models import BillingLine

        return {k: str(BillingLine.Kind(k).label) for k in ids if k in BillingLine.Kind.values}
    return {}


def _fact_query(figure: Figure, filters: Filters, scope: StatisticsScope) -> Any:
    found = Fact.objects.filter(measure=figure.measure)
    if figure.stock and filters.group != "month":
        found = found.filter(month=filters.last)
    else:
        found = found.filter(month__gte=filters.first, month__lte=filters.last)
    found = _scoped(found, scope)
    if filters.provider:
        found = found.filter(provider_id=filters.provider)
    if filters.unit:
        found = found.filter(unit_id=filters.unit)
    if filters.area:
        found = found.filter(iso_code__startswith=filters.area)
    if filters.iso:
        found = found.filter(iso_code__startswith=filters.iso)
    if filters.article:
        found = found.filter(article_id=filters.article)
    if filters.supplier:
        found = found.filter(article__supplier_id=filters.supplier)
    return found


def _row(figure: Figure, key: Any, label: str, sums: Sums) -> Row:
    return Row(key, label, [c.value(sums) for c in figure.columns], sums)


def figure_table(actor: Actor, figure: Figure, filters: Filters) -> Table:
    """`figure` over `filters` for `actor`: one row per group, the total, the rest summed."""
    scope = statistics_scope(actor)
    group = filters.group if filters.group in figure.groupings else figure.groupings[0]
    grouped = (
        _fact_query(figure, filters, scope)
        .values(key=_KEYS[group])
        .annotate(n=Sum("n"), hits=Sum("hits"), total=Sum("total"))
        .order_by()
    )
    cells = {r["key"]: Sums(r["n"] or 0, r["hits"] or 0, r["total"] or 0) for r in grouped}
    labels = _labels(group, list(cells))
    unknown = _("Uppgift saknas")
    rows = [_row(figure, k, labels.get(k, unknown if k in (None, "") else str(k)), s)
            for k, s in cells.items()]  # fmt: skip
    if group in ("month", "age", "sex", "delivery_class", "category"):
        rows.sort(key=lambda r: str(r.key) if r.key is not None else "")
    else:
        rows.sort(key=lambda r: (-(r.sums.n), r.label))
    total = Sums(
        sum(s.n for s in cells.values()),
        sum(s.hits for s in cells.values()),
        sum(s.total for s in cells.values()),
    )
    total_label = _("Totalt")
    if figure.stock and group == "month":
        # A stock counted at each month's end does not add up over the months: the bottom line
        # is the stock at the period's end.
        total = cells.get(filters.last, Sums())
        total_label = _("Vid periodens slut")
    rest = None
    shown = rows
    if len(rows) > SHOWN_GROUPS:
        shown = rows[:SHOWN_GROUPS]
        tail = rows[SHOWN_GROUPS:]
        rest = _row(
            figure,
            None,
            _("Övriga (%(n)s grupper)") % {"n": len(tail)},
            Sums(sum(r.sums.n for r in tail), sum(r.sums.hits for r in tail),
                 sum(r.sums.total for r in tail)),
        )  # fmt: skip
    counted = ""
    if figure.stock and group != "month":
        # Said inside a sentence ("Räknat vid slutet av juni 2026"): the month in lower case.
        counted = formats.date_format(filters.last, "F Y")
    return Table(
        figure=figure,
        filters=filters,
        group=group,
        group_label=str(GROUPINGS[group]),
        columns=[str(c.label) for c in figure.columns],
        kinds=[c.kind for c in figure.columns],
        rows=shown,
        total=_row(figure, None, total_label, total),
        rest=rest,
        all_rows=rows,
        refreshed_at=refreshed_at(),
        counted_on=counted,
    )


# --- The Socialstyrelsen table ---------------------------------------------------------------

SEXES = (Sex.WOMAN.value, Sex.MAN.value, Sex.UNKNOWN.value)
BANDS = tuple(b.value for b in AgeBand)


@dataclass
class PersonTable:
    """Persons (and devices) per ISO class (rows, the last "all classes") and sex × age band
    (columns: each sex's bands and its total, then the total). Hidden cells are None."""

    year: int
    level: str
    columns: list[tuple[str, str]]  # (sex, band); band "" is the sex's total, ("", "") all
    column_labels: list[str]
    rows: list[tuple[str, str, list[int | None], list[int | None]]]  # code, label, persons, devices
    suppressed: int
    refreshed_at: dt.datetime | None

    @property
    def groups(self) -> list[tuple[str, list[str]]]:
        """The wide table's two heading rows: each sex with its columns' short headings (the age
        bands and its total). The last column, every person, has a heading of its own."""
        found: list[tuple[str, list[str]]] = []
        for sex, band in self.columns:
            if not sex:
                continue
            label = str(Sex(sex).label)
            if not found or found[-1][0] != label:
                found.append((label, []))
            found[-1][1].append(str(AgeBand(band).label) if band else _("Totalt"))
        return found

    @property
    def shown(self) -> list[tuple[str, list[tuple[int | None, str]]]]:
        """Each row's label and its persons with their column's label (the phone layout)."""
        return [
            (label, list(zip(persons, self.column_labels, strict=True)))
            for _code, label, persons, _devices in self.rows
        ]


def _said(label: Any) -> str:
    """A label inside a phrase: its first letter small ("Kvinnor, okänd ålder")."""
    text = str(label)
    return text[:1].lower() + text[1:]


def person_columns() -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    for sex in SEXES:
        columns.extend((sex, band) for band in BANDS)
        columns.append((sex, ""))
    columns.append(("", ""))
    return columns


def relations_of(codes: list[str]) -> list[Relation]:
    """The exact relations of a person table: a sex's bands add up to it, the sexes to all."""
    relations: list[Relation] = []
    for code in codes:
        for sex in SEXES:
            relations.append(((code, sex, ""), tuple((code, sex, b) for b in BANDS)))
        relations.append(((code, "", ""), tuple((code, s, "") for s in SEXES)))
    return relations


def _unit_hidden(filters: Filters, codes: list[str]) -> tuple[set[Any], list[str]]:
    """The cells of a unit's table to hide: decided for every unit of its provider at once,
    with the provider's own (shown) table as fixed totals. A unit's hidden cell can then not be
    worked out from the provider's figure less its sibling units' (the differencing that a
    unit's table alone cannot prevent): where only one unit would hide a cell, a sibling's is
    hidden too, a zero if need be. Every unit's table has a row for every class the provider
    counts (a missing row would say "zero" as plainly as a shown one). Returns the unit's
    hidden cells and those classes."""
    unit_id = filters.unit or 0
    provider = Unit.objects.filter(pk=unit_id).values_list("provider_id", flat=True).first()
    units = list(Unit.objects.filter(provider_id=provider).values_list("pk", flat=True))
    found = PersonCount.objects.filter(
        year=filters.last.year, kind=filters.kind, municipality__isnull=True,
        provider_id=provider,
    )  # fmt: skip
    if filters.iso or filters.area:
        prefix = (filters.iso or filters.area)[:5]
        found = found.filter(Q(iso_code__startswith=prefix) | Q(iso_code=""))
    values: dict[Any, int] = {}
    for unit, code, sex, band, n in found.values_list(
        "unit_id", "iso_code", "sex", "age_band", "persons"
    ):
        values[(unit or "P", code, sex, band)] = n
    every = sorted({*codes, *(c for _u, c, _s, _b in values if c)}) + [""]
    relations: list[Relation] = []
    for unit in units:
        relations += [
            ((unit, *_cell(total)), tuple((unit, *_cell(part)) for part in parts))
            for total, parts in relations_of(every)
        ]
    cells = [(code, sex, band) for code in every for sex, band in person_columns()]
    relations += [(("P", *cell), tuple((u, *cell) for u in units)) for cell in cells]
    fixed = frozenset(("P", *cell) for cell in cells)
    hidden = suppress(values, relations, fixed)
    mine: set[Any] = set()
    for cell in hidden:
        key: tuple[Any, ...] = cell  # type: ignore[assignment]
        if key[0] == unit_id:
            mine.add(key[1:])
    return mine, [c for c in every if c]


def _cell(cell: Any) -> tuple[str, str, str]:
    code, sex, band = cell
    return code, sex, band


def person_table(actor: Actor, filters: Filters) -> PersonTable:
    """The Socialstyrelsen table for the year of `filters.last`, at the unit's level when a unit
    is chosen, else the provider's, else the county's (for those who see every provider).
    Below the provider level, small cells are suppressed (`suppression`)."""
    scope = statistics_scope(actor)
    year = filters.last.year
    found = PersonCount.objects.filter(year=year, kind=filters.kind, municipality__isnull=True)
    provider = filters.provider
    if provider is None and scope.providers is not None and len(scope.providers) == 1:
        provider = next(iter(scope.providers))
    if filters.unit:
        found = _scoped(found.filter(unit_id=filters.unit), scope)
        level = "unit"
    elif provider:
        found = _scoped(found.filter(provider_id=provider, unit__isnull=True), scope)
        level = "provider"
    elif scope.providers is None:
        found = found.filter(provider__isnull=True, unit__isnull=True)
        level = "county"
    else:
        found = found.none()
        level = "provider"
    if filters.iso or filters.area:
        prefix = filters.iso or filters.area
        found = found.filter(Q(iso_code__startswith=prefix[:5]) | Q(iso_code=""))
    persons: dict[tuple[str, str, str], int] = {}
    devices: dict[tuple[str, str, str], int] = {}
    for code, sex, band, n, d in found.values_list(
        "iso_code", "sex", "age_band", "persons", "devices"
    ):
        persons[(code, sex, band)] = n
        devices[(code, sex, band)] = d
    codes = sorted({c for c, _s, _b in persons if c})
    hidden: set[Any] = set()
    if level == "unit" and filters.unit:
        hidden, codes = _unit_hidden(filters, codes)
    names = dict(IsoClass.objects.filter(code__in=codes).values_list("code", "name"))
    columns = person_columns()
    rows = []
    for code in [*codes, ""]:
        label = f"{code} {names.get(code, '')}".strip() if code else _("Alla klasser")
        cells_p: list[int | None] = []
        cells_d: list[int | None] = []
        for sex, band in columns:
            cell = (code, sex, band)
            if cell in hidden:
                cells_p.append(None)
                cells_d.append(None)
            else:
                cells_p.append(persons.get(cell, 0))
                cells_d.append(devices.get(cell, 0))
        rows.append((code, label, cells_p, cells_d))
    labels = []
    for sex, band in columns:
        if not sex:
            labels.append(_("Totalt"))
        elif not band:
            labels.append(_("%(sex)s totalt") % {"sex": Sex(sex).label})
        else:
            labels.append(
                _("%(sex)s, %(band)s") % {"sex": Sex(sex).label, "band": _said(AgeBand(band).label)}
            )
    return PersonTable(
        year, level, columns, labels, rows, len(hidden & set(persons)), refreshed_at()
    )


# --- Per 1,000 inhabitants --------------------------------------------------------------------


@dataclass
class PopulationRow:
    municipality: str
    persons: int
    inhabitants: int | None
    per_thousand: float | None


def population_table(actor: Actor, filters: Filters) -> list[PopulationRow]:
    """Residents with a device per municipality, and per 1,000 inhabitants where the year's
    population is entered. A provider-scoped actor of a municipality sees their own."""
    scope = statistics_scope(actor)
    year = filters.last.year
    municipalities = CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY)
    if scope.providers is not None:
        own = CareProvider.objects.filter(pk__in=scope.providers)
        if all(p.kind == CareProvider.Kind.MUNICIPALITY for p in own):
            municipalities = municipalities.filter(pk__in=scope.providers)
    counts = dict(
        PersonCount.objects.filter(
            year=year, kind=PersonCount.Kind.ON_LOAN, municipality__isnull=False
        ).values_list("municipality_id", "persons")
    )
    population = dict(
        Population.objects.filter(year=year).values_list("municipality_id", "inhabitants")
    )
    rows = []
    for pk, name in municipalities.order_by("name").values_list("pk", "name"):
        persons = counts.get(pk, 0)
        inhabitants = population.get(pk)
        rows.append(
            PopulationRow(
                name, persons, inhabitants, 1000 * persons / inhabitants if inhabitants else None
            )
        )
    return rows


def params_described(figure: Figure, params: dict[str, str]) -> list[tuple[str, str]]:
    """A figure's filters (as the page's query parameters, or a report order's) in words, for
    the exports and the list of report orders: the grouping and each narrowing by its name,
    never a code or an id. The period is left to the caller."""
    found: list[tuple[str, str]] = []
    if figure.kind == "facts":
        group = params.get("grupp", "")
        group = group if group in figure.groupings else figure.groupings[0]
        found.append((_("Dela upp per"), str(GROUPINGS[group])))
    if figure.kind == "persons":
        kind = params.get("slag", "")
        shown = kind if kind in PersonCount.Kind.values else PersonCount.Kind.ON_LOAN
        found.append((_("Personer"), str(PersonCount.Kind(shown).label)))

    def number(key: str) -> int | None:
        value = params.get(key, "")
        return int(value) if value.isdigit() else None

    if (provider := number("huvudman")) is not None:
        name = CareProvider.objects.filter(pk=provider).values_list("name", flat=True).first()
        found.append((_("Huvudman"), name or _("Uppgift saknas")))
    if (unit := number("enhet")) is not None:
        name = Unit.objects.filter(pk=unit).values_list("name", flat=True).first()
        found.append((_("Enhet"), name or _("Uppgift saknas")))
    for key, label in (("omrade", _("Produktområde")), ("iso", _("ISO-klass"))):
        if code := params.get(key, ""):
            name = IsoClass.objects.filter(code=code).values_list("name", flat=True).first()
            found.append((label, f"{code} {name}" if name else code))
    if article := params.get("artikel", ""):
        named = Article.objects.filter(article_number=article).values_list("name", flat=True)
        found.append((_("Artikel"), f"{article} {named.first() or ''}".strip()))
    if (supplier := number("leverantor")) is not None:
        name = Supplier.objects.filter(pk=supplier).values_list("name", flat=True).first()
        found.append((_("Leverantör"), name or _("Uppgift saknas")))
    return found


def report_orders(actor: Actor) -> list[tuple[Subscription, str, list[tuple[str, str]]]]:
    """The actor's own report orders in force, each with its figure's title and its filters in
    words."""
    orders: list[tuple[Subscription, str, list[tuple[str, str]]]] = []
    for found in Subscription.objects.filter(user=actor.user, ended_at__isnull=True):
        figure = FIGURES.get(found.figure)
        if figure is None:
            orders.append((found, found.figure, []))
        else:
            orders.append((found, str(figure.title), params_described(figure, found.filters)))
    return orders


def figures_for(actor: Actor) -> list[Figure]:
    """The figures the actor may open (every figure, for anyone who sees statistics)."""
    if statistics_scope(actor).providers == frozenset():
        return []
    return list(FIGURES.values())


# --- The drill-down to rows -------------------------------------------------------------------


@dataclass
class DrillRow:
    patient_id: int
    patient: str
    item: str
    started_on: dt.date
    unit: str


def may_drill(actor: Actor, filters: Filters) -> bool:
    """Whether the devices-on-loan table per article offers rows: for the actor's own unit
    only, and only to a role that sees its unit's loans."""
    from lyfta.access.policies import can
    from lyfta.access.roles import Cap

    return actor.unit is not None and filters.unit == actor.unit.pk and can(actor, Cap.ORDERS_PLACE)


def drill_loans(actor: Actor, article_id: int) -> list[DrillRow]:
    """The open loans of `article_id` from the actor's unit, of its patients in care, through
    the access layer (`rows.statistics_unit_loans`); one PATIENT_LISTED per patient named."""
    from lyfta.access import rows
    from lyfta.audit.actions import Action
    from lyfta.audit.models import LegalBasis
    from lyfta.audit.services import record_many

    found = list(
        rows.statistics_unit_loans(actor, article_id)
        .select_related("patient", "item", "unit")
        .order_by("started_on", "pk")[:500]
    )
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": patient_id,
                "legal_basis": LegalBasis.RELATIONSHIP,
                "legal_basis_ref": f"unit:{unit.pk}",
                "owner_provider_id": unit.provider_id,
                "owner_unit_id": unit.pk,
                "detail": {"list": "statistics", "article": article_id},
            }
            for patient_id, unit in {loan.patient_id: loan.unit for loan in found}.items()
        ]
    )
    return [
        DrillRow(
            loan.patient_id,
            f"{loan.patient.first_name} {loan.patient.last_name}",
            loan.item.individual_number if loan.item else str(loan.quantity),
            loan.started_on,
            loan.unit.name,
        )
        for loan in found
    ]
