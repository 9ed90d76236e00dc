"""The figures of the statistics pages (DOMAIN.md §3.9, issue 17 point 1): what each counts, the
definition shown on its page, its columns and the groupings it offers. The numbers come from the
summary tables (`models.Fact`, `models.PersonCount`); see `selectors`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lyfta.reports.models import Measure


@dataclass(frozen=True)
class Sums:
    """A cell's sums of the fact columns."""

    n: int = 0
    hits: int = 0
    total: int = 0


@dataclass(frozen=True)
class Column:
    """One value column: `kind` says how it is shown (count, percent, days, kronor)."""

    key: str
    label: Promise
    kind: str
    value: Callable[[Sums], float | int | None]


def _share(s: Sums) -> float | None:
    return 100.0 * s.hits / s.n if s.n else None


def _mean_total(s: Sums) -> float | None:
    return s.total / s.n if s.n else None


def _share_total(s: Sums) -> float | None:
    return 100.0 * s.total / s.n if s.n else None


N = Column("n", _("Antal"), "int", lambda s: s.n)

# The groupings a figure may offer, with their labels.
GROUPINGS: dict[str, Promise] = {
    "month": _("Månad"),
    "provider": _("Huvudman"),
    "unit": _("Enhet"),
    "area": _("Produktområde (ISO-klass)"),
    "iso": _("ISO-klass"),
    "article": _("Artikel"),
    "supplier": _("Leverantör"),
    "delivery_class": _("Leveransklass"),
    "sex": _("Kön"),
    "age": _("Åldersgrupp"),
    "cost_centre": _("Kostnadsställe"),
    "category": _("Slag av rad"),
}
_ARTICLE_GROUPS = ("month", "provider", "unit", "area", "iso", "article", "supplier")


@dataclass(frozen=True)
class Figure:
    """A figure: its page's slug, title and definition, the measure it reads, its columns, the
    groupings it offers (the first is the default) and whether it is a stock (counted on a day:
    the period's last month, unless grouped by month) or a flow (summed over the period)."""

    slug: str
    title: Promise
    definition: Promise
    measure: str
    columns: tuple[Column, ...]
    groupings: tuple[str, ...] = _ARTICLE_GROUPS
    stock: bool = False
    money: bool = False
    kind: str = "facts"  # "facts", "persons" (the Socialstyrelsen table) or "population"
    chart_column: str = "n"
    extra: dict[str, str] = field(default_factory=dict)


FIGURES: dict[str, Figure] = {
    f.slug: f
    for f in (
        Figure(
            "utlanade",
            _("Utlånade hjälpmedel"),
            _(
                "Hjälpmedel som är utlånade till patienter vid periodens slut (i dag för "
                "innevarande månad): lån som har börjat och inte avslutats. Antal räknas i "
                "hjälpmedel (en artikel utan individnummer räknas med sitt antal). Enheten är "
                "den förskrivande enheten; kön och ålder är patientens den dag som räknas."
            ),
            Measure.ON_LOAN,
            (Column("n", _("Utlånade"), "int", lambda s: s.n),),
            groupings=("area", *(g for g in _ARTICLE_GROUPS if g != "area"), "sex", "age"),
            stock=True,
        ),
        Figure(
            "nyforskrivna",
            _("Nyförskrivna hjälpmedel"),
            _(
                "Hjälpmedel på lån som började under perioden (förskrivna och levererade till "
                "patienten), i antal hjälpmedel. Enheten är den förskrivande enheten."
            ),
            Measure.NEW,
            (Column("n", _("Nyförskrivna"), "int", lambda s: s.n),),
            groupings=("month", *(g for g in _ARTICLE_GROUPS if g != "month"), "sex", "age"),
        ),
        Figure(
            "socialstyrelsen",
            _("Förskrivna hjälpmedel per ISO-klass, kön och ålder"),
            _(
                "Tabellen i den form Socialstyrelsen samlar in: antal personer och antal "
                "hjälpmedel per ISO 9999-klass (två nivåer), kön och åldersgrupp, för ett år. "
                "Personer med hjälpmedel räknas vid årets slut (i dag för innevarande år), "
                "nyförskrivna under året. En person räknas en gång per cell: summan av klasserna "
                "kan vara större än raden Alla klasser. Under huvudmannanivå döljs celler med "
                "färre än 5 personer, och fler celler där det behövs för att de inte ska kunna "
                "räknas fram ur summorna."
            ),
            "",
            (),
            groupings=(),
            kind="persons",
        ),
        Figure(
            "per-1000-invanare",
            _("Patienter med hjälpmedel per 1 000 invånare"),
            _(
                "Antal personer folkbokförda i kommunen som har minst ett hjälpmedel utlånat vid "
                "årets slut (i dag för innevarande år), från vilken huvudman som helst, per 1 000 "
                "invånare enligt den folkmängd som är inlagd för året."
            ),
            "",
            (),
            groupings=(),
            kind="population",
        ),
        Figure(
            "ateranvandning",
            _("Omsättning och återanvändning"),
            _(
                "Hjälpmedel med individnummer som levererades till patienter under perioden, och "
                "hur stor andel av dem som hade varit utlånade tidigare (rekonditionerade "
                "individer)."
            ),
            Measure.REUSE,
            (
                Column("n", _("Levererade individer"), "int", lambda s: s.n),
                Column("hits", _("Återanvända"), "int", lambda s: s.hits),
                Column("share", _("Andel återanvända"), "pct", _share),
            ),
            chart_column="share",
        ),
        Figure(
            "rekonditionering",
            _("Rekonditionering"),
            _(
                "Rekonditioneringar som avslutades under perioden och deras genomsnittliga "
                "genomloppstid i dagar."
            ),
            Measure.RECONDITION,
            (
                Column("n", _("Avslutade"), "int", lambda s: s.n),
                Column("mean", _("Medeltid (dagar)"), "days", _mean_total),
            ),
            chart_column="mean",
        ),
        Figure(
            "leveranser",
            _("Leveransprecision och ledtider"),
            _(
                "Orderrader som levererades under perioden: hur många som levererades senast "
                "den beräknade leveransdagen, och genomsnittlig ledtid i dagar från order till "
                "leverans, per leveransklass eller annan indelning."
            ),
            Measure.DELIVERY,
            (
                Column("n", _("Levererade rader"), "int", lambda s: s.n),
                Column("share", _("Leveransprecision"), "pct", _share),
                Column("mean", _("Ledtid (dagar)"), "days", _mean_total),
            ),
            groupings=("delivery_class", *_ARTICLE_GROUPS),
            chart_column="share",
        ),
        Figure(
            "hamtningar",
            _("Hämtningar"),
            _(
                "Hämtorderrader som hämtades under perioden: andel hämtade senast utlovad dag "
                "och genomsnittlig tid i dagar från hämtorder till hämtning."
            ),
            Measure.PICKUP,
            (
                Column("n", _("Hämtade rader"), "int", lambda s: s.n),
                Column("share", _("Hämtade i tid"), "pct", _share),
                Column("mean", _("Tid till hämtning (dagar)"), "days", _mean_total),
            ),
            chart_column="mean",
        ),
        Figure(
            "arbetsordrar",
            _("Arbetsordrar och servicenivå"),
            _(
                "Arbetsordrar registrerade under perioden (inte makulerade): andel påbörjade "
                "inom 3 arbetsdagar och andel klara inom 10 arbetsdagar."
            ),
            Measure.WORKORDER,
            (
                Column("n", _("Arbetsordrar"), "int", lambda s: s.n),
                Column("share", _("Påbörjade inom 3 arbetsdagar"), "pct", _share),
                Column("done", _("Klara inom 10 arbetsdagar"), "pct", _share_total),
            ),
            chart_column="share",
        ),
        Figure(
            "fakturerat",
            _("Hyra och avgifter per kund"),
            _(
                "Fakturerade belopp i godkända och låsta debiteringskörningar, per "
                "faktureringsmånad: kunden är den betalande huvudmannen och enheten den "
                "betalande enheten."
            ),
            Measure.BILLED,
            (
                Column("n", _("Fakturarader"), "int", lambda s: s.n),
                Column("amount", _("Belopp (kr)"), "money", lambda s: s.total / 100),
            ),
            groupings=(
                "provider",
                "cost_centre",
                "category",
                "unit",
                "month",
                "area",
                "iso",
                "article",
                "supplier",
            ),
            money=True,
            chart_column="amount",
        ),
        Figure(
            "avvikelser",
            _("Avvikelser per artikel och leverantör"),
            _("Avvikelser registrerade under perioden, oavsett slag."),
            Measure.DEVIATION,
            (Column("n", _("Avvikelser"), "int", lambda s: s.n),),
            groupings=("article", "supplier", "month", "provider", "unit", "area", "iso"),
        ),
        Figure(
            "reparationer",
            _("Fel och reparationer"),
            _("Reparationer (arbetsordrar av slaget reparation) registrerade under perioden."),
            Measure.REPAIR,
            (Column("n", _("Reparationer"), "int", lambda s: s.n),),
            groupings=("article", "supplier", "month", "provider", "unit", "area", "iso"),
        ),
        Figure(
            "forluster",
            _("Förluster och svinn"),
            _(
                "Hjälpmedel som anmäldes förlorade under perioden och deras restvärde i kronor "
                "enligt förlustanmälan."
            ),
            Measure.LOSS,
            (
                Column("n", _("Förlorade"), "int", lambda s: s.n),
                Column("amount", _("Restvärde (kr)"), "money", lambda s: s.total / 100),
            ),
            chart_column="amount",
        ),
    )
}
