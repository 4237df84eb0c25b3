from __future__ import annotations

from typing import Any

from core.config import load_config
from hotline.factory import create_app


def test_config_layers_defaults_environment_overrides() -> None:
    env = {"HOTLINE_TIMEZONE": "Asia/Hong_Kong", "HOTLINE_RATELIMIT_ENABLED": "false", "OTHER": "x"}
    config = load_config({"SECRET_KEY": "s"}, environ=env)
    assert config["TIMEZONE"] == "Asia/Hong_Kong"
    assert config["RATELIMIT_ENABLED"] is False
    assert config["SECRET_KEY"] == "s"
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert load_config(environ={})["TIMEZONE"] == "Asia/Shanghai"


def test_healthz_reports_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"]["status"] == "ok"


def test_healthz_when_the_database_is_unreachable(tmp_path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"]["status"] == "error"


def test_home_page_is_chinese_by_default_and_english_on_request(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text
    client.get("/lang/en")
    assert 'lang="en"' in client.get("/").text


def test_security_headers(client) -> None:
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_unknown_page_is_a_translated_404(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "不存在" in response.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and "error" in api.json


def test_nothing_is_built_at_import_time() -> None:
    import app as entry

    assert not hasattr(entry, "app")
    assert callable(entry.create_app)


def test_secret_key_is_generated_once_per_instance_folder(tmp_path, monkeypatch: Any) -> None:
    from hotline import factory

    config: dict[str, Any] = {"SECRET_KEY": None}
    first = factory._secret_key(config, tmp_path)
    assert first == factory._secret_key(config, tmp_path)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
