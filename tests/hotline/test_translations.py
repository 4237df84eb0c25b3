"""Every user-facing string has its simplified-Chinese translation (the default locale)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from i18n import CATALOGUES  # noqa: E402


@pytest.mark.parametrize("folder", sorted(CATALOGUES))
def test_every_message_in_the_source_has_a_chinese_translation(folder: str, tmp_path) -> None:
    sources = [s for s in CATALOGUES[folder] if (ROOT / s).exists()]
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            *sources,
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        wanted = {str(m.id) for m in read_po(handle) if m.id}
    if not wanted:
        return
    po = ROOT / folder / "zh_CN" / "LC_MESSAGES" / "messages.po"
    assert po.exists(), f"{folder} has messages but no zh_CN catalogue"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    translated = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(wanted - translated)
    assert not missing, (
        f"untranslated in {folder} (run scripts/i18n.py update and fill them): {missing}"
    )
