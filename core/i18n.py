"""Translation without a web framework.

The domain marks user-facing strings with :func:`N_` (English message ids); the adapters translate
them for the reader's locale. Simplified Chinese is the default locale, so every message id has a
zh_CN translation in ``hotline/translations``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCALE = "zh_CN"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def catalogue_locale(locale: str) -> str:
    """The folder name of a locale's catalogues: Babel spells zh_CN as zh_Hans_CN (with the
    script), but the catalogues live in ``zh_CN``, which gettext would not find from it."""
    parts = locale.replace("-", "_").split("_")
    return "_".join(p for p in parts if not (len(p) == 4 and p.istitle()))


def translations_for(locale: str) -> NullTranslations:
    return _translations_for(catalogue_locale(locale))


@cache
def _translations_for(locale: str) -> NullTranslations:
    merged: NullTranslations | None = None
    for directory in translation_dirs():
        loaded = Translations.load(str(directory), [locale], domain="messages")
        if isinstance(loaded, Translations):
            if merged is None or not isinstance(merged, Translations):
                merged = loaded
            else:
                merged.merge(loaded)
    return merged or NullTranslations()


def translation_dirs() -> list[Path]:
    """Every package keeps its own catalogue next to its code (``<package>/translations``)."""
    found = list(_ROOT.glob("*/translations")) + list(_ROOT.glob("*/*/translations"))
    return sorted(p for p in found if p.is_dir() and ".venv" not in p.parts)


def translate(message: str, locale: str | None = None, **params: Any) -> str:
    """Translate a message id for a locale and fill in its ``%(name)s`` parameters."""
    text = translations_for(locale or DEFAULT_LOCALE).gettext(message)
    return text % params if params else text
