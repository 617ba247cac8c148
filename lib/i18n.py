"""One way to show a text in the viewer's language: English or Japanese, English where a text
has no translation, ``{name}`` values filled in.

A text is a mapping ``{"en": ..., "ja": ...}``. Pages' words live in catalogues,
``lib/texts/<name>.toml``: groups of texts by key (``[group.key]`` with ``en = ...`` and
``ja = ...``), read once and checked when read: every text has English, only known languages,
and the same ``{names}`` in every language (a translation that drops a value would show less).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

LANGS = ("en", "ja")
FALLBACK = "en"
CATALOGUES = Path(__file__).resolve().parent / "texts"

Translations = Mapping[str, str]  # one text per language: {"en": ..., "ja": ...}
Table = Mapping[str, Translations]  # texts by key


class CatalogueError(ValueError):
    """A catalogue that would show a wrong or missing text."""


def known(lang: str | None) -> str:
    """A known language; English for anything else."""
    return lang if lang in LANGS else FALLBACK


def pick(texts: Translations, lang: str | None) -> str:
    """The text in the wanted language; English when that language has none."""
    return texts.get(known(lang)) or texts[FALLBACK]


def fill(texts: Translations, lang: str | None, **values) -> str:
    """The text in the wanted language with its ``{name}`` values filled in."""
    return pick(texts, lang).format(**values)


def pick_all(table: Table, lang: str | None) -> dict[str, str]:
    """Every text of a table in the wanted language (English where it has none), by key."""
    return {key: pick(texts, lang) for key, texts in table.items()}


def names(text: str) -> set[str]:
    """The ``{name}`` fields of a text."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def check_texts(where: str, texts: object) -> Translations:
    """Texts as a catalogue must hold them; CatalogueError naming ``where`` otherwise."""
    if not isinstance(texts, Mapping) or not all(isinstance(t, str) for t in texts.values()):
        raise CatalogueError(f"{where}: not a table of texts")
    unknown = sorted(set(texts) - set(LANGS))
    if unknown:
        raise CatalogueError(f"{where}: unknown language(s) {unknown}")
    if not texts.get(FALLBACK):
        raise CatalogueError(f"{where}: no English text")
    expected = names(texts[FALLBACK])
    for lang, text in texts.items():
        if names(text) != expected:
            raise CatalogueError(f"{where}: the {lang} text has {sorted(names(text))}, "
                                 f"English has {sorted(expected)}")
    return texts


def read_catalogue(path: Path) -> dict[str, dict[str, Translations]]:
    """Every group of a catalogue file, each text checked."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise CatalogueError(f"{path.name}: {err}") from err
    out: dict[str, dict[str, Translations]] = {}
    for group, table in data.items():
        if not isinstance(table, Mapping):
            raise CatalogueError(f"{path.name}: {group} is not a group of texts")
        out[group] = {key: check_texts(f"{path.name} [{group}.{key}]", texts)
                      for key, texts in table.items()}
    return out


@cache
def catalogue(name: str) -> dict[str, dict[str, Translations]]:
    """The catalogue ``lib/texts/<name>.toml``, read once."""
    return read_catalogue(CATALOGUES / f"{name}.toml")
