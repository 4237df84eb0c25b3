"""Keep every package's zh_CN catalogue in step with its source.

    python scripts/i18n.py update [PKG…] # extract and merge new message ids into each zh_CN .po
                                         # (PKG: e.g. tickets, portal/staff; default all)
    python scripts/i18n.py missing     # list untranslated ids (the test suite fails on them)

Message ids are English; simplified Chinese is the default locale, so every id needs a zh_CN
translation. Each package keeps its own catalogue, so that parallel work never edits one file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# catalogue folder → the sources it covers
CATALOGUES: dict[str, list[str]] = {
    "core/translations": ["core"],
    "hotline/translations": ["hotline"],
    "directory/translations": ["directory"],
    "tickets/translations": ["tickets"],
    "knowledge/translations": ["knowledge"],
    "delivery/translations": ["delivery"],
    "bot/translations": ["bot"],
    "wechat/translations": ["wechat"],
    "calls/translations": ["calls"],
    "sms/translations": ["sms"],
    "open311/translations": ["open311"],
    "analysis/translations": ["analysis"],
    "portal/translations": ["portal/templates", "portal/__init__.py"],
    "portal/citizen/translations": ["portal/citizen", "portal/api/tickets.py", "portal/api/faq.py"],
    "portal/staff/translations": ["portal/staff"],
    "portal/webchat/translations": ["portal/webchat", "portal/api/chat.py"],
}


def update(only: list[str] | None = None) -> None:
    bin_dir = Path(sys.executable).parent
    for folder, sources in CATALOGUES.items():
        if only and folder.removesuffix("/translations") not in only and folder not in only:
            continue
        existing = [s for s in sources if (ROOT / s).exists()]
        if not existing:
            continue
        out = ROOT / folder
        out.mkdir(parents=True, exist_ok=True)
        pot = out / "messages.pot"
        subprocess.run(
            [
                str(bin_dir / "pybabel"),
                "-q",
                "extract",
                "-F",
                "babel.cfg",
                "-k",
                "N_",
                "-k",
                "lazy_gettext",
                "--no-location",
                "--sort-output",
                "-o",
                str(pot),
                *existing,
            ],
            cwd=ROOT,
            check=True,
        )
        po = out / "zh_CN" / "LC_MESSAGES" / "messages.po"
        action = "update" if po.exists() else "init"
        args = [
            str(bin_dir / "pybabel"),
            "-q",
            action,
            "-i",
            str(pot),
            "-d",
            str(out),
            "-l",
            "zh_CN",
        ]
        if action == "update":
            args.append("--no-fuzzy-matching")
        subprocess.run(args, cwd=ROOT, check=True)
        pot.unlink()


def missing() -> list[tuple[str, str]]:
    found = []
    for folder in CATALOGUES:
        po = ROOT / folder / "zh_CN" / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and (not message.string or message.fuzzy):
                found.append((folder, str(message.id)))
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["update"]:
        update(sys.argv[2:] or None)
    elif sys.argv[1:] == ["missing"]:
        rows = missing()
        for folder, msgid in rows:
            print(f"{folder}: {msgid}")
        sys.exit(1 if rows else 0)
    else:
        print(__doc__)
        sys.exit(2)
