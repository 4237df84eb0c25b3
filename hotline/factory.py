"""The application factory. Nothing is built at import time: ``flask --app app`` calls this."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from core import i18n, logmask
from core.config import load_config
from core.db import Database
from core.errors import DomainError
from core.web import (
    LOCALE_COOKIE,
    babel,
    csrf,
    current_locale,
    database,
    init_db_session,
    install_input_policy,
    limiter,
    select_locale,
    wants_json,
)

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _secret_key(config: dict[str, Any], instance_path: Path) -> str:
    """A configured key, or one generated once and kept in the instance folder (single machine)."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _trust_proxies(app: Flask, count: int) -> None:
    """Behind ``count`` trusted proxies (nginx), the client address and scheme come from their
    X-Forwarded-For / X-Forwarded-Proto, so that rate limits count citizens, not the proxy; with
    none configured, those headers are ignored (anyone can send them)."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    config = load_config(overrides)
    app = Flask(
        "hotline",
        root_path=str(ROOT / "portal"),
        instance_path=str(ROOT / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(config)
    app.config["SECRET_KEY"] = _secret_key(config, Path(app.instance_path))
    app.config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = config["TIMEZONE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in i18n.translation_dirs())
    app.config["MAX_CONTENT_LENGTH"] = config.get("MAX_CONTENT_LENGTH", 60 * 1024 * 1024)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Served over HTTPS (production): the session cookie never travels in clear, and browsers
    # are told to keep to HTTPS.
    https = str(config.get("PUBLIC_BASE_URL") or "").startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["HOTLINE_HSTS"] = https
    logmask.install()
    app.config["RATELIMIT_ENABLED"] = bool(config["RATELIMIT_ENABLED"])
    app.config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)

    from knowledge.search import Thresholds

    app.extensions["hotline_db"] = Database(
        config["DATABASE_URL"],
        timezone=config["TIMEZONE"],
        echo=bool(config["SQL_ECHO"]),
        settings={
            "knowledge.thresholds": Thresholds.from_config(config),
            "knowledge.semantic": str(config["KNOWLEDGE_SEMANTIC"]).lower() != "off",
            "knowledge.search_cache": int(config["KNOWLEDGE_SEARCH_CACHE"]),
        },
    )
    init_db_session(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: config["TIMEZONE"])
    csrf.init_app(app)
    limiter.init_app(app)

    install_input_policy(app)
    _trust_proxies(app, int(config.get("TRUSTED_PROXIES") or 0))
    register_outbox_templates()
    register_channels()
    from wechat.sender import register_senders as register_wechat_sender

    register_wechat_sender(config, app.extensions["hotline_db"].session)
    from wechat.media import register_media_fetchers as register_wechat_media

    register_wechat_media(config, app.extensions["hotline_db"].session)
    from bot.telegram.media import register_media_fetchers as register_telegram_media
    from bot.telegram.sender import register_senders as register_telegram_sender

    register_telegram_sender(config, app.extensions["hotline_db"].session)
    register_telegram_media(config)
    from sms.sender import register_senders as register_sms_sender

    # app.config: the short survey codes are signed with the key generated above
    register_sms_sender(app.config, app.extensions["hotline_db"].session)
    _register_blueprints(app)
    _register_errors(app)
    _register_basics(app)

    from hotline.cli import register_cli

    register_cli(app)
    if config.get("RUN_WORKER"):
        from hotline.background import start_in_process

        start_in_process(app)
    return app


def register_outbox_templates() -> None:
    """Every domain's outbox templates, so that the worker (in this process or its own) can
    render whatever was queued."""
    from analysis import messages as analysis_messages
    from bot.engine import messages as chat_messages
    from tickets import messages as ticket_messages
    from wechat import messages as wechat_messages

    ticket_messages.register()
    chat_messages.register()
    wechat_messages.register()
    analysis_messages.register()


def register_channels() -> None:
    """Every channel adapter declares what its channel can do (``delivery.channels``), so that
    no domain branches on a channel's name."""
    from bot.telegram.channel import register_channels as register_telegram
    from open311.channel import register_channels as register_open311
    from portal.channel import register_channels as register_web
    from wechat.channel import register_channels as register_wechat

    register_web()
    register_wechat()
    register_telegram()
    register_open311()


def _register_blueprints(app: Flask) -> None:
    from portal.api import bp as api_bp
    from portal.citizen import bp as citizen_bp
    from portal.staff import bp as staff_bp
    from portal.webchat import bp as webchat_bp
    from sms.web import bp as sms_bp
    from wechat.inbound import bp as wechat_bp
    from wechat.web import bp as wechat_web_bp

    csrf.exempt(api_bp)
    csrf.exempt(wechat_bp)  # signed by WeChat (token, msg_signature), not by a form token
    app.register_blueprint(citizen_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(webchat_bp, url_prefix="/chat")
    app.register_blueprint(wechat_bp, url_prefix="/wechat")
    app.register_blueprint(wechat_web_bp, url_prefix="/wechat/oauth")  # 网页授权
    from bot.telegram.webhook import bp as telegram_bp

    csrf.exempt(telegram_bp)  # Telegram's secret-token header, not a form token
    app.register_blueprint(telegram_bp, url_prefix="/telegram")
    csrf.exempt(sms_bp)  # the reply callback: a secret token in its URL, not a form token
    app.register_blueprint(sms_bp)  # /s/<code> (short survey links), /sms/replies/<token>
    from open311.web import bp as open311_bp

    csrf.exempt(open311_bp)  # an API key in the form, not a form token
    app.register_blueprint(open311_bp, url_prefix="/open311/v2")  # GeoReport v2


def _error_response(status: int, message: str, fields: Mapping[str, str] | None = None) -> Any:
    if wants_json():
        body: dict[str, Any] = {"error": message}
        if fields:
            body["fields"] = dict(fields)
        return make_response(jsonify(body), status)
    return make_response(render_template("error.html", status=status, message=message), status)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        fields = getattr(error, "fields", None)
        translated = (
            {k: gettext(v) for k, v in fields.items()} if isinstance(fields, Mapping) else None
        )
        return _error_response(error.http_status, error.translated(current_locale()), translated)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Any:
        # The database went away (a restart, a failover, a network blip): the request changed
        # nothing (its transaction is rolled back), and trying again in a moment will work.
        log.warning("database unavailable on %s: %s", request.path, error.orig or error)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise error
        response = _error_response(
            503, gettext("The service is briefly unavailable. Please try again in a moment.")
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(_error: CSRFError) -> Any:
        return _error_response(
            400, gettext("The form has expired. Please go back, reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        messages = {
            400: gettext("The request could not be understood."),
            403: gettext("You are not allowed to see this page."),
            404: gettext("The page you asked for does not exist."),
            405: gettext("This address does not accept that kind of request."),
            413: gettext("The upload is too large."),
            429: gettext("Too many requests. Please wait a moment and try again."),
        }
        status = error.code or 500
        return _error_response(status, messages.get(status, error.name))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s", request.path)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise error
        return _error_response(500, gettext("Something went wrong on our side. Please try again."))


def _register_basics(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HOTLINE_HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        return response

    @app.get("/healthz")
    @limiter.exempt
    def healthz() -> Any:
        db = database()
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            state = {"status": "ok", "database": {"status": "ok", "dialect": db.dialect}}
            return jsonify(state)
        except Exception as error:  # the point of a health check is to report, not to raise
            log.warning("health check failed: %s", error)
            return jsonify(
                {"status": "error", "database": {"status": "error", "dialect": db.dialect}}
            ), 503

    @app.get("/lang/<code>")
    def set_language(code: str) -> Any:
        target = request.args.get("next") or url_for("citizen.home")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("citizen.home")
        response = redirect(target)
        if code in app.config["LOCALES"]:
            response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": current_locale,
            # The hotline's own name is configuration, in both languages.
            "hotline_name": app.config["HOTLINE_NAME"]
            if current_locale().startswith("zh")
            else app.config["HOTLINE_NAME_EN"],
            "hotline_phone": app.config["HOTLINE_PHONE"],
        }
