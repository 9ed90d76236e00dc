"""The dotted action codes of audit events, with the plain Swedish words shown to reviewers and
in patient log extracts. The column holds the code, so adding an action needs no migration."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Authentication and sessions (R22)
    LOGIN = "auth.login", _("Inloggning")
    LOGIN_FAILED = "auth.login_failed", _("Misslyckad inloggning")
    LOGIN_REFUSED = "auth.login_refused", _("Nekad inloggning")
    LOCKED_OUT = "auth.locked_out", _("Konto spärrat efter för många försök")
    LOGOUT = "auth.logout", _("Utloggning")
    SESSION_IDLE_TIMEOUT = "auth.session_idle_timeout", _("Sessionen avslutad efter inaktivitet")
    SESSION_EXPIRED = "auth.session_expired", _("Sessionen har nått sin längsta livstid")
    SESSION_REFUSED = (
        "auth.session_refused",
        _("Sessionen avslutad: kontot eller uppdraget gäller inte"),
    )
    SESSION_ENDED = "auth.session_ended", _("Session avslutad av användare eller administratör")
    REAUTHENTICATED = "auth.reauthenticated", _("Förnyad inloggning")
    REAUTH_FAILED = "auth.reauth_failed", _("Misslyckad förnyad inloggning")
    MFA_ENROLLED = "auth.mfa_enrolled", _("Tvåfaktorsinloggning aktiverad")
    MFA_VERIFIED = "auth.mfa_verified", _("Engångskod godkänd")
    MFA_FAILED = "auth.mfa_failed", _("Fel engångskod")
    MFA_RESET = "auth.mfa_reset", _("Tvåfaktorsinloggning återställd")
    PASSWORD_CHANGED = "auth.password_changed", _("Lösenord bytt")
    PASSWORD_CHANGE_FAILED = "auth.password_change_failed", _("Lösenordsbyte nekat")
    PASSWORD_RESET_STARTED = "auth.password_reset_started", _("Lösenordsåterställning påbörjad")
    PASSWORD_RESET_USED = "auth.password_reset_used", _("Lösenord satt med engångskod")
    ASSIGNMENT_CHOSEN = "auth.assignment_chosen", _("Uppdrag valt")
    AGREEMENT_ACCEPTED = "auth.agreement_accepted", _("Användaravtal godkänt")

    # User administration (R8)
    USER_CREATED = "user.created", _("Användare skapad")
    USER_UPDATED = "user.updated", _("Användare ändrad")
    USER_DEACTIVATED = "user.deactivated", _("Användare avaktiverad")
    USER_REACTIVATED = "user.reactivated", _("Användare återaktiverad")
    USER_UNLOCKED = "user.unlocked", _("Användare upplåst")
    USER_SUSPENDED = "user.suspended", _("Konto vilande")
    ASSIGNMENT_CREATED = "assignment.created", _("Medarbetaruppdrag beslutat")
    ASSIGNMENT_ENDED = "assignment.ended", _("Medarbetaruppdrag avslutat")
    ASSIGNMENT_SUSPENDED = "assignment.suspended", _("Medarbetaruppdrag vilande")
    RECERTIFICATION_RECORDED = "assignment.recertified", _("Uppföljning av behörigheter")
    # Separation of duties (R91): a privileged change is requested by one, decided by another.
    PRIVILEGE_REQUESTED = "privilege.requested", _("Ändrad administrativ behörighet begärd")
    PRIVILEGE_APPROVED = "privilege.approved", _("Begäran om administrativ behörighet godkänd")
    PRIVILEGE_REJECTED = "privilege.rejected", _("Begäran om administrativ behörighet avslagen")
    PRIVILEGE_CANCELLED = "privilege.cancelled", _("Begäran om administrativ behörighet återkallad")
    AGREEMENT_PUBLISHED = "agreement.published", _("Ny version av användaravtalet")
    AGREEMENT_PRINTED = "agreement.printed", _("Användaravtal utskrivet")
    # Machine clients of the API (issue 18)
    API_CLIENT_REGISTERED = "api_client.registered", _("API-klient registrerad")
    API_CLIENT_REVOKED = "api_client.revoked", _("API-klient återkallad")
    API_CLIENT_REFUSED = "api_client.refused", _("API-anrop med ogiltig nyckel nekat")
    API_CLIENT_RATE_LIMITED = "api_client.rate_limited", _("API-klient över sin anropsgräns")

    # Organisations
    PROVIDER_CREATED = "provider.created", _("Vårdgivare skapad")
    PROVIDER_UPDATED = "provider.updated", _("Vårdgivare ändrad")
    UNIT_CREATED = "unit.created", _("Enhet skapad")
    UNIT_UPDATED = "unit.updated", _("Enhet ändrad")
    ADDRESS_CREATED = "address.created", _("Leveransadress skapad")
    ADDRESS_UPDATED = "address.updated", _("Leveransadress ändrad")
    WAREHOUSE_CREATED = "warehouse.created", _("Lager skapat")
    WAREHOUSE_UPDATED = "warehouse.updated", _("Lager ändrat")
    HISTORY_VIEWED = "history.viewed", _("Ändringshistorik visad")

    # Catalogue (sortiment)
    ARTICLE_CREATED = "article.created", _("Artikel skapad")
    ARTICLE_CHANGED = "article.changed", _("Artikel ändrad")
    ARTICLES_IMPORTED = "article.imported", _("Artiklar importerade från fil")
    SUPPLIER_CREATED = "supplier.created", _("Leverantör skapad")
    SUPPLIER_CHANGED = "supplier.changed", _("Leverantör ändrad")
    SUBSTITUTION_GROUP_CREATED = "substitution_group.created", _("Ersättningsgrupp skapad")
    SUBSTITUTION_GROUP_CHANGED = "substitution_group.changed", _("Ersättningsgrupp ändrad")
    ISO_CLASS_CREATED = "iso_class.created", _("ISO-klass skapad")
    ISO_CLASS_CHANGED = "iso_class.changed", _("ISO-klass ändrad")

    # Patients (R32–R57)
    PATIENT_READ = "patient.read", _("Patientuppgifter lästa")
    PATIENT_LISTED = "patient.listed", _("Patienten visad i en träfflista")
    PATIENT_SEARCHED = "patient.searched", _("Sökning efter patient")
    PATIENT_SEARCH_OUTSIDE = "patient.search_outside", _("Sökning utanför vårdrelation")
    PATIENT_ACCESS_DENIED = "patient.access_denied", _("Åtkomst till patient nekad")
    PATIENT_CROSS_PROVIDER_READ = (
        "patient.cross_provider_read",
        _("Uppgifter från annan vårdgivare lästa"),
    )
    PATIENT_CREATED = "patient.created", _("Patient registrerad")
    PATIENT_CORRECTED = "patient.corrected", _("Patientuppgift rättad")
    NEED_DOCUMENTED = "patient.need_documented", _("Behov dokumenterat (utan vårdrelation)")
    EMERGENCY_STARTED = "patient.emergency_started", _("Nödåtkomst öppnad")
    EMERGENCY_PATIENT_NAMED = (
        "patient.emergency_named",
        _("Patientens namn visat i nödåtkomstformuläret"),
    )
    EMERGENCY_ENDED = "patient.emergency_ended", _("Nödåtkomst avslutad")
    EMERGENCY_REVIEWED = "patient.emergency_reviewed", _("Nödåtkomst granskad")
    EMERGENCY_ESCALATED = "patient.emergency_escalated", _("Ogranskad nödåtkomst eskalerad")
    RELATIONSHIP_CREATED = "relationship.created", _("Vårdrelation registrerad")
    RELATIONSHIP_ENDED = "relationship.ended", _("Vårdrelation avslutad")
    CONSENT_REGISTERED = "consent.registered", _("Samtycke registrerat")
    CONSENT_ENDED = "consent.ended", _("Samtycke avslutat")
    CONSENT_CANCELLED = "consent.cancelled", _("Samtycke makulerat")
    BLOCK_REGISTERED = "block.registered", _("Spärr registrerad")
    BLOCK_REFUSED = "block.refused", _("Begäran om spärr avslagen")
    BLOCK_LIFTED = "block.lifted", _("Spärr hävd")
    BLOCK_CANCELLED = "block.cancelled", _("Spärr makulerad")
    BLOCK_TEMPORARILY_LIFTED = "block.temporarily_lifted", _("Spärr tillfälligt hävd")
    BLOCK_PROVIDERS_REVEALED = (
        "block.providers_revealed",
        _("Vårdgivare med spärrade uppgifter visade"),
    )
    PROTECTION_CHANGED = "patient.protection_changed", _("Skyddad identitet ändrad")
    PROTECTED_STAFF_NAMED = (
        "patient.protected_staff_named",
        _("Personal namngiven för skyddad patient"),
    )
    PROTECTED_STAFF_REMOVED = "patient.protected_staff_removed", _("Namngiven personal borttagen")
    # Population-register events (folkbokföringshändelser, issue 18 point 4)
    REGISTER_EVENT_APPLIED = "register.event_applied", _("Händelse från folkbokföringen införd")
    REGISTER_EVENT_REPEATED = (
        "register.event_repeated",
        _("Händelse från folkbokföringen redan behandlad"),
    )
    REGISTER_EVENT_UNMATCHED = (
        "register.event_unmatched",
        _("Händelse från folkbokföringen utan känd patient"),
    )
    REGISTER_EVENT_REJECTED = (
        "register.event_rejected",
        _("Händelse från folkbokföringen avvisad"),
    )

    # Devices: stock, orders, loans, pick-ups, losses (issue 7)
    STOCK_RECEIVED = "stock.received", _("Inleverans till lager")
    STOCK_COUNTED = "stock.counted", _("Inventering registrerad")
    ITEM_RECONDITIONED = "item.reconditioned", _("Individ rekonditionerad")
    ITEM_SCRAPPED = "item.scrapped", _("Individ skrotad")
    ITEM_VIEWED = "item.viewed", _("Individkort visat")
    ITEM_OUT_OF_USE = "item.out_of_use", _("Individ tagen ur bruk")
    ITEM_BACK_IN_USE = "item.back_in_use", _("Individ åter i bruk")

    # The technicians' desk (DOMAIN.md §3.4)
    WORKORDER_CREATED = "workorder.created", _("Arbetsorder registrerad")
    WORKORDER_CHANGED = "workorder.changed", _("Arbetsorder ändrad")
    WORKORDER_VIEWED = "workorder.viewed", _("Arbetsorder visad")
    WORKORDER_REPORTED = "workorder.reported", _("Teknikerns rapport sparad")
    WORKORDER_APPROVED = "workorder.approved", _("Kostnadsförslag godkänt")
    WORKORDER_PART_USED = "workorder.part_used", _("Reservdel använd")
    WORKORDER_ATTACHMENT_ADDED = "workorder.attachment_added", _("Bilaga bifogad")
    WORKORDER_ATTACHMENT_VIEWED = "workorder.attachment_viewed", _("Bilaga visad")
    WORKORDER_LETTER_PRINTED = "workorder.letter_printed", _("Kallelse till besiktning utskriven")
    INSPECTION_RECORDED = "inspection.recorded", _("Besiktning registrerad")
    INSPECTION_REMINDED = "inspection.reminded", _("Påminnelse om besiktning skickad")
    INSPECTION_PLAN_SAVED = "inspection.plan_saved", _("Besiktningsplan sparad")
    BUFFER_LEVEL_SET = "buffer.level_set", _("Säkerhetsnivå i buffertförråd ändrad")
    # The quality desk: deviations, reports out, supplier complaints (DOMAIN.md §3.5)
    DEVIATION_REPORTED = "deviation.reported", _("Avvikelse rapporterad")
    DEVIATION_CHANGED = "deviation.changed", _("Avvikelse ändrad")
    DEVIATION_VIEWED = "deviation.viewed", _("Avvikelse visad")
    DEVIATION_IDENTITY_OPENED = (
        "deviation.identity_opened",
        _("Patientens identitet i avvikelse visad med angivet skäl"),
    )
    DEVIATION_LABEL_PRINTED = "deviation.label_printed", _("Spärretikett utskriven")
    INCIDENT_REPORT_PRODUCED = (
        "incident_report.produced",
        _("Anmälan av allvarlig händelse framtagen"),
    )
    INCIDENT_REPORT_SENT = "incident_report.sent", _("Anmälan markerad som skickad")
    COMPLAINT_CREATED = "complaint.created", _("Reklamation registrerad")
    COMPLAINT_CHANGED = "complaint.changed", _("Reklamation ändrad")
    ORDER_PLACED = "order.created", _("Order registrerad")
    ORDER_CANCELLED = "order.cancelled", _("Order makulerad")
    ORDER_LINE_CANCELLED = "order.line_cancelled", _("Orderrad makulerad")
    ORDER_PICKED = "order.picked", _("Orderrad plockad")
    ORDER_DELIVERED = "order.delivered", _("Order levererad")
    ORDER_DELIVERY_FAILED = "order.delivery_failed", _("Bomkörning")
    ORDER_VIEWED = "order.viewed", _("Order visad")
    PICKLIST_PRINTED = "order.picklist_viewed", _("Plocklista visad")
    BACKORDER_FILLED = "order.backorder_filled", _("Restnoterad rad reserverad")
    LOAN_STARTED = "loan.created", _("Utlåning påbörjad")
    HOLDINGS_VIEWED = "loan.holdings_viewed", _("Hjälpmedelsinnehav visat")
    PICKUP_REGISTERED = "pickup.created", _("Hämtorder registrerad")
    PICKUP_COLLECTED = "pickup.collected", _("Hämtning registrerad")
    PICKUP_RECEIVED = "pickup.received", _("Retur mottagen")
    PICKUP_CANCELLED = "pickup.cancelled", _("Hämtorder makulerad")
    PICKUP_PROPOSED = "pickup.proposed", _("Hämtning föreslagen (patienten avliden)")
    PICKUP_VIEWED = "pickup.viewed", _("Hämtorder visad")
    LOSS_REPORTED = "loss.created", _("Förlust anmäld")
    LOSS_FOUND = "loss.found", _("Förkommet hjälpmedel återfunnet")
    RECALL_LISTED = "recall.listed", _("Återkallelselista tagen fram")
    ORDER_TEMPLATE_SAVED = "order.template_saved", _("Beställningsmall sparad")
    # Returns, reservations and letters (issue 16 points 4-6)
    CONDITION_RECORDED = "pickup.condition_recorded", _("Skick vid retur registrerat")
    CONDITION_PHOTO_VIEWED = "pickup.condition_photo_viewed", _("Foto av skick visat")
    RESERVATION_CREATED = "reservation.created", _("Individ reserverad")
    RESERVATION_CANCELLED = "reservation.cancelled", _("Reservation avbruten")
    RESERVATION_EXPIRED = "reservation.expired", _("Reservation utgången")
    RESERVATION_USED = "reservation.used", _("Reserverad individ utlämnad")
    RETURN_LETTER_PRINTED = "loan.return_letter_printed", _("Brev om återlämning utskrivet")
    # Safety notices as campaigns (issue 15 point 4)
    LOT_BLOCKED = "stock.lot_blocked", _("Batch spärrad")
    LOT_UNBLOCKED = "stock.lot_unblocked", _("Spärr av batch hävd")
    CAMPAIGN_CREATED = "campaign.created", _("Säkerhetskampanj skapad")
    CAMPAIGN_DEVICE_SET = "campaign.device_set", _("Status i säkerhetskampanj ändrad")
    CAMPAIGN_VIEWED = "campaign.viewed", _("Säkerhetskampanj visad")
    CAMPAIGN_CLOSED = "campaign.closed", _("Säkerhetskampanj avslutad")
    # The economy desk's reference data (issue 14 points 1-3) and patients' housing
    CUSTOMER_CHANGED = "billing.customer_changed", _("Kund ändrad")
    COST_CENTRE_CREATED = "billing.cost_centre_created", _("Kostnadsställe skapat")
    COST_CENTRE_CHANGED = "billing.cost_centre_changed", _("Kostnadsställe ändrat")
    UNIT_COST_CENTRE_SET = "billing.unit_cost_centre_set", _("Enhetens kostnadsställe ändrat")
    PRICE_LIST_CREATED = "billing.price_list_created", _("Prislista skapad")
    PRICE_LIST_CHANGED = "billing.price_list_changed", _("Prislista ändrad")
    PAYER_RULE_CREATED = "billing.payer_rule_created", _("Betalarregel skapad")
    PAYER_RULE_CHANGED = "billing.payer_rule_changed", _("Betalarregel ändrad")
    PAYER_SHOWN = "billing.payer_shown", _("Betalare för ett lån visad")
    HOUSING_REGISTERED = "billing.housing_registered", _("Boendeform registrerad")
    # The monthly billing run (issue 14 point 4)
    BILLING_RUN_STARTED = "billing.run_started", _("Debiteringskörning startad")
    BILLING_RUN_COMPUTED = "billing.run_computed", _("Debiteringskörning beräknad")
    BILLING_RUN_FAILED = "billing.run_failed", _("Debiteringskörning misslyckades")
    BILLING_RUN_DISCARDED = "billing.run_discarded", _("Debiteringskörning kastad")
    BILLING_RUN_LOCKED = "billing.run_locked", _("Debiteringskörning godkänd och låst")
    BILLING_RUN_VERIFIED = "billing.run_verified", _("Debiteringskörning kontrollräknad")
    BILLING_CORRECTED = "billing.corrected", _("Debiteringsrad rättad")
    BILLING_LINES_SEARCHED = "billing.lines_searched", _("Debiteringsrader sökta för patient")
    # The economy desk's invoice basis out (issue 14 point 5)
    INVOICE_BASIS_EXPORTED = "billing.invoice_basis_exported", _("Fakturaunderlag hämtat")
    # Statistics (issue 17): scheduled reports ordered, ended and delivered
    REPORT_SUBSCRIBED = "reports.subscribed", _("Rapport beställd")
    REPORT_SUBSCRIPTION_ENDED = "reports.subscription_ended", _("Rapportbeställning avslutad")
    REPORT_DELIVERED = "reports.delivered", _("Schemalagd rapport levererad")

    # The audit trail itself (R70, R73)
    AUDIT_SEARCHED = "audit.searched", _("Sökning i loggen")
    AUDIT_CROSS_PROVIDER_REPORT = (
        "audit.cross_provider_report",
        _("Rapport om åtkomst mellan vårdgivare"),
    )
    AUDIT_ENTRY_VIEWED = "audit.entry_viewed", _("Logghändelse visad")
    AUDIT_PRUNED = "audit.pruned", _("Gallring av logg")
    AUDIT_EXPORTED = "audit.exported", _("Logg exporterad")
    REVIEW_STARTED = "review.started", _("Loggkontroll påbörjad")
    REVIEW_VERDICT = "review.verdict", _("Bedömning i loggkontroll")
    REVIEW_CLOSED = "review.closed", _("Loggkontroll avslutad")
    REVIEW_SCHEDULE_SET = "review.schedule_set", _("Schema för loggkontroll ändrat")
    EXTRACT_REQUESTED = "extract.requested", _("Begäran om loggutdrag registrerad")
    EXTRACT_PRODUCED = "extract.produced", _("Loggutdrag framtaget")
    EXTRACT_DELIVERED = "extract.delivered", _("Loggutdrag lämnat")
    AUDIT_PROOF_ISSUED = "audit.proof_issued", _("Bevis ur loggkedjan utfärdat")
    AUDIT_SETTINGS_CHANGED = "audit.settings_changed", _("Logginställning ändrad")
    ACCESS_DENIED = "access.denied", _("Åtkomst nekad")
