"""The demo county: Region Värmland, its 16 municipalities, their units and the centre.

Organisation numbers are synthetic (valid format and check digit, not the real ones) so that no
demo data can be mistaken for a real register. Idempotent: what exists is left as it is."""

from __future__ import annotations

from lyfta.access.actor import Actor
from lyfta.core.luhn import luhn_digit
from lyfta.organisations import services
from lyfta.organisations.models import CareProvider, DeliveryAddress, Unit, Warehouse

MUNICIPALITIES = [
    "Arvika",
    "Eda",
    "Filipstad",
    "Forshaga",
    "Grums",
    "Hagfors",
    "Hammarö",
    "Karlstad",
    "Kil",
    "Kristinehamn",
    "Munkfors",
    "Storfors",
    "Sunne",
    "Säffle",
    "Torsby",
    "Årjäng",
]
# SCB's municipality codes (kommunkoder), by which the population register names a home
# municipality.
MUNICIPALITY_CODES = {
    "Arvika": "1784",
    "Eda": "1730",
    "Filipstad": "1782",
    "Forshaga": "1763",
    "Grums": "1764",
    "Hagfors": "1783",
    "Hammarö": "1761",
    "Karlstad": "1780",
    "Kil": "1715",
    "Kristinehamn": "1781",
    "Munkfors": "1762",
    "Storfors": "1760",
    "Sunne": "1766",
    "Säffle": "1785",
    "Torsby": "1737",
    "Årjäng": "1765",
}
POSTAL = {
    "Arvika": "671 31",
    "Eda": "673 31",
    "Filipstad": "682 30",
    "Forshaga": "667 30",
    "Grums": "664 30",
    "Hagfors": "683 30",
    "Hammarö": "663 30",
    "Karlstad": "652 25",
    "Kil": "665 30",
    "Kristinehamn": "681 30",
    "Munkfors": "684 30",
    "Storfors": "688 30",
    "Sunne": "686 30",
    "Säffle": "661 30",
    "Torsby": "685 30",
    "Årjäng": "672 30",
}

REGION = "Region Värmland"
CENTRE = "Hjälpmedelsservice"

# (name, kind, cost centre, street, city) for the region's units.
REGION_UNITS = [
    (
        "Centralsjukhuset Karlstad, avdelning 12 medicin",
        Unit.Kind.WARD,
        "41210",
        "Rosenborgsgatan 9",
        "Karlstad",
    ),
    (
        "Centralsjukhuset Karlstad, ortopedavdelning 5",
        Unit.Kind.WARD,
        "41205",
        "Rosenborgsgatan 9",
        "Karlstad",
    ),
    (
        "Sjukhuset i Arvika, rehabavdelning",
        Unit.Kind.REHABILITATION,
        "42310",
        "Sjukhusgatan 1",
        "Arvika",
    ),
    ("Vårdcentralen Herrhagen", Unit.Kind.PRIMARY_CARE, "51101", "Herrhagsgatan 2", "Karlstad"),
    ("Vårdcentralen Sunne", Unit.Kind.PRIMARY_CARE, "51140", "Storgatan 40", "Sunne"),
    ("Vårdcentralen Torsby", Unit.Kind.PRIMARY_CARE, "51150", "Sjukhusvägen 3", "Torsby"),
    (
        "Barn- och ungdomshabiliteringen Karlstad",
        Unit.Kind.HABILITATION,
        "61010",
        "Stora Torget 5",
        "Karlstad",
    ),
    (
        "Vuxenhabiliteringen Värmland",
        Unit.Kind.HABILITATION,
        "61020",
        "Drottninggatan 14",
        "Karlstad",
    ),
]
CENTRE_UNITS = [
    ("Hjälpmedelsservice, kundtjänst", "70010"),
    ("Hjälpmedelsservice, teknik och service", "70020"),
    ("Hjälpmedelsservice, lager och logistik", "70030"),
    ("Hjälpmedelsservice, sortiment och inköp", "70040"),
    ("Hjälpmedelsservice, ekonomi", "70050"),
    ("Hjälpmedelsservice, hjälpmedelskonsulenter", "70060"),
    ("Hjälpmedelsservice, kvalitet", "70070"),
]
REGION_ADMIN_UNIT = ("Region Värmland, regionkansliet", "10001")


def orgno(serial: int, first: str) -> str:
    """A synthetic organisation number: valid form and check digit, not a real register entry."""
    # Third digit 2 or higher, as in every organisation number (it tells them from personnummer).
    body = f"{first}9{serial:06d}"
    return f"{body[:6]}-{body[6:]}{luhn_digit(body)}"


def _provider(
    actor: Actor, name: str, short: str, kind: str, number: str, code: str = ""
) -> CareProvider:
    existing = CareProvider.objects.filter(organisation_number=number).first()
    if existing:
        if code and not existing.municipality_code:
            return services.provider_update(actor=actor, provider=existing, municipality_code=code)
        return existing
    return services.provider_create(
        actor=actor,
        name=name,
        short_name=short,
        kind=kind,
        organisation_number=number,
        municipality_code=code,
    )


def _unit(
    actor: Actor,
    provider: CareProvider,
    name: str,
    kind: str,
    customer: str,
    cost_centre: str,
    street: str,
    postal: str,
    city: str,
) -> Unit:
    unit = Unit.objects.filter(customer_number=customer).first()
    if unit is None:
        unit = services.unit_create(
            actor=actor,
            provider=provider,
            name=name,
            kind=kind,
            customer_number=customer,
            cost_centre=cost_centre,
            phone="010-000 00 00",
        )
    if not DeliveryAddress.objects.filter(unit=unit).exists():
        services.address_create(
            actor=actor,
            unit=unit,
            label="Godsmottagning",
            street=street,
            postal_code=postal,
            city=city,
            is_default=True,
        )
    return unit


def seed(actor: Actor) -> None:
    region = _provider(actor, REGION, "Regionen", CareProvider.Kind.REGION, orgno(100, "23"))
    customer = 10001
    admin_name, admin_cc = REGION_ADMIN_UNIT
    _unit(
        actor,
        region,
        admin_name,
        Unit.Kind.ADMINISTRATION,
        f"K{customer}",
        admin_cc,
        "Fältspatsgatan 8",
        "652 21",
        "Karlstad",
    )
    for name, kind, cost_centre, street, city in REGION_UNITS:
        customer += 1
        _unit(actor, region, name, kind, f"K{customer}", cost_centre, street, POSTAL[city], city)
    centre_units = []
    for name, cost_centre in CENTRE_UNITS:
        customer += 1
        centre_units.append(
            _unit(
                actor,
                region,
                name,
                Unit.Kind.CENTRE,
                f"K{customer}",
                cost_centre,
                "Lagergatan 4",
                "653 43",
                "Karlstad",
            )
        )
    if not Warehouse.objects.filter(code="HML").exists():
        services.warehouse_create(
            actor=actor,
            unit=centre_units[2],
            code="HML",
            name="Hjälpmedelsservice huvudlager",
            street="Lagergatan 4",
            postal_code="653 43",
            city="Karlstad",
            is_main=True,
        )
    for serial, town in enumerate(MUNICIPALITIES, start=1):
        municipality = _provider(
            actor,
            f"{town} kommun",
            town,
            CareProvider.Kind.MUNICIPALITY,
            orgno(1000 + serial * 37, "21"),
            MUNICIPALITY_CODES[town],
        )
        base = 20000 + serial * 100
        units = [
            (f"Hemsjukvården {town}", Unit.Kind.HOME_CARE, f"{base + 1}"),
            (f"{town} särskilda boenden", Unit.Kind.CARE_HOME, f"{base + 2}"),
            (f"Kommunrehab {town}", Unit.Kind.REHABILITATION, f"{base + 3}"),
            (f"{town} kommun, socialförvaltningen", Unit.Kind.ADMINISTRATION, f"{base + 9}"),
        ]
        if town == "Karlstad":
            units.append(("Tallbackens äldreboende", Unit.Kind.CARE_HOME, f"{base + 4}"))
            units.append(("Korttidsboendet Lillerud", Unit.Kind.CARE_HOME, f"{base + 5}"))
        for name, kind, cost_centre in units:
            _unit(
                actor,
                municipality,
                name,
                kind,
                f"K{base + int(cost_centre[-1])}",
                cost_centre,
                f"Kommunhusgatan {serial}",
                POSTAL[town],
                town,
            )
