"""The long fuzz run: the properties of tests/edge/test_fuzz.py with a large example budget, on
SQLite and on a throw-away PostgreSQL database, with the answers counted per endpoint.

    .venv/bin/python scripts/fuzz.py [examples per property, default 500]

Prints a Markdown table (requests sent per endpoint and database, answers by class, 5xx) and
the pytest summary; exits non-zero when a property failed. The README keeps the last figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_tests import BIN, ROOT, postgres_admin_url, throwaway_postgres  # noqa: E402


def fuzz(database: str, url: str | None, examples: int) -> tuple[int, dict[str, Counter[str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {k: v for k, v in os.environ.items() if k not in ("HOTLINE_TEST_DATABASE_URL", "CI")}
        env |= {"HOTLINE_FUZZ_EXAMPLES": str(examples), "HOTLINE_FUZZ_REPORT": str(report)}
        if url:
            env["HOTLINE_TEST_DATABASE_URL"] = url
        print(f"=== {database}: {examples} examples per property", flush=True)
        command = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        result = subprocess.run([*command, "tests/edge/test_fuzz.py"], cwd=ROOT, env=env)
        raw = json.loads(report.read_text()) if report.exists() else {}
    counts: dict[str, Counter[str]] = {}
    for endpoint, statuses in raw.items():
        by_class: Counter[str] = Counter()
        for status, n in statuses.items():
            by_class[f"{str(status)[0]}xx"] += n
        counts[endpoint] = by_class
    return result.returncode, counts


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    runs = [("SQLite", *fuzz("SQLite", None, examples))]
    admin = postgres_admin_url()
    if admin:
        with throwaway_postgres(admin) as url:
            runs.append(("PostgreSQL", *fuzz("PostgreSQL", url, examples)))
    print("\n| endpoint | database | requests | 2xx/3xx | 4xx | 5xx |")
    print("|---|---|---:|---:|---:|---:|")
    for database, _code, counts in runs:
        for endpoint in sorted(counts):
            c = counts[endpoint]
            ok = c["2xx"] + c["3xx"]
            print(
                f"| `{endpoint}` | {database} | {sum(c.values()):,} | {ok:,} | {c['4xx']:,} "
                f"| {c['5xx']:,} |"
            )
    failed = [database for database, code, _ in runs if code != 0]
    print(f"\nproperties failed on: {', '.join(failed) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
