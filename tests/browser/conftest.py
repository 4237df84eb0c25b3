"""The browser tests' fixtures live in tests/browser/fixtures.py and are registered once for the
whole suite by tests/conftest.py (one Playwright and one Chromium per session: a second one
would find the first one's event loop running). The constants are here for old imports."""

from tests.browser.fixtures import CHROMIUM, DESKTOP, PHONE, SCREENSHOTS

__all__ = ["CHROMIUM", "DESKTOP", "PHONE", "SCREENSHOTS"]
