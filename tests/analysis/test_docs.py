"""The figures' definitions are written once (analysis.definitions) and shown in three places:
the hover, the definitions page (tests/analysis/test_screen.py) and docs/analysis.md (here)."""

from __future__ import annotations

from pathlib import Path

from analysis.definitions import DEFINITIONS, definition, name
from calls.figures import FIGURES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"


def test_every_definition_is_in_the_docs_in_both_languages() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for key, figure in DEFINITIONS.items():
        assert figure.name_zh and figure.name_en and figure.definition_zh and figure.definition_en
        row = f"| `{key}` | {figure.name_zh} | {figure.name_en} | {figure.definition_zh} | {figure.definition_en} |"
        assert row in text, key


def test_the_call_figures_are_the_switchboards_own() -> None:
    for figure in FIGURES:
        assert DEFINITIONS[f"call_{figure.key}"] is figure


def test_the_locale_picks_the_language() -> None:
    assert definition("satisfaction", "zh_CN").startswith("范围内作答的回访")
    assert definition("satisfaction", "en").startswith("Of the callback surveys")
    assert (name("red", "zh_CN"), name("red", "en")) == ("红牌", "Red card")
