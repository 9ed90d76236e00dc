"""Writes to the assortment: articles, suppliers, substitution groups and ISO classes, and the
article file import. Each is validated, kept by the catalogue manager, and audited with its
before and after values in the same transaction. Articles are never deleted: they are taken out
of the assortment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import diff, record, snapshot
from lyfta.catalogue import imports
from lyfta.catalogue.imports import ImportResult, Row, RowError
from lyfta.catalogue.models import (
    DEFAULT_LEAD_TIME,
    Article,
    IsoClass,
    SubstitutionGroup,
    Supplier,
    iso_parent_code,
    normalise_iso_code,
)

M = TypeVar("M", bound=models.Model)

ARTICLE_FIELDS = (
    "article_number",
    "name",
    "iso_class",
    "supplier",
    "supplier_article_number",
    "billing_type",
    "price_group",
    "monthly_rent",
    "price",
    "tracked",
    "delivery_class",
    "lead_time_days",
    "substitution_group",
    "maintenance_interval_months",
    "warranty_months",
    "cost_class",
    "in_assortment",
)
SUPPLIER_FIELDS = ("name", "organisation_number", "phone", "email", "active")
GROUP_FIELDS = ("name", "fixed")
ISO_FIELDS = ("code", "name", "parent", "level")

_TEXT_FIELDS = frozenset(
    {"article_number", "name", "supplier_article_number", "price_group"}
    | {"organisation_number", "phone", "email"}
)
_MONEY_FIELDS = ("monthly_rent", "price")
CENT = Decimal("0.01")


def _tidy(data: dict[str, Any]) -> dict[str, Any]:
    """Input as it is stored: text stripped, amounts in whole öre (so that "100" and "100.00"
    are the same value and an unchanged price is not recorded as a change)."""
    result = dict(data)
    for name, value in result.items():
        if isinstance(value, str) and name in _TEXT_FIELDS:
            result[name] = value.strip()
        elif name in _MONEY_FIELDS and isinstance(value, Decimal) and value.is_finite():
            result[name] = value.quantize(CENT) if value == value.quantize(CENT) else value
    return result


def _only(data: dict[str, Any], fields: tuple[str, ...]) -> None:
    unknown = set(data) - set(fields)
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")


def _create(actor: Actor, instance: M, fields: tuple[str, ...], action: str) -> M:
    require(actor, Cap.CATALOGUE_MANAGE)
    with transaction.atomic():
        instance.full_clean()
        instance.save(force_insert=True)
        record(
            action=action,
            actor=actor,
            target=instance,
            changes=diff({}, snapshot(instance, fields)),
        )
    return instance


def _update(
    actor: Actor, instance: M, fields: tuple[str, ...], action: str, data: dict[str, Any]
) -> M:
    _only(data, fields)
    require(actor, Cap.CATALOGUE_MANAGE, target=instance)
    with transaction.atomic():
        locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        before = snapshot(locked, fields)
        for name, value in data.items():
            setattr(locked, name, value)
        locked.full_clean()
        changes = diff(before, snapshot(locked, fields))
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
            record(action=action, actor=actor, target=locked, changes=changes)
    return locked


# --- Articles -------------------------------------------------------------------------------------


def default_lead_time(delivery_class: str) -> int | None:
    """Working days from order to delivery for a stock item of `delivery_class`; None for an
    order item, whose lead time is the supplier's."""
    return DEFAULT_LEAD_TIME.get(delivery_class)


def _accessory_numbers(article: Article) -> list[str]:
    return sorted(article.accessories.values_list("article_number", flat=True))


def _check_accessories(article: Article, accessories: Iterable[Article] | None) -> list[Article]:
    chosen = list(accessories or ())
    if article.pk is not None and any(a.pk == article.pk for a in chosen):
        raise ValidationError(
            {"accessories": _("En artikel kan inte vara tillbehör till sig själv.")}
        )
    return chosen


def _insert_article(
    actor: Actor,
    article: Article,
    accessories: list[Article],
    detail: dict[str, Any] | None = None,
) -> None:
    """Save a validated new article and record it."""
    article.save(force_insert=True)
    changes = diff({}, snapshot(article, ARTICLE_FIELDS))
    if accessories:
        article.accessories.set(accessories)
        changes["accessories"] = [[], _accessory_numbers(article)]
    record(
        action=Action.ARTICLE_CREATED, actor=actor, target=article, changes=changes, detail=detail
    )


def _save_article_changes(
    actor: Actor,
    article: Article,
    before: dict[str, Any],
    accessories: list[Article] | None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Save the changed fields of a validated, locked article and record them; whether anything
    changed."""
    changes = diff(before, snapshot(article, ARTICLE_FIELDS))
    if changes:
        article.save(update_fields=[*changes, "updated_at"])
    if accessories is not None:
        old = _accessory_numbers(article)
        article.accessories.set(accessories)
        new = _accessory_numbers(article)
        if old != new:
            changes["accessories"] = [old, new]
            if len(changes) == 1:
                article.save(update_fields=["updated_at"])
    if changes:
        record(
            action=Action.ARTICLE_CHANGED,
            actor=actor,
            target=article,
            changes=changes,
            detail=detail,
        )
    return bool(changes)


def article_create(*, actor: Actor, accessories: Iterable[Article] = (), **data: Any) -> Article:
    """Add an article to the assortment. Without a lead time a stock item gets its delivery
    class's (high-priority 1, stock 3 working days); an order item needs the supplier's."""
    _only(data, ARTICLE_FIELDS)
    require(actor, Cap.CATALOGUE_MANAGE)
    data = _tidy(data)
    if data.get("lead_time_days") is None:
        data["lead_time_days"] = default_lead_time(data.get("delivery_class") or "")
    with transaction.atomic():
        article = Article(**data)
        chosen = _check_accessories(article, accessories)
        article.full_clean()
        _insert_article(actor, article, chosen)
    return article


def article_update(
    *,
    actor: Actor,
    article: Article,
    accessories: Iterable[Article] | None = None,
    **data: Any,
) -> Article:
    """Change an article's fields (and, when given, its accessories); only changed fields are
    recorded, and nothing at all when nothing changed."""
    _only(data, ARTICLE_FIELDS)
    require(actor, Cap.CATALOGUE_MANAGE, target=article)
    data = _tidy(data)
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        before = snapshot(locked, ARTICLE_FIELDS)
        for name, value in data.items():
            setattr(locked, name, value)
        if "lead_time_days" in data and data["lead_time_days"] is None:
            locked.lead_time_days = default_lead_time(locked.delivery_class)  # type: ignore[assignment]
        chosen = None if accessories is None else _check_accessories(locked, accessories)
        locked.full_clean()
        _save_article_changes(actor, locked, before, chosen)
    return locked


def article_withdraw(*, actor: Actor, article: Article) -> Article:
    """Take an article out of the assortment (utgått): it can no longer be ordered, while its
    items, loans and invoices keep it."""
    return article_update(actor=actor, article=article, in_assortment=False)


def article_reinstate(*, actor: Actor, article: Article) -> Article:
    """Put an article back into the assortment."""
    return article_update(actor=actor, article=article, in_assortment=True)


# --- Suppliers, substitution groups, ISO classes ----------------------------------------------


def _orgno(data: dict[str, Any]) -> dict[str, Any]:
    number = data.get("organisation_number")
    if isinstance(number, str) and number.isascii() and number.isdigit() and len(number) == 10:
        data["organisation_number"] = f"{number[:6]}-{number[6:]}"
    return data


def supplier_create(*, actor: Actor, **data: Any) -> Supplier:
    """Register a supplier."""
    _only(data, SUPPLIER_FIELDS)
    data = _orgno(_tidy(data))
    return _create(actor, Supplier(**data), SUPPLIER_FIELDS, Action.SUPPLIER_CREATED)


def supplier_update(*, actor: Actor, supplier: Supplier, **data: Any) -> Supplier:
    """Change a supplier's fields; an inactive supplier keeps its articles."""
    data = _orgno(_tidy(data))
    return _update(actor, supplier, SUPPLIER_FIELDS, Action.SUPPLIER_CHANGED, data)


def substitution_group_create(*, actor: Actor, **data: Any) -> SubstitutionGroup:
    """Create a substitution group (ersättningsgrupp)."""
    _only(data, GROUP_FIELDS)
    return _create(
        actor, SubstitutionGroup(**_tidy(data)), GROUP_FIELDS, Action.SUBSTITUTION_GROUP_CREATED
    )


def substitution_group_update(
    *, actor: Actor, group: SubstitutionGroup, **data: Any
) -> SubstitutionGroup:
    """Rename a substitution group or change whether it replaces automatically."""
    return _update(actor, group, GROUP_FIELDS, Action.SUBSTITUTION_GROUP_CHANGED, _tidy(data))


def iso_class_create(*, actor: Actor, code: str, name: str) -> IsoClass:
    """Add an ISO 9999 class under its parent (which must exist) with our own Swedish name. The
    level and parent follow from the code."""
    code = normalise_iso_code(code)
    parent_code = iso_parent_code(code)
    parent = IsoClass.objects.filter(code=parent_code).first() if parent_code else None
    if parent_code and parent is None:
        raise ValidationError(
            {
                "code": _("Överordnad klass %(code)s finns inte; lägg upp den först.")
                % {"code": parent_code}
            }
        )
    instance = IsoClass(code=code, name=name.strip(), parent=parent, level=len(code.split(" ")))
    return _create(actor, instance, ISO_FIELDS, Action.ISO_CLASS_CREATED)


def iso_class_update(*, actor: Actor, iso_class: IsoClass, name: str) -> IsoClass:
    """Rename an ISO class. Codes do not change: articles and statistics hang on them."""
    return _update(actor, iso_class, ISO_FIELDS, Action.ISO_CLASS_CHANGED, {"name": name.strip()})


# --- The article file import ----------------------------------------------------------------------


@dataclass
class _Planned:
    line: int
    article: Article
    before: dict[str, Any] | None  # None for a new article


# Optional columns: an empty cell clears them (to "" or None).
_CLEARABLE: dict[str, Any] = {
    "supplier_article_number": "",
    "price_group": "",
    "monthly_rent": None,
    "price": None,
    "substitution_group": None,
    "maintenance_interval_months": None,
}
_LOOKUP_COLUMNS = ("iso_code", "supplier", "substitution_group")


class _Lookups:
    """ISO classes, suppliers and substitution groups by the names a file uses for them."""

    def __init__(self) -> None:
        self.iso = {c.code: c for c in IsoClass.objects.all()}
        self.suppliers: dict[str, Supplier] = {}
        for supplier in Supplier.objects.all():
            self.suppliers[supplier.name.casefold()] = supplier
            if supplier.organisation_number:
                self.suppliers[supplier.organisation_number.replace("-", "")] = supplier
        self.groups = {g.name.casefold(): g for g in SubstitutionGroup.objects.all()}

    def find(self, column: str, raw: str) -> Any:
        if not raw:
            return None
        if column == "iso_code":
            code = normalise_iso_code(raw)
            iso = self.iso.get(code)
            if iso is None:
                raise imports.CellError(_("ISO-klassen %(v)s finns inte.") % {"v": raw})
            if iso.level != 3:
                raise imports.CellError(
                    _("ISO-klassen %(v)s är inte en produkttyp (tredje nivån, t.ex. 12 22 03).")
                    % {"v": raw}
                )
            return iso
        if column == "supplier":
            key = raw.casefold()
            supplier = self.suppliers.get(key) or self.suppliers.get(key.replace("-", ""))
            if supplier is None:
                raise imports.CellError(
                    _("Leverantören ”%(v)s” finns inte; lägg upp den först.") % {"v": raw}
                )
            return supplier
        group = self.groups.get(raw.casefold())
        if group is None:
            raise imports.CellError(
                _("Ersättningsgruppen ”%(v)s” finns inte; lägg upp den först.") % {"v": raw}
            )
        return group


def _locked_articles(numbers: list[str]) -> dict[str, Article]:
    """The existing articles of `numbers`, locked in primary-key order (one fixed order, so that
    two imports cannot deadlock), in chunks that every database accepts as parameters."""
    pks: list[int] = []
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        pks.extend(Article.objects.filter(article_number__in=chunk).values_list("pk", flat=True))
    found: dict[str, Article] = {}
    pks.sort()
    for start in range(0, len(pks), 500):
        for article in (
            Article.objects.select_for_update()
            .filter(pk__in=pks[start : start + 500])
            .order_by("pk")
        ):
            found[article.article_number] = article
    return found


def _plan_row(
    row: Row,
    existing: dict[str, Article],
    seen: dict[str, int],
    lookups: _Lookups,
) -> tuple[_Planned | None, list[RowError]]:
    """The article a row creates or changes, validated, or the row's errors."""
    line = row.line
    number = row.cells.get("article_number", "")
    if not number:
        return None, [RowError(line, _("Artikelnummer saknas."), "article_number")]
    if number in seen:
        return None, [
            RowError(
                line,
                _("Artikelnumret %(n)s finns redan på rad %(line)s i filen.")
                % {"n": number, "line": seen[number]},
                "article_number",
            )
        ]
    seen[number] = line
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for column, raw in row.cells.items():
        if column == "article_number":
            continue
        try:
            if column in _LOOKUP_COLUMNS:
                values[column] = lookups.find(column, raw)
            else:
                values[column] = imports.read_cell(column, raw)
        except imports.CellError as error:
            errors.append(RowError(line, str(error), column))
    article = existing.get(number)
    is_new = article is None
    if is_new:
        missing = [c for c in imports.REQUIRED if c != "article_number" and not row.cells.get(c)]
        errors.extend(
            RowError(line, _("Uppgiften saknas (krävs för en ny artikel)."), column)
            for column in missing
        )
    if errors:
        return None, errors
    if article is None:
        article = Article(article_number=number)
        before = None
    else:
        before = snapshot(article, ARTICLE_FIELDS)
    for column, value in values.items():
        name = imports.FIELD_OF.get(column, column)
        if value is not None:
            setattr(article, name, value)
        elif column in _CLEARABLE:
            setattr(article, name, _CLEARABLE[column])
        # An empty required cell: the model's default for a new article, unchanged otherwise.
    # An empty lead time: the delivery class's for a stock item; an order item's stays as it was
    # and a new one needs it.
    if values.get("lead_time_days") is None and (is_new or "lead_time_days" in values):
        default = default_lead_time(article.delivery_class)
        if default is not None:
            article.lead_time_days = default
        elif is_new:
            return None, [
                RowError(
                    line,
                    _("Ange leveranstiden i arbetsdagar för en beställningsvara."),
                    "lead_time_days",
                )
            ]
    try:
        # The looked-up objects come from the database already; no need to query them again.
        article.full_clean(exclude=["iso_class", "supplier", "substitution_group"])
        if article.iso_class_id is None or article.supplier_id is None:
            raise ValidationError(_("ISO-klass och leverantör måste anges."))
    except ValidationError as error:
        return None, _row_errors(line, error)
    return _Planned(line, article, before), []


def _row_errors(line: int, error: ValidationError) -> list[RowError]:
    if not hasattr(error, "error_dict"):
        return [RowError(line, message) for message in error.messages]
    result: list[RowError] = []
    for name, messages in error.message_dict.items():
        column = imports.COLUMN_OF.get(name, name) if name != "__all__" else ""
        result.extend(RowError(line, message, column) for message in messages)
    return result


def article_import(*, actor: Actor, file: UploadedFile | IO[bytes]) -> ImportResult:
    """Create and update articles from a CSV file (see `lyfta.catalogue.imports` for the format).

    Every row is checked first and every bad row is reported with its line number; a file with
    any error changes nothing. A good file is saved in one transaction: new article numbers are
    created, existing ones updated, each audited, with one summary event for the file."""
    require(actor, Cap.CATALOGUE_MANAGE)
    rows, errors = imports.read_rows(file)
    result = ImportResult(rows=len(rows))
    if not rows:
        result.errors = errors
        return result
    name = str(getattr(file, "name", "") or "")
    try:
        with transaction.atomic():
            existing = _locked_articles(
                sorted({r.cells["article_number"] for r in rows if r.cells.get("article_number")})
            )
            lookups = _Lookups()
            seen: dict[str, int] = {}
            planned: list[_Planned] = []
            for row in rows:
                plan, row_errors = _plan_row(row, existing, seen, lookups)
                errors.extend(row_errors)
                if plan is not None:
                    planned.append(plan)
            if errors:
                result.errors = sorted(errors, key=lambda e: e.line)
                return result
            detail = {"source": "import"}
            for plan in planned:
                if plan.before is None:
                    _insert_article(actor, plan.article, [], detail)
                    result.created += 1
                elif _save_article_changes(actor, plan.article, plan.before, None, detail):
                    result.updated += 1
                else:
                    result.unchanged += 1
            record(
                action=Action.ARTICLES_IMPORTED,
                actor=actor,
                resource_type=Article._meta.label_lower,
                detail={
                    "file": name[:100],
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                },
            )
    except IntegrityError:
        # Another change of the same articles committed between the check and the save.
        return ImportResult(
            rows=len(rows),
            errors=[
                RowError(
                    0,
                    _(
                        "Artiklarna ändrades samtidigt av någon annan. Ingenting sparades; "
                        "försök igen."
                    ),
                )
            ],
        )
    return result
