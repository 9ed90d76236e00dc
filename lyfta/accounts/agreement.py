"""The user agreement (förbindelse, R10): its versioned Swedish text, a digest of that text so that
an acceptance can be stored with the exact version read, and a filled-in PDF for a signature in ink.

The text keeps the promises of the paper förbindelse used for Sesam2-class systems and replaces the
repealed laws it cited (vårdregisterlagen 1998:544, PuL 1998:204, sekretesslagen 1980:100) with the
current ones (ACCOUNTABILITY.md section 0).

The legal references are an engineering reading, not legal advice; the region's lawyer is to check
them before the text is used. Known open points, deliberately kept out of the user-facing text:
- the paragraph of the patient's right to a log extract (PDL 8 kap. 5 § or "7 kap. 5 §", finding 6),
  so the text names the right but no paragraph;
- the §-numbers under lag (2022:913) were not read in full (finding 2), so only the law is cited;
- the rules on blocked data (spärr) and emergency access are described without naming paragraphs;
- socialtjänstlagen is not cited by number: a new socialtjänstlag replaced SFS 2001:453 in 2025
  (to be verified); social-services secrecy is covered through OSL 26 kap.;
- HSLF-FS 2016:40 as amended by HSLF-FS 2025:57 (in force 2026-02-01) is cited without §-numbers.
Any change to the text below changes `agreement_digest()`, so `AGREEMENT_VERSION` must be raised
with it and every user accepts the new version (R10).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone, translation

if TYPE_CHECKING:
    from lyfta.accounts.models import User

AGREEMENT_VERSION = "2026-1"

AGREEMENT_TITLE = "Förbindelse för användare av Lyfta"

# Printouts carry Swedish time whatever the server's zone is (R59, R87).
PRINT_TIME_ZONE = ZoneInfo("Europe/Stockholm")

AGREEMENT_SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Personligt ansvar",
        [
            "Denna förbindelse gäller dig som har ett konto i Lyfta, det hjälpmedelssystem som "
            "regionen, kommunerna och hjälpmedelsverksamheten använder gemensamt. Lyfta innehåller "
            "personuppgifter om patienter och brukare, till exempel namn, personnummer, adress och "
            "vilka hjälpmedel de har. Uppgifterna omfattas av sekretess och tystnadsplikt.",
            "Du är personligt ansvarig för allt som görs med ditt konto och för att du använder "
            "Lyfta enligt denna förbindelse, gällande lagar och din arbetsgivares rutiner. Varje "
            "registrering och varje åtgärd i Lyfta sparas med ditt användar-id och kan alltid "
            "spåras till dig.",
            "Lyfta upprätthåller reglerna i systemet: behörighet och vårdrelation kontrolleras vid "
            "varje åtkomst, all åtkomst loggas och granskas, du loggas ut automatiskt efter 15 "
            "minuter utan aktivitet och en andra faktor krävs vid inloggning där reglerna kräver "
            "det. Att systemet släpper fram en uppgift betyder ändå inte att du har rätt att ta "
            "del av den. Det ansvaret är alltid ditt.",
            "Om du upptäcker att någon använder Lyfta på ett felaktigt sätt, eller om du "
            "misstänker att uppgifter har kommit i orätta händer, ska du genast tala om det för "
            "din chef.",
        ],
    ),
    (
        "Åtkomst bara med vårdrelation eller annat behov i arbetet",
        [
            "Du får bara ta del av uppgifter om en patient om du deltar i vården av patienten "
            "(vårdrelation) eller av något annat skäl behöver uppgifterna för ditt arbete, till "
            "exempel för att leverera, hämta, reparera eller fakturera ett hjälpmedel.",
            "Även när du har rätt att öppna uppgifter om en patient får du bara ta del av de "
            "uppgifter som behövs för den uppgift du utför. Nyfikenhet är aldrig ett skäl. Det "
            "gäller också uppgifter om dig själv, dina närstående, kollegor och kända personer.",
            "Uppgifter som en annan vårdgivare eller omsorgsgivare har registrerat, till exempel "
            "hjälpmedel som en kommun har förskrivit till en patient som du möter i regionen, får "
            "du bara ta del av om patienten har samtyckt till det, eller i en nödsituation när "
            "patienten inte kan ta ställning och uppgifterna behövs för vården. Uppgifter som "
            "patienten har spärrat får du inte ta del av utom i de fall som lagen särskilt "
            "tillåter. Varje åtkomst i en nödsituation ska motiveras och granskas i efterhand.",
        ],
    ),
    (
        "Allt loggas och granskas",
        [
            "Alla åtkomster och registreringar i Lyfta loggas: vem som gjorde vad, när, i vilken "
            "enhet och roll och om vilken patient. Även sökningar, utskrifter och exporter loggas. "
            "Loggarna kan inte ändras i efterhand.",
            "Vårdgivaren är skyldig att regelbundet och systematiskt kontrollera loggarna. "
            "Loggarna granskas både genom stickprov och riktat, till exempel när en patient begär "
            "det eller när en åtkomst avviker från det vanliga.",
            "En patient har rätt att få ett utdrag ur loggen (logguttag) som visar vilka enheter "
            "som har tagit del av uppgifter om honom eller henne och när. Loggar hos offentliga "
            "vårdgivare är allmänna handlingar och kan efter sekretessprövning lämnas ut, även med "
            "namnet på den som har gjort åtkomsten.",
        ],
    ),
    (
        "Inloggning och lösenord",
        [
            "Du loggar in med ditt eget, personliga konto. Du får aldrig låna ut dina "
            "inloggningsuppgifter, logga in åt någon annan eller låta någon annan arbeta i Lyfta "
            "när du är inloggad.",
            "Välj ett starkt lösenord: en lösenfras eller ett lösenord på minst 15 tecken som inte "
            "går att gissa och som du inte använder någon annanstans. Dela aldrig ditt lösenord "
            "med någon, inte heller med användarstödet eller din chef, och skriv inte ned det där "
            "någon annan kan hitta det.",
            "Där det krävs, till exempel vid inloggning över internet eller i en administrativ "
            "roll, loggar du också in med en andra faktor, till exempel en engångskod från en app "
            "i din telefon. Skydda den på samma sätt som lösenordet.",
            "Misstänker du att någon annan känner till ditt lösenord eller har använt ditt konto "
            "ska du genast byta lösenord och tala om det för din chef eller användarstödet.",
            "Lås datorn eller logga ut varje gång du lämnar den, även för en kort stund. Lyfta "
            "loggar ut dig automatiskt efter 15 minuter utan aktivitet, men det ersätter inte att "
            "du själv loggar ut.",
        ],
    ),
    (
        "Behörighetens giltighet",
        [
            "Din behörighet gäller från och med det startdatum till och med det slutdatum som "
            "anges i förbindelsen, eller tills vidare om inget slutdatum anges. Utanför den "
            "perioden kan du inte logga in.",
            "Vad du får göra i Lyfta bestäms av dina medarbetaruppdrag. Ett uppdrag gäller en "
            "enhet och en roll under en bestämd tid och beslutas av din chef eller av den som "
            "vårdgivaren har utsett. Behörigheten ska inte vara större än vad du behöver för ditt "
            "arbete. Har du flera uppdrag väljer du vid inloggningen vilket du arbetar i.",
            "Behörigheten upphör när arbetet upphör, till exempel när du byter tjänst eller enhet "
            "eller slutar din anställning. Säg till din chef om du har en behörighet som du inte "
            "längre behöver. Konton och uppdrag som inte används under en längre tid stängs av "
            "automatiskt.",
        ],
    ),
    (
        "Tystnadsplikt och sekretess",
        [
            "Uppgifter om patienters hälsa och personliga förhållanden omfattas av sekretess "
            "enligt offentlighets- och sekretesslagen, inom hälso- och sjukvården och inom "
            "socialtjänsten. Arbetar du hos en privat vårdgivare gäller i stället tystnadsplikt "
            "enligt patientsäkerhetslagen. Tystnadsplikten gäller även sedan din anställning eller "
            "ditt uppdrag har upphört.",
            "Tystnadsplikten gäller allt du får veta genom Lyfta, också sådant som kan verka "
            "harmlöst, till exempel att en person har ett visst hjälpmedel eller bor på en viss "
            "adress. Var särskilt försiktig med uppgifter om personer med skyddade "
            "personuppgifter.",
            "Lämna inte ut uppgifter ur Lyfta till någon som inte har rätt till dem, varken "
            "muntligt, skriftligt eller som skärmbild. Skriv inte ut mer än arbetet kräver. En "
            "utskrift visar vem som skrev ut den och när, och ska förvaras och förstöras på ett "
            "säkert sätt.",
        ],
    ),
    (
        "Konsekvenser vid överträdelse",
        [
            "Misstänkta överträdelser utreds. Bryter du mot denna förbindelse kan din behörighet "
            "dras in omedelbart.",
            "En överträdelse kan leda till arbetsrättsliga åtgärder, till exempel skriftlig "
            "varning, uppsägning eller avsked.",
            "En överträdelse kan också vara ett brott, till exempel brott mot tystnadsplikt "
            "(brottsbalken 20 kap. 3\u00a0§) eller dataintrång (brottsbalken 4 kap. "
            "9 c\u00a0§), och kan då leda till böter eller fängelse.",
        ],
    ),
    (
        "Lagstöd",
        [
            "Patientdatalagen (2008:355) 4 kap. 1–3\u00a0§§: inre sekretess (åtkomst bara för den "
            "som deltar i vården av patienten eller av annat skäl behöver uppgifterna för sitt "
            "arbete), behörighetstilldelning efter behov, samt loggning av åtkomst och "
            "regelbunden kontroll av loggarna.",
            "Offentlighets- och sekretesslagen (2009:400), bland annat 25 kap. om sekretess inom "
            "hälso- och sjukvården och 26 kap. om sekretess inom socialtjänsten.",
            "Europaparlamentets och rådets förordning (EU) 2016/679 (dataskyddsförordningen, GDPR) "
            "och lagen (2018:218) med kompletterande bestämmelser till EU:s "
            "dataskyddsförordning.",
            "Lagen (2022:913) om sammanhållen vård- och omsorgsdokumentation: åtkomst till "
            "uppgifter hos andra vårdgivare och omsorgsgivare, samtycke, spärr och nödsituation.",
            "Socialstyrelsens föreskrifter och allmänna råd (HSLF-FS 2016:40) om journalföring och "
            "behandling av personuppgifter i hälso- och sjukvård: bland annat behörigheter, stark "
            "autentisering och kontroll av loggar.",
            "Patientsäkerhetslagen (2010:659) om tystnadsplikt hos privata vårdgivare och "
            "brottsbalken (1962:700) om brott mot tystnadsplikt och dataintrång.",
        ],
    ),
]


def agreement_text() -> str:
    """The whole agreement as plain text: the title, then each heading followed by its paragraphs,
    separated by blank lines. This is the text a user accepts and the input of the digest."""
    blocks = [AGREEMENT_TITLE]
    for heading, paragraphs in AGREEMENT_SECTIONS:
        blocks.append(heading)
        blocks.extend(paragraphs)
    return "\n\n".join(blocks) + "\n"


def agreement_digest() -> str:
    """SHA-256 (hex) of `agreement_text()`, stored with an acceptance to pin the exact text read."""
    return hashlib.sha256(agreement_text().encode("utf-8")).hexdigest()


def format_personnummer(value: str | None) -> str:
    """A 12-digit personnummer as YYYYMMDD-NNNN; anything else is shown unchanged."""
    if value and len(value) == 12 and value.isascii() and value.isdigit():
        return f"{value[:8]}-{value[8:]}"
    return value or ""


def agreement_pdf(
    *,
    user: User,
    valid_from: dt.date,
    valid_until: dt.date | None,
    place: str = "",
    produced_by: str = "",
    printed_at: dt.datetime | None = None,
) -> bytes:
    """The agreement filled in for `user` as an A4 PDF to sign in ink, with the authorisation window
    `valid_from`–`valid_until` ("tills vidare" when open-ended), `place` prefilled on the signature
    line, and every page marked with when and by whom it was printed (R87)."""
    # Imported here: WeasyPrint needs the system's Pango libraries, which a machine that never
    # makes PDFs need not have.
    import weasyprint

    printed = timezone.localtime(printed_at or timezone.now(), PRINT_TIME_ZONE)
    context = {
        "title": AGREEMENT_TITLE,
        "version": AGREEMENT_VERSION,
        "digest": agreement_digest(),
        "sections": AGREEMENT_SECTIONS,
        "name": f"{user.first_name} {user.last_name}".strip(),
        "personnummer": format_personnummer(user.personnummer),
        "username": user.username,
        "job_title": user.title,
        "workplace": user.workplace,
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else "",
        "place": place,
        "produced_by": produced_by,
        "printed_at": printed.strftime("%Y-%m-%d %H:%M"),
    }
    # The form is the Swedish legal text whatever language the person printing it has chosen.
    with translation.override("sv"):
        html = render_to_string("accounts/agreement_pdf.html", context)
    # No base URL and a fetcher that allows no scheme at all: the document needs nothing from
    # outside (fonts come from the system's fontconfig), and user data can never make it fetch.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf()
    return pdf
