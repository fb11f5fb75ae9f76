"""Variables in a Dockerfile word, replaced as BuildKit's shell lexer does for ``FROM`` and ``ARG``.

Quotes are removed (nothing inside single quotes is replaced), the escape character keeps the next
character as it is, and ``$NAME``, ``${NAME}``, ``${NAME:-word}``, ``${NAME-word}``,
``${NAME:+word}`` and ``${NAME+word}`` are replaced. Unlike BuildKit, a name nobody declared is
left in place, ``$`` and all, and so is a form this module does not know (``${NAME%suffix}``):
the caller then knows the word is not what BuildKit will see, where BuildKit would quietly use an
empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A declared name maps to its value, or to None when it has none (it reads as empty then, and as
# unset for the `-` and `+` forms); an undeclared name is absent.
Values = Mapping[str, str | None]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?", re.DOTALL)


def expand(word: str, values: Values, escape: str = "\\") -> str:
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(word):
        char = word[i]
        if char == escape and i + 1 < len(word) and quote != "'":
            following = word[i + 1]
            # Inside double quotes the escape only protects what would mean something there.
            keep = quote == '"' and following not in ('"', "$", escape)
            out.append(char + following if keep else following)
            i += 2
        elif char in "'\"" and quote in ("", char):
            quote = "" if quote else char
            i += 1
        elif char == "$" and quote != "'":
            text, i = _variable(word, i, values, escape)
            out.append(text)
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _variable(word: str, start: int, values: Values, escape: str) -> tuple[str, int]:
    """The text ``$…`` at ``start`` stands for, and where the word goes on."""
    if word.startswith("${", start):
        end = _closing_brace(word, start + 2)
        if end < 0:
            return word[start:], len(word)
        return _braced(word[start : end + 1], values, escape), end + 1
    name = _NAME.match(word, start + 1)
    if name is None:
        return "$", start + 1
    key = name[0]
    if key not in values:
        return word[start : name.end()], name.end()
    return values[key] or "", name.end()


def _braced(text: str, values: Values, escape: str) -> str:
    match = _BRACED.fullmatch(text[2:-1])
    if match is None or (match[1] not in values and match[2] is None):
        return text
    key, operator, alternative = match[1], match[2], match[3]
    value = values.get(key)
    if operator is None:
        return value or ""
    # `:` counts an empty value as unset; without it only a missing value is.
    is_set = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("-"):
        return (value or "") if is_set else expand(alternative, values, escape)
    return expand(alternative, values, escape) if is_set else ""


def _closing_brace(word: str, start: int) -> int:
    depth = 1
    for index in range(start, len(word)):
        if word[index] == "{":
            depth += 1
        elif word[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1
