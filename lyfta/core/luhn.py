"""The Luhn check digit used by Swedish organisation numbers and personal identity numbers."""


def luhn_ok(digits: str) -> bool:
    """True when the last digit is the Luhn check digit of the digits before it."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_digit(digits: str) -> str:
    """The check digit that makes `digits` + it pass `luhn_ok`."""
    for candidate in "0123456789":
        if luhn_ok(digits + candidate):
            return candidate
    raise AssertionError("unreachable: one of ten digits always completes a Luhn number")


def synthetic_personnummer(born: str, serial: int) -> str:
    """A 12-digit personnummer for demo and test people: born YYYYMMDD, birth number 980–999 (the
    series Skatteverket uses for its published test identities), valid check digit."""
    if len(born) != 8 or not born.isdigit():
        raise ValueError("born must be YYYYMMDD")
    birth_number = f"{980 + serial % 20:03d}"
    return born + birth_number + luhn_digit(born[2:] + birth_number)
