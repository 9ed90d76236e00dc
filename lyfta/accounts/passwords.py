"""Lyfta's password policy as Django password validators (R13–R16), each refusal with a reason
in Swedish.

Length counts Unicode code points and nothing is stripped, truncated or case-folded (R14); there
are no composition rules (R15). Strength is zxcvbn's estimate with a Swedish dictionary (wordfreq)
and Lyfta's, the county's and the user's own words added (R16). Password history lives in
`password_history.py`."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SWEDISH_WORD_COUNT = 30_000
# zxcvbn's cost grows with the square of the length (up to ~70 ms at 64 characters, ~1 s at 256);
# a prefix this long that is already strong makes the whole password strong.
STRENGTH_PREFIX = 64

CONTEXT_WORDS = (
    "lyfta",
    "hjälpmedel",
    "hjälpmedelscentral",
    "hjälpmedelscentralen",
    "hjälpmedelsservice",
    "sesam",
    "websesam",
    "sesam2",
    "region",
    "regionen",
    "värmland",
    "kommun",
    "kommunen",
)

# Very common Swedish passwords (and Swedish favourites of the international lists), lowercased.
SWEDISH_COMMON_PASSWORDS = (
    "lösenord",
    "losenord",
    "lösen",
    "losen",
    "hemligt",
    "hemlig",
    "sesam",
    "hejsan",
    "hejhej",
    "hej",
    "hallå",
    "tjena",
    "tjenare",
    "välkommen",
    "valkommen",
    "sommar",
    "vinter",
    "höst",
    "vår",
    "våren",
    "hösten",
    "sommaren",
    "vintern",
    "midsommar",
    "julafton",
    "jul",
    "påsk",
    "nyår",
    "kärlek",
    "karlek",
    "älskling",
    "alskling",
    "jagälskardig",
    "mamma",
    "pappa",
    "mammapappa",
    "mormor",
    "farfar",
    "morfar",
    "farmor",
    "familjen",
    "fotboll",
    "hockey",
    "djurgården",
    "djurgarden",
    "dif",
    "hammarby",
    "bajen",
    "aik",
    "gnaget",
    "blåvitt",
    "blavitt",
    "ifkgöteborg",
    "malmöff",
    "färjestad",
    "farjestad",
    "fbk",
    "frölunda",
    "brynäs",
    "leksand",
    "sverige",
    "svenska",
    "svensk",
    "stockholm",
    "göteborg",
    "goteborg",
    "malmö",
    "malmo",
    "karlstad",
    "värmland",
    "varmland",
    "qwerty",
    "qwertyuiop",
    "qwertyuiopå",
    "asdfgh",
    "asdfghjklöä",
    "zxcvbnm",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "123123",
    "111111",
    "000000",
    "654321",
    "abc123",
    "qwerty123",
    "katten",
    "katt",
    "hunden",
    "hund",
    "blomma",
    "solsken",
    "sol",
    "jultomten",
    "tomten",
    "kalleanka",
    "pippi",
    "zlatan",
    "abba",
    "semester",
    "jobbet",
    "arbete",
    "bajskorv",
)

# Words people build "season or place plus year" passwords from (R16).
SEASONS_AND_DATES = (
    "vår",
    "våren",
    "sommar",
    "sommaren",
    "höst",
    "hösten",
    "vinter",
    "vintern",
    "jul",
    "julen",
    "julafton",
    "midsommar",
    "påsk",
    "påsken",
    "nyår",
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "aug",
    "sep",
    "sept",
    "okt",
    "nov",
    "dec",
    "måndag",
    "tisdag",
    "onsdag",
    "torsdag",
    "fredag",
    "lördag",
    "söndag",
)
PLACES = (
    "sverige",
    "värmland",
    "karlstad",
    "stockholm",
    "göteborg",
    "malmö",
    "uppsala",
    "västerås",
    "örebro",
    "linköping",
    "helsingborg",
    "jönköping",
    "norrköping",
    "lund",
    "umeå",
    "gävle",
    "borås",
    "eskilstuna",
    "södertälje",
    "halmstad",
    "växjö",
    "sundsvall",
    "luleå",
    "östersund",
    "falun",
    "dalarna",
    "skåne",
    "norrland",
    "gotland",
    "norge",
    "oslo",
)

# Small words that may join them ("sommar i Karlstad 2024").
JOINING_WORDS = ("i", "på", "och", "till", "från", "med", "vid", "hos", "av", "en", "ett", "min")
# Stripped before the season/place + year check.
SEPARATORS = re.compile(r"[\s\-_.!?,:;#*/+]+")
ENDS = re.compile(r"^[\d\W_]+|[\d\W_]+$")
REPEATED = re.compile(r"^(.+?)\1+$", re.DOTALL)
ASCII_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})

# zxcvbn's module-level dictionaries are shared by every call, and zxcvbn() itself rewrites its
# "user_inputs" entry before each match; calls from this module take turns.
_zxcvbn_lock = threading.Lock()


def _with_ascii_forms(words: Iterable[str]) -> list[str]:
    """`words` lowercased, each followed by its spelling without å, ä, ö (for US keyboards)."""
    out: list[str] = []
    for word in words:
        lower = word.lower()
        out.append(lower)
        folded = lower.translate(ASCII_FOLD)
        if folded != lower:
            out.append(folded)
    return list(dict.fromkeys(out))


@functools.lru_cache(maxsize=1)
def county_words() -> tuple[str, ...]:
    """Lyfta's context words and the county's municipality names."""
    # Imported here: the seed module imports models, and this module may load before the apps.
    from lyfta.organisations.seed import MUNICIPALITIES

    return tuple(_with_ascii_forms([*CONTEXT_WORDS, *MUNICIPALITIES]))


@functools.lru_cache(maxsize=1)
def swedish_dictionary() -> dict[str, int]:
    """The Swedish ranked dictionary, added once per process to zxcvbn's dictionaries as
    "swedish": the common Swedish passwords first, then the most frequent Swedish words.

    zxcvbn's public call takes extra words only as `user_inputs`, rebuilt on every call, and
    reports them as the user's own words; a ranked dictionary beside its English ones is built
    once and ranks each word by how common it is. Adding it changes zxcvbn for other callers in
    this process only by that extra dictionary."""
    import wordfreq
    from zxcvbn import matching

    # Digits, emoji, abbreviations ("t.ex") and single letters are left out: as dictionary words
    # they would make digits and letters cheaper than zxcvbn's own estimate for them.
    words = [
        w for w in wordfreq.top_n_list("sv", SWEDISH_WORD_COUNT) if w.isalpha() and len(w) >= 2
    ]
    ranked: dict[str, int] = {}
    for word in _with_ascii_forms([*SWEDISH_COMMON_PASSWORDS, *words]):
        ranked.setdefault(word, len(ranked) + 1)
    matching.RANKED_DICTIONARIES["swedish"] = ranked
    return ranked


def _user_field(user: AbstractBaseUser | None, name: str) -> str:
    value = getattr(user, name, "") if user is not None else ""
    return str(value or "")


def _personnummer_digits(user: AbstractBaseUser | None) -> str:
    return re.sub(r"\D", "", _user_field(user, "personnummer"))


def _personnummer_pieces(digits: str) -> list[str]:
    """YYYYMMDD, YYMMDD and the last four digits of a 12- or 10-digit personnummer."""
    if len(digits) == 12:
        return [digits, digits[:8], digits[2:8], digits[-4:]]
    if len(digits) == 10:
        return [digits, digits[:6], digits[-4:]]
    return [digits] if digits else []


def user_words(user: AbstractBaseUser | None) -> list[str]:
    """The user's own guessable words: username, names, title, workplace, e-mail local part,
    and the pieces of the personnummer."""
    if user is None:
        return []
    texts = [user.get_username()] + [
        _user_field(user, name) for name in ("first_name", "last_name", "title", "workplace")
    ]
    texts.append(_user_field(user, "email").partition("@")[0])
    words: list[str] = []
    for text in texts:
        if not text.strip():
            continue
        words.append(text.replace(" ", ""))
        words.extend(part for part in re.split(r"[\s\-_.,]+", text) if len(part) >= 3)
    words.extend(_personnummer_pieces(_personnummer_digits(user)))
    return _with_ascii_forms(words)


class LengthValidator:
    """At least `min_length` and at most `max_length` characters, counted as Unicode code points
    (R13, R14). Spaces and any characters count; nothing is stripped or changed."""

    def __init__(self, min_length: int = 15, max_length: int = 256) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        length = len(password)
        if length < self.min_length:
            raise ValidationError(
                _(
                    "Lösenordet är för kort: det behöver minst %(min_length)d tecken "
                    "(nu %(length)d)."
                ),
                code="password_too_short",
                params={"min_length": self.min_length, "length": length},
            )
        if length > self.max_length:
            raise ValidationError(
                _("Lösenordet är för långt: högst %(max_length)d tecken (nu %(length)d)."),
                code="password_too_long",
                params={"max_length": self.max_length, "length": length},
            )

    def get_help_text(self) -> str:
        return _(
            "Lösenordet ska ha minst %(min_length)d och högst %(max_length)d tecken. Mellanslag, "
            "å, ä, ö och alla andra tecken räknas; du behöver inte ha siffror, versaler eller "
            "specialtecken."
        ) % {"min_length": self.min_length, "max_length": self.max_length}


class CommonPasswordSwedishValidator(CommonPasswordValidator):
    """Django's list of about 20,000 common passwords plus the very common Swedish ones (R16).
    The whole password is compared without regard to case, also with digits and punctuation
    removed from its ends ("Sommar2024!") and as a repetition ("lösenordlösenord")."""

    def __init__(
        self, password_list_path: Path | str = CommonPasswordValidator.DEFAULT_PASSWORD_LIST_PATH
    ) -> None:
        super().__init__(password_list_path)
        self.swedish_passwords = frozenset(_with_ascii_forms(SWEDISH_COMMON_PASSWORDS))

    def _is_listed(self, candidate: str) -> bool:
        return candidate in self.passwords or candidate in self.swedish_passwords

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        lower = password.lower()
        candidates = {lower, lower.strip(), ENDS.sub("", lower)}
        for candidate in list(candidates):
            # The pattern's cost grows with the square of the length; a password beyond the
            # policy's maximum is refused by the length rule anyway.
            if len(candidate) > 256:
                continue
            repeated = REPEATED.match(candidate)
            if repeated:
                candidates.update({repeated.group(1), ENDS.sub("", repeated.group(1))})
        if any(self._is_listed(c) for c in candidates if c):
            raise ValidationError(self.get_error_message(), code="password_too_common")

    def get_error_message(self) -> str:
        return _(
            "Lösenordet är för vanligt: det finns bland de vanligaste lösenorden, också med "
            "siffror eller tecken före eller efter."
        )

    def get_help_text(self) -> str:
        return _(
            "Lösenordet får inte vara ett vanligt lösenord, inte heller med siffror eller tecken "
            "före eller efter."
        )


class UserInfoValidator:
    """No username, first or last name (of three letters or more) and no six consecutive digits
    of the personnummer in the password, compared without regard to case or spaces (R16)."""

    min_name_length = 3
    personnummer_digits = 6

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        if user is None:
            return
        compact = re.sub(r"\s+", "", password).lower()
        errors: list[ValidationError] = []
        if self._contains(compact, [user.get_username()]):
            errors.append(
                ValidationError(
                    _("Lösenordet får inte innehålla ditt användarnamn."),
                    code="password_contains_username",
                )
            )
        names = [_user_field(user, "first_name"), _user_field(user, "last_name")]
        if self._contains(compact, names):
            errors.append(
                ValidationError(
                    _("Lösenordet får inte innehålla ditt för- eller efternamn."),
                    code="password_contains_name",
                )
            )
        if self._contains_personnummer(compact.replace("-", ""), _personnummer_digits(user)):
            errors.append(
                ValidationError(
                    _("Lösenordet får inte innehålla siffror ur ditt personnummer."),
                    code="password_contains_personnummer",
                )
            )
        if errors:
            raise ValidationError(errors)

    def _contains(self, compact: str, values: Sequence[str]) -> bool:
        for value in values:
            whole = re.sub(r"\s+", "", value).lower()
            parts = [whole, *(p.lower() for p in re.split(r"[\s\-]+", value))]
            if any(len(p) >= self.min_name_length and p in compact for p in parts):
                return True
        return False

    def _contains_personnummer(self, compact: str, digits: str) -> bool:
        n = self.personnummer_digits
        return any(digits[i : i + n] in compact for i in range(len(digits) - n + 1))

    def get_help_text(self) -> str:
        return _(
            "Lösenordet får inte innehålla ditt användarnamn, ditt namn eller siffror ur ditt "
            "personnummer."
        )


class StrengthValidator:
    """Hard to guess: zxcvbn score at least `min_score` (4 means at least 10^10 guesses), with
    the Swedish dictionary and Lyfta's, the county's and the user's own words; and not built only
    from seasons, months, places or context words plus years (R16)."""

    def __init__(self, min_score: int = 4, max_length: int = 256) -> None:
        self.min_score = min_score
        self.max_length = max_length

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        if len(password) > self.max_length:
            return  # LengthValidator reports it; zxcvbn would take seconds on it.
        context = [*county_words(), *user_words(user)]
        if self._is_words_and_years(password, context):
            raise ValidationError(
                _(
                    "Lösenordet består av ord och årtal som är lätta att gissa, t.ex. årstid "
                    "eller ort med årtal."
                )
                + " "
                + _("Använd gärna en lösenfras med flera ovanliga ord."),
                code="password_words_and_years",
            )
        result = self._estimate(password, context)
        if result["score"] < self.min_score:
            reasons = list(self._reasons(result["sequence"]))
            raise ValidationError(
                " ".join(
                    [
                        _("Lösenordet är för lätt att gissa."),
                        *reasons,
                        _("Använd gärna en lösenfras med flera ovanliga ord."),
                    ]
                ),
                code="password_too_guessable",
            )

    def _estimate(self, password: str, context: list[str]) -> dict[str, Any]:
        """zxcvbn's estimate; for a long password its first STRENGTH_PREFIX characters first,
        since guessing the whole means guessing them too."""
        from zxcvbn import zxcvbn

        swedish_dictionary()
        with _zxcvbn_lock:
            if len(password) > STRENGTH_PREFIX:
                prefix: dict[str, Any] = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=context)
                if prefix["score"] >= self.min_score:
                    return prefix
            whole: dict[str, Any] = zxcvbn(
                password, user_inputs=context, max_length=max(self.max_length, len(password))
            )
            return whole

    @staticmethod
    def _is_words_and_years(password: str, context: Sequence[str]) -> bool:
        """Whether the password, without separators and case, is only seasons, months, weekdays,
        places and context words with years or up to four other digits between them."""
        compact = SEPARATORS.sub("", password.lower())
        joining = set(_with_ascii_forms(JOINING_WORDS))
        vocabulary = set(_with_ascii_forms([*SEASONS_AND_DATES, *PLACES])) | set(context) | joining
        longest = max(len(w) for w in vocabulary)
        has_word = False
        for run in re.findall(r"\d+|\D+", compact):
            if run.isdigit():
                if len(run) > 4 and not re.fullmatch(r"(?:(?:19|20)\d\d)+", run):
                    return False
                continue
            if not _segments(run, vocabulary, longest):
                return False
            has_word = has_word or not _segments(run, joining, longest)
        return has_word

    @staticmethod
    def _reasons(sequence: list[dict[str, Any]]) -> Iterator[str]:
        """zxcvbn's matched patterns as plain Swedish, most telling first, each once."""
        found: set[str] = set()
        for match in sequence:
            pattern = match["pattern"]
            if pattern == "dictionary":
                name = match["dictionary_name"]
                if name == "passwords" or (
                    name == "swedish" and match["matched_word"] in SWEDISH_COMMON_PASSWORDS
                ):
                    found.add("common_password")
                elif name in ("surnames", "male_names", "female_names"):
                    found.add("name")
                elif name == "user_inputs":
                    found.add("context")
                else:
                    found.add("word")
                if match.get("l33t"):
                    found.add("l33t")
                if match.get("reversed"):
                    found.add("reversed")
            elif pattern in ("regex", "date"):
                found.add("date")
            else:
                found.add(pattern)
        texts = {
            "common_password": _("Det innehåller ett vanligt lösenord."),
            "word": _("Det innehåller vanliga ord."),
            "name": _("Det innehåller vanliga namn."),
            "context": _(
                "Det innehåller ditt namn, användarnamn eller personnummer eller ord som hör till "
                "Lyfta, regionen eller kommunerna."
            ),
            "date": _("Det innehåller datum eller årtal."),
            "repeat": _("Det innehåller upprepningar, som ”aaa” eller ”abcabc”."),
            "sequence": _("Det innehåller följder, som ”abc” eller ”6543”."),
            "spatial": _("Det innehåller tangentbordsmönster, som ”qwerty” eller ”asdf”."),
            "l33t": _("Att byta bokstäver mot tecken, som @ i stället för a, hjälper inte mycket."),
            "reversed": _("Ord stavade baklänges är inte mycket svårare att gissa."),
        }
        for key, text in texts.items():
            if key in found:
                yield text

    def get_help_text(self) -> str:
        return _(
            "Lösenordet ska vara svårt att gissa: undvik vanliga ord, namn, årtal, ortnamn och "
            "tangentbordsmönster. Använd gärna en lösenfras med flera ovanliga ord."
        )


def _segments(text: str, vocabulary: set[str], longest: int) -> bool:
    """Whether `text` is a concatenation of words in `vocabulary`."""
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        reachable[end] = any(
            reachable[start] and text[start:end] in vocabulary
            for start in range(max(0, end - longest), end)
        )
    return reachable[-1]
