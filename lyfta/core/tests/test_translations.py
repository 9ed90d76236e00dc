"""The English translation (docs/decisions/0001): every Swedish source string in the catalogue
has an English translation, the committed .mo says what the .po says, and a signed-in user who
picks English gets English pages."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import Persona, signed_in

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"

# Python format placeholders (%(name)s, %s, %d, %%), str.format fields ({0}, {name}) and HTML tags:
# a translation must keep each of them, or rendering breaks.
PLACEHOLDER = re.compile(r"%\([^)]+\)[sdif]|%[sdif%]|\{[\w.]*\}|<[^>]+>")


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"django.po:{self.line} {self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """The entries of a gettext catalogue, header included, obsolete (#~) entries left out. Only
    the standard library: a plain reader of the format msgmerge writes."""
    entries: list[Entry] = []
    current: Entry | None = None
    keyword: tuple[str, int] = ("", 0)
    pending_flags: set[str] = set()

    def append(target: Entry, text: str) -> None:
        name, index = keyword
        if name == "msgctxt":
            target.msgctxt = (target.msgctxt or "") + text
        elif name == "msgid":
            target.msgid += text
        elif name == "msgid_plural":
            target.msgid_plural = (target.msgid_plural or "") + text
        else:
            target.msgstr[index] = target.msgstr.get(index, "") + text

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            pending_flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$', line)
        if match:
            name, index, quoted = match.group(1), int(match.group(2) or 0), match.group(3)
            if name in ("msgctxt", "msgid") and (current is None or current.msgstr):
                current = Entry(line=number, flags=pending_flags)
                pending_flags = set()
                entries.append(current)
            assert current is not None, f"django.po:{number}: {name} before msgid"
            keyword = (name, index)
            append(current, ast.literal_eval(quoted))
        elif line.startswith('"') and current is not None:
            append(current, ast.literal_eval(line))
        else:
            raise AssertionError(f"django.po:{number}: cannot read {raw!r}")
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert PO.exists(), f"{PO} is missing: run manage.py makemessages -l en"
    parsed = parse_po(PO)
    assert parsed and parsed[0].msgid == "", "the catalogue has no header"
    return parsed


@pytest.fixture(scope="module")
def messages(entries: list[Entry]) -> list[Entry]:
    return entries[1:]


def test_catalogue_header(entries: list[Entry]) -> None:
    """A fuzzy header is ignored by msgfmt, and with it the plural rule."""
    header = entries[0]
    assert "fuzzy" not in header.flags
    assert "Language: en\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]


def test_every_string_is_translated(messages: list[Entry]) -> None:
    assert len(messages) > 900
    untranslated = [
        e.label
        for e in messages
        if not e.msgstr
        or not all(s.strip() for s in e.msgstr.values())
        or (e.msgid_plural is not None and sorted(e.msgstr) != [0, 1])
    ]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"


def test_no_fuzzy_translations(messages: list[Entry]) -> None:
    fuzzy = [e.label for e in messages if "fuzzy" in e.flags]
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"


def test_translations_keep_placeholders_and_markup(messages: list[Entry]) -> None:
    broken = []
    for e in messages:
        sources = [e.msgid] if e.msgid_plural is None else [e.msgid, e.msgid_plural]
        for index, text in e.msgstr.items():
            source = sources[min(index, len(sources) - 1)]
            if placeholders(text) != placeholders(source):
                broken.append(f"{e.label} → {text!r}")
    assert not broken, broken


def test_compiled_catalogue_matches_po(messages: list[Entry]) -> None:
    """The .mo is committed (no gettext tools at run time), so it must say what the .po says:
    a .po edited without `manage.py compilemessages` fails here."""
    assert MO.exists(), f"{MO} is missing: run manage.py compilemessages"
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in messages:
        if "fuzzy" in e.flags or not all(e.msgstr.values()):
            continue  # msgfmt leaves these out; the tests above report them
        if e.msgid_plural is not None:
            for n, index in ((1, 0), (2, 1)):
                if e.msgctxt is None:
                    got = compiled.ngettext(e.msgid, e.msgid_plural, n)
                else:
                    got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                if got != e.msgstr.get(index):
                    stale.append(e.label)
        else:
            if e.msgctxt is None:
                got = compiled.gettext(e.msgid)
            else:
                got = compiled.pgettext(e.msgctxt, e.msgid)
            if got != e.msgstr.get(0):
                stale.append(e.label)
    assert not stale, f"django.mo is older than django.po for {len(stale)}: {stale[:20]}"


def test_key_strings_in_english() -> None:
    with translation.override("en"):
        assert translation.gettext("Förskrivare") == "Prescriber"
        assert translation.gettext("Hjälpmedelscentral") == "Assistive device centre"
        assert translation.gettext("Logga ut") == "Sign out"
        assert (
            translation.ngettext(
                "%(n)s nödåtkomst väntar på bedömning.",
                "%(n)s nödåtkomster väntar på bedömning.",
                3,
            )
            % {"n": 3}
            == "3 emergency accesses are awaiting assessment."
        )
    with translation.override("sv"):
        assert translation.gettext("Logga ut") == "Logga ut"


@pytest.fixture
def _restore_language() -> Iterator[None]:
    """Requests activate their language in this thread; leave it as it was for other tests."""
    with translation.override(translation.get_language()):
        yield


@pytest.mark.usefixtures("_restore_language")
def test_switching_to_english_translates_the_start_page(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    page = client.get(reverse("start")).content.decode()
    assert '<html lang="sv">' in page
    assert "Välkommen, Alice" in page

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("start")})
    assert response.status_code == 302
    page = client.get(reverse("start")).content.decode()
    assert '<html lang="en">' in page
    assert "Welcome, Alice" in page
    assert "Välkommen" not in page
    assert "Sign out" in page

    client.post(reverse("set_language"), {"language": "sv", "next": reverse("start")})
    page = client.get(reverse("start")).content.decode()
    assert '<html lang="sv">' in page
    assert "Välkommen, Alice" in page


def _catalogue_ids() -> set[str]:
    import re
    from pathlib import Path

    po = (Path(__file__).resolve().parents[2] / "locale/en/LC_MESSAGES/django.po").read_text()
    return {
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', found.group(1)))
        for found in re.finditer(r'^msgid ((?:"(?:[^"\\]|\\.)*"\n)+)', po, flags=re.M)
    }


def test_every_string_marked_for_translation_has_an_english_entry() -> None:
    """A string marked in the code or a template but missing from the catalogue shows in
    Swedish on the English side, and no other test notices (the technicians' desk shipped 160
    such strings once)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    known = _catalogue_ids()
    missing = []
    call = re.compile(r'\b(?:_|gettext|gettext_lazy|ngettext)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)[,)]')
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for found in call.finditer(path.read_text()):
            text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', found.group(1)))
            if text not in known:
                missing.append(f"{path.relative_to(root)}: {text}")
    tag = re.compile(r"{%\s*translate\s+(?:\"([^\"]*)\"|'([^']*)')")
    block = re.compile(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*(?:plural|endblocktranslate)", re.S)
    for path in root.rglob("*.html"):
        template = path.read_text()
        for found in tag.finditer(template):
            text = found.group(1) if found.group(1) is not None else found.group(2)
            if text not in known:
                missing.append(f"{path.relative_to(root)}: {text}")
        for found in block.finditer(template):
            text = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", found.group(1))
            if text not in known:
                missing.append(f"{path.relative_to(root)}: {text}")
    assert missing == [], "append English entries to lyfta/locale/en/LC_MESSAGES/django.po"
