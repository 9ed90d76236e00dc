"""The demo assortment: ISO 9999 classes with our own short Swedish names, invented suppliers,
substitution groups and about 200 articles of the kinds a Swedish assistive-device centre lends
and sells. Every name, number and price is made up. Idempotent: what exists is left as it is.

The ISO codes are those of ISO 9999 for the kinds of product named (codes are public); the class
names are ours, since the standard's titles are copyrighted (DOMAIN.md §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lyfta.access.actor import Actor
from lyfta.catalogue import services
from lyfta.catalogue.models import (
    Article,
    BillingType,
    CostClass,
    DeliveryClass,
    IsoClass,
    SubstitutionGroup,
    Supplier,
)
from lyfta.organisations.seed import orgno

# (code, our own short Swedish name), parents before children.
ISO_CLASSES: list[tuple[str, str]] = [
    ("04", "Kroppsfunktioner och behandling"),
    ("04 33", "Trycksårsförebyggande"),
    ("04 33 03", "Sittdynor, tryckavlastande"),
    ("04 33 06", "Madrasser, tryckavlastande"),
    ("09", "Hygien och personlig vård"),
    ("09 12", "Toalettbesök"),
    ("09 12 03", "Toalett- och hygienstolar"),
    ("09 12 12", "Toalettförhöjningar"),
    ("09 12 24", "Armstöd vid toalett"),
    ("09 33", "Dusch och bad"),
    ("09 33 03", "Duschpallar och duschstolar"),
    ("12", "Förflyttning och mobilitet"),
    ("12 03", "Gånghjälpmedel för en hand"),
    ("12 03 06", "Kryckkäppar"),
    ("12 03 16", "Käppar med flera ben"),
    ("12 06", "Gånghjälpmedel för två händer"),
    ("12 06 03", "Gåbockar"),
    ("12 06 06", "Rollatorer"),
    ("12 06 12", "Gåbord"),
    ("12 07", "Tillbehör till gånghjälpmedel"),
    ("12 07 12", "Korgar, brickor och hållare"),
    ("12 22", "Rullstolar, manuella"),
    ("12 22 03", "Manuella rullstolar, egen drivning"),
    ("12 22 18", "Transportrullstolar"),
    ("12 23", "Rullstolar, eldrivna"),
    ("12 23 06", "Elrullstolar"),
    ("12 36", "Personlyftar"),
    ("12 36 03", "Mobila lyftar"),
    ("12 36 04", "Stålyftar"),
    ("12 36 12", "Taklyftar"),
    ("12 36 21", "Lyftselar"),
    ("18", "Möbler och boendeanpassning"),
    ("18 12", "Sängar"),
    ("18 12 10", "Vårdsängar, eldrivna"),
    ("18 12 27", "Sängtillbehör"),
    ("22", "Kommunikation, tid och minne"),
    ("22 27", "Tid och påminnelse"),
    ("22 27 12", "Klockor och tidshjälpmedel"),
    ("22 27 16", "Påminnare och minnesstöd"),
    ("22 28", "Planering och struktur"),
    ("22 28 03", "Kalendrar och planeringsstöd"),
]

# (name, phone, e-mail): invented companies on invented domains.
SUPPLIERS: list[tuple[str, str, str]] = [
    ("Rullix AB", "010-100 10 01", "order@rullix.example"),
    ("Gåvia Hjälpmedel AB", "010-100 10 02", "kundtjanst@gavia.example"),
    ("Lyftkraft Norden AB", "010-100 10 03", "service@lyftkraft.example"),
    ("Vilobädd AB", "010-100 10 04", "order@vilobadd.example"),
    ("Badkompaniet Stöd AB", "010-100 10 05", "info@badkompaniet.example"),
    ("Minnesstöd i Sverige AB", "010-100 10 06", "order@minnesstod.example"),
    ("Eldrift Mobilitet AB", "010-100 10 07", "service@eldrift.example"),
    ("Klarälvens Stödprodukter AB", "010-100 10 08", "order@klaralvens.example"),
]
RULLIX, GAVIA, LYFTKRAFT, VILO, BAD, MINNE, ELDRIFT, KLARALV = range(8)

# (name, fixed): a fixed group replaces an article automatically.
GROUPS: list[tuple[str, bool]] = [
    ("Kryckkäppar standard", True),
    ("Rollatorer standard", False),
    ("Rollatorer låga", False),
    ("Toalettförhöjningar 10 cm", True),
    ("Duschpallar", True),
    ("Manuella rullstolar sitsbredd 43", False),
    ("Manuella rullstolar sitsbredd 46", False),
    ("Vårdsängar standard", False),
    ("Tryckavlastande madrasser, skum", False),
    ("Universalselar storlek M", False),
    ("Universalselar storlek L", False),
]


@dataclass
class Family:
    """A kind of product made by some suppliers in some variants: one article per maker and
    variant. Amounts are whole kronor: the monthly rent for rented, the price for sold articles."""

    key: str
    iso: str
    kind: str
    makers: list[tuple[int, str]]
    variants: list[tuple[str, int, str]]  # (text, amount added, substitution group or "")
    billing: str
    amount: int
    tracked: bool
    delivery: str
    cost: str
    lead: int | None = None
    maintenance: int | None = None
    price_group: str = ""
    warranty: int = 24
    accessories: list[str] = field(default_factory=list)


R, S, SR = BillingType.RENT, BillingType.SALE, BillingType.SALE_RETURN
PRIO, STOCK, ORDER = DeliveryClass.PRIORITY, DeliveryClass.STOCK, DeliveryClass.ORDER
REG, MUN, PRE = CostClass.REGION, CostClass.MUNICIPALITY, CostClass.PRESCRIBER

FAMILIES: list[Family] = [
    # Accessories first: the articles that list them must find them.
    Family(
        "rollator_acc",
        "12 07 12",
        "Rollatortillbehör",
        [(RULLIX, "Rx"), (GAVIA, "Gåvia")],
        [("korg", 0, ""), ("bricka", 80, ""), ("käpphållare", -60, "")],
        S,
        190,
        False,
        PRIO,
        PRE,
    ),
    Family(
        "cushion",
        "04 33 03",
        "Sittdyna",
        [(RULLIX, "Luftcell"), (KLARALV, "Formskum")],
        [
            ("40 × 40 cm", 0, ""),
            ("43 × 43 cm", 100, ""),
            ("46 × 46 cm", 200, ""),
            ("50 × 45 cm", 300, ""),
        ],
        SR,
        1400,
        False,
        STOCK,
        MUN,
    ),
    Family(
        "sling_universal",
        "12 36 21",
        "Lyftsele universal",
        [(LYFTKRAFT, "Lk Uni"), (KLARALV, "Trygg")],
        [
            ("storlek S", 0, ""),
            ("storlek M", 0, "Universalselar storlek M"),
            ("storlek L", 10, "Universalselar storlek L"),
            ("storlek XL", 20, ""),
        ],
        R,
        65,
        True,
        STOCK,
        MUN,
        maintenance=12,
        price_group="L1",
    ),
    Family(
        "sling_hygiene",
        "12 36 21",
        "Lyftsele hygien",
        [(LYFTKRAFT, "Lk Hyg"), (KLARALV, "Trygg Hyg")],
        [("storlek S", 0, ""), ("storlek M", 0, ""), ("storlek L", 10, ""), ("storlek XL", 20, "")],
        R,
        70,
        True,
        STOCK,
        MUN,
        maintenance=12,
        price_group="L1",
    ),
    Family(
        "sling_legs",
        "12 36 21",
        "Lyftsele med delade benstöd",
        [(LYFTKRAFT, "Lk Del")],
        [("storlek S", 0, ""), ("storlek M", 0, ""), ("storlek L", 10, ""), ("storlek XL", 20, "")],
        R,
        75,
        True,
        ORDER,
        MUN,
        lead=8,
        maintenance=12,
        price_group="L1",
    ),
    Family(
        "bed_acc",
        "18 12 27",
        "Sängtillbehör",
        [(VILO, "Vila")],
        [
            ("grindskydd, par", 0, ""),
            ("lyftbåge", 150, ""),
            ("förlängningssats 20 cm", 450, ""),
            ("sänggrind, hel längd", 900, ""),
            ("sängbord med hjul", 1200, ""),
        ],
        S,
        650,
        False,
        STOCK,
        MUN,
    ),
    # Walking aids
    Family(
        "crutch",
        "12 03 06",
        "Kryckkäpp",
        [(GAVIA, "Gåvia Stöd"), (KLARALV, "Älv"), (RULLIX, "Rx Kryck")],
        [
            ("justerbar", 0, "Kryckkäppar standard"),
            ("med mjukgrepp", 40, ""),
            ("förstärkt 150 kg", 90, ""),
            ("barn", 0, ""),
        ],
        S,
        165,
        False,
        PRIO,
        PRE,
    ),
    Family(
        "quad_cane",
        "12 03 16",
        "Fyrpunktskäpp",
        [(GAVIA, "Gåvia Fyra"), (KLARALV, "Älv Stabil")],
        [("smal fot", 0, ""), ("bred fot", 60, "")],
        S,
        395,
        False,
        STOCK,
        PRE,
    ),
    Family(
        "walking_frame",
        "12 06 03",
        "Gåbock",
        [(GAVIA, "Gåvia"), (RULLIX, "Rx Ram")],
        [("fast", 0, ""), ("med hjul fram", 150, "")],
        SR,
        950,
        False,
        STOCK,
        PRE,
    ),
    Family(
        "rollator",
        "12 06 06",
        "Rollator",
        [(RULLIX, "Rx Flex"), (GAVIA, "Gåvia Vardag"), (KLARALV, "Älv Lätt")],
        [
            ("4 hjul, standard", 0, "Rollatorer standard"),
            ("4 hjul, låg", 0, "Rollatorer låga"),
            ("4 hjul, hög", 5, ""),
            ("4 hjul, bred 150 kg", 20, ""),
            ("3 hjul", -5, ""),
        ],
        R,
        75,
        True,
        STOCK,
        PRE,
        price_group="G1",
        accessories=["rollator_acc"],
    ),
    Family(
        "indoor_rollator",
        "12 06 06",
        "Inomhusrollator",
        [(RULLIX, "Rx Inne"), (GAVIA, "Gåvia Hemma")],
        [("med bricka", 0, "")],
        R,
        60,
        True,
        STOCK,
        PRE,
        price_group="G1",
    ),
    Family(
        "walking_table",
        "12 06 12",
        "Gåbord",
        [(GAVIA, "Gåvia Gå"), (RULLIX, "Rx Stöd")],
        [("med underarmsstöd", 0, ""), ("med underarmsstöd, elhöj", 60, "")],
        R,
        140,
        True,
        ORDER,
        REG,
        lead=10,
        price_group="G2",
    ),
    # Wheelchairs
    Family(
        "wheelchair",
        "12 22 03",
        "Manuell rullstol",
        [(RULLIX, "Rx Aktiv"), (ELDRIFT, "Edm Manuell"), (KLARALV, "Älv Rull")],
        [
            ("sitsbredd 36, barn", 20, ""),
            ("sitsbredd 40", 0, ""),
            ("sitsbredd 43", 0, "Manuella rullstolar sitsbredd 43"),
            ("sitsbredd 46", 0, "Manuella rullstolar sitsbredd 46"),
            ("sitsbredd 50", 40, ""),
        ],
        R,
        290,
        True,
        STOCK,
        REG,
        price_group="R1",
        accessories=["cushion"],
    ),
    Family(
        "transport_chair",
        "12 22 18",
        "Transportrullstol",
        [(RULLIX, "Rx Följ"), (KLARALV, "Älv Följ")],
        [("sitsbredd 43", 0, ""), ("sitsbredd 48", 30, "")],
        R,
        210,
        True,
        STOCK,
        MUN,
        price_group="R1",
    ),
    Family(
        "comfort_chair",
        "12 22 18",
        "Komfortrullstol",
        [(RULLIX, "Rx Vila"), (ELDRIFT, "Edm Komfort")],
        [("sitsbredd 45, tilt", 0, ""), ("sitsbredd 50, tilt och vinkling", 80, "")],
        R,
        560,
        True,
        ORDER,
        REG,
        lead=12,
        price_group="R2",
        accessories=["cushion"],
    ),
    Family(
        "power_chair",
        "12 23 06",
        "Elrullstol",
        [(ELDRIFT, "Edm Inne-ute"), (RULLIX, "Rx Power")],
        [("mittdrift", 0, ""), ("bakhjulsdrift", 150, ""), ("framhjulsdrift", 150, "")],
        R,
        1450,
        True,
        ORDER,
        REG,
        lead=20,
        maintenance=12,
        price_group="R3",
        accessories=["cushion"],
    ),
    # Lifts
    Family(
        "ceiling_lift",
        "12 36 12",
        "Taklyft",
        [(LYFTKRAFT, "Lk Tak"), (KLARALV, "Trygg Tak")],
        [("200 kg", 0, ""), ("255 kg", 60, ""), ("300 kg", 140, "")],
        R,
        520,
        True,
        ORDER,
        MUN,
        lead=15,
        maintenance=12,
        price_group="L3",
        accessories=["sling_universal"],
    ),
    Family(
        "mobile_lift",
        "12 36 03",
        "Mobil lyft",
        [(LYFTKRAFT, "Lk Mobil"), (KLARALV, "Trygg Mobil")],
        [("175 kg", 0, ""), ("205 kg", 40, ""), ("250 kg", 90, "")],
        R,
        480,
        True,
        STOCK,
        MUN,
        maintenance=12,
        price_group="L2",
        accessories=["sling_universal", "sling_hygiene"],
    ),
    Family(
        "stand_lift",
        "12 36 04",
        "Stålyft",
        [(LYFTKRAFT, "Lk Stå"), (KLARALV, "Trygg Stå")],
        [("med knästöd", 0, ""), ("med knästöd och elbredd", 70, "")],
        R,
        430,
        True,
        STOCK,
        MUN,
        maintenance=12,
        price_group="L2",
    ),
    # Beds and mattresses
    Family(
        "care_bed",
        "18 12 10",
        "Vårdsäng",
        [(VILO, "Vila Hem"), (KLARALV, "Älv Vård"), (RULLIX, "Rx Sömn")],
        [
            ("90 × 200 cm", 0, "Vårdsängar standard"),
            ("105 × 200 cm", 60, ""),
            ("låg, 90 × 200 cm", 90, ""),
        ],
        R,
        390,
        True,
        STOCK,
        MUN,
        price_group="S1",
        accessories=["bed_acc"],
    ),
    Family(
        "foam_mattress",
        "04 33 06",
        "Tryckavlastande madrass, skum",
        [(VILO, "Vila Visko"), (KLARALV, "Älv Kall")],
        [
            ("90 × 200 cm", 0, "Tryckavlastande madrasser, skum"),
            ("105 × 200 cm", 350, ""),
            ("80 × 200 cm", -150, ""),
        ],
        SR,
        3900,
        False,
        STOCK,
        MUN,
    ),
    Family(
        "air_mattress",
        "04 33 06",
        "Tryckavlastande madrass, växeltryck",
        [(VILO, "Vila Luft"), (LYFTKRAFT, "Lk Cirkel")],
        [("90 × 200 cm", 0, ""), ("105 × 200 cm", 40, "")],
        R,
        420,
        True,
        ORDER,
        MUN,
        lead=5,
        maintenance=12,
        price_group="S2",
    ),
    # Toilet and bath
    Family(
        "toilet_raiser",
        "09 12 12",
        "Toalettförhöjning",
        [(BAD, "Bk"), (KLARALV, "Älv"), (GAVIA, "Gåvia")],
        [
            ("6 cm", 0, ""),
            ("10 cm", 20, "Toalettförhöjningar 10 cm"),
            ("10 cm med armstöd", 290, ""),
            ("14 cm", 60, ""),
        ],
        S,
        420,
        False,
        PRIO,
        PRE,
    ),
    Family(
        "toilet_arms",
        "09 12 24",
        "Toalettarmstöd",
        [(BAD, "Bk"), (KLARALV, "Älv")],
        [("golvmonterat", 0, ""), ("fällbart, väggmonterat", 450, "")],
        S,
        1150,
        False,
        STOCK,
        MUN,
    ),
    Family(
        "hygiene_chair",
        "09 12 03",
        "Hygienstol",
        [(BAD, "Bk Hjul"), (RULLIX, "Rx Hyg")],
        [("med hjul", 0, ""), ("med hjul och tippfunktion", 120, "")],
        R,
        160,
        True,
        STOCK,
        MUN,
        price_group="H1",
    ),
    Family(
        "shower_stool",
        "09 33 03",
        "Duschpall",
        [(BAD, "Bk"), (KLARALV, "Älv"), (GAVIA, "Gåvia")],
        [("rund", 0, "Duschpallar"), ("med handtag", 80, ""), ("hörnpall", 40, "")],
        S,
        420,
        False,
        PRIO,
        PRE,
    ),
    Family(
        "shower_chair",
        "09 33 03",
        "Duschstol",
        [(BAD, "Bk"), (KLARALV, "Älv"), (GAVIA, "Gåvia")],
        [("med ryggstöd", 0, ""), ("med rygg- och armstöd", 250, "")],
        SR,
        990,
        False,
        STOCK,
        MUN,
    ),
    # Cognitive aids
    Family(
        "calendar",
        "22 28 03",
        "Digital kalender",
        [(MINNE, "Ms Dag"), (KLARALV, "Älv Tid")],
        [("10 tum", 0, ""), ("15 tum", 40, ""), ("22 tum med påminnelser", 110, "")],
        R,
        120,
        True,
        ORDER,
        REG,
        lead=5,
        price_group="K1",
    ),
    Family(
        "planner",
        "22 28 03",
        "Planeringstavla",
        [(MINNE, "Ms"), (KLARALV, "Älv Plan")],
        [("vecka, magnetisk", 0, ""), ("dag, med bildstöd", 90, "")],
        S,
        590,
        False,
        STOCK,
        PRE,
    ),
    Family(
        "reminder",
        "22 27 16",
        "Påminnare",
        [(MINNE, "Ms Minns"), (KLARALV, "Älv Minns")],
        [
            ("talande, med inspelning", 0, ""),
            ("medicinpåminnare", 250, ""),
            ("dörrpåminnare", 150, ""),
        ],
        S,
        890,
        False,
        ORDER,
        PRE,
        lead=7,
    ),
    Family(
        "clock",
        "22 27 12",
        "Klocka",
        [(MINNE, "Ms Tid"), (KLARALV, "Älv Tid")],
        [("dag och natt", 0, ""), ("talande", 200, "")],
        R,
        45,
        True,
        STOCK,
        REG,
        price_group="K1",
    ),
]


# Older models no longer offered: in the demo so that the assortment filter has something to hide.
WITHDRAWN = {
    ("Rollator", "Älv Lätt", "3 hjul"),
    ("Kryckkäpp", "Rx Kryck", "barn"),
    ("Påminnare", "Älv Minns", "dörrpåminnare"),
}


def _article_number(family_index: int, number: int) -> str:
    return f"{10 + family_index:02d}{number:04d}"


def articles_planned() -> list[tuple[str, Family, int, str, str, str]]:
    """(article number, family, supplier index, model, variant text, group) for every article."""
    planned = []
    for f_index, family in enumerate(FAMILIES):
        n = 0
        for supplier_index, model in family.makers:
            for text, _delta, group in family.variants:
                n += 1
                planned.append(
                    (_article_number(f_index, n), family, supplier_index, model, text, group)
                )
    return planned


def _amount(family: Family, maker_position: int, delta: int) -> Decimal:
    # A few percent between makers, so that prices differ as they do.
    factor = Decimal(100 + 4 * maker_position) / 100
    return ((Decimal(family.amount) + delta) * factor).quantize(Decimal("1"))


def seed(actor: Actor) -> None:
    for code, name in ISO_CLASSES:
        if not IsoClass.objects.filter(code=code).exists():
            services.iso_class_create(actor=actor, code=code, name=name)
    suppliers: list[Supplier] = []
    for serial, (name, phone, email) in enumerate(SUPPLIERS, start=1):
        supplier = Supplier.objects.filter(name=name).first()
        if supplier is None:
            supplier = services.supplier_create(
                actor=actor,
                name=name,
                organisation_number=orgno(5000 + serial * 7, "55"),
                phone=phone,
                email=email,
            )
        suppliers.append(supplier)
    groups: dict[str, SubstitutionGroup] = {}
    for name, fixed in GROUPS:
        found = SubstitutionGroup.objects.filter(name=name).first()
        if found is None:
            found = services.substitution_group_create(actor=actor, name=name, fixed=fixed)
        groups[name] = found
    iso = {c.code: c for c in IsoClass.objects.all()}
    existing = set(Article.objects.values_list("article_number", flat=True))
    by_family: dict[str, list[Article]] = {}
    for number, family, supplier_index, model, text, group in articles_planned():
        if number in existing:
            by_family.setdefault(family.key, []).append(Article.objects.get(article_number=number))
            continue
        maker_position = [m[0] for m in family.makers].index(supplier_index)
        delta = next(d for t, d, _g in family.variants if t == text)
        amount = _amount(family, maker_position, delta)
        accessories = [
            a
            for key in family.accessories
            for a in by_family.get(key, [])
            if a.supplier_id == suppliers[supplier_index].pk
        ]
        article = services.article_create(
            actor=actor,
            accessories=accessories,
            article_number=number,
            name=f"{family.kind} {model}, {text}",
            iso_class=iso[family.iso],
            supplier=suppliers[supplier_index],
            supplier_article_number=f"{model.split()[0].upper()}-{number[-4:]}",
            billing_type=family.billing,
            price_group=family.price_group,
            monthly_rent=amount if family.billing == BillingType.RENT else None,
            # Rented articles carry their acquisition value as the price, for residual values.
            price=amount if family.billing != BillingType.RENT else amount * 40,
            tracked=family.tracked,
            delivery_class=family.delivery,
            lead_time_days=family.lead,
            substitution_group=groups[group] if group else None,
            maintenance_interval_months=family.maintenance,
            warranty_months=family.warranty,
            cost_class=family.cost,
            in_assortment=(family.kind, model, text) not in WITHDRAWN,
        )
        by_family.setdefault(family.key, []).append(article)
