from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from directory.models import StaffUser


@pytest.fixture
def login(app: Any) -> Callable[[StaffUser], FlaskClient]:
    """A fresh client signed in as ``user`` (password123, see tests/conftest.py)."""

    def sign_in(user: StaffUser, password: str = "password123") -> FlaskClient:
        client = app.test_client()
        response = client.post(
            "/staff/login", data={"username": user.username, "password": password}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in
