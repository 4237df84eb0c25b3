"""Flask glue shared by every blueprint: the request's database session, the locale, CSRF and
rate limiting. Adapters use these; the domain never imports this module."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import Babel, Domain, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from core import i18n
from core.db import Database
from core.inputs import MAX_INT, TOO_DEEP, BadInput, check_text


class _CatalogueDomain(Domain):
    """Flask-Babel turns "zh_CN" into zh_Hans_CN, which gettext cannot find in the ``zh_CN``
    catalogue folders; use the merged catalogues of :mod:`core.i18n`, which map it back."""

    def get_translations(self) -> Any:
        return i18n.translations_for(str(get_locale() or i18n.DEFAULT_LOCALE))


csrf = CSRFProtect()
babel = Babel()
babel.domain_instance = _CatalogueDomain()  # a cached_property on Babel: set it once here
limiter = Limiter(key_func=get_remote_address)
LOCALE_COOKIE = "hotline_locale"


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["hotline_db"]


def db_session() -> Session:
    """The request's session. The request is the transaction owner: it commits after a
    successful response and rolls back otherwise (see :func:`init_db_session`)."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


def init_db_session(app: Flask) -> None:
    @app.after_request
    def _commit(response: Any) -> Any:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400 or g.get("commit_on_error"):
                session.commit()
            else:
                session.rollback()
        except OperationalError as error:
            # The database went away at COMMIT (a restart, a failover). An exception raised
            # here would bypass the error handlers and be a bare 500; answer what a failure
            # inside the view answers (a 503 to retry), through the response hooks again. A
            # retry is safe: what citizens submit carries an idempotency key.
            session.rollback()
            return current_app.process_response(
                current_app.make_response(current_app.handle_user_exception(error))
            )
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def select_locale() -> str:
    supported = current_app.config["LOCALES"]
    asked = request.args.get("lang") or request.cookies.get(LOCALE_COOKIE)
    if asked in supported:
        return str(asked)
    return str(current_app.config["DEFAULT_LOCALE"])


def current_locale() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/open311/")


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` that matches only ids the database can hold: a larger number is a 404, as an
    id that does not exist, instead of an overflow deep in the driver."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(url_map, *args, **kwargs)


def install_input_policy(app: Flask) -> None:
    """The edge of every web adapter (see :mod:`core.inputs`): bounded ``int`` path values,
    and one screen of every text a request carries before any view reads it. Call before
    blueprints are registered (their rules compile with the converter in place)."""
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def screen_request() -> None:
        values: list[Any] = [request.path, list(request.args.items(multi=True))]
        values.append([value for _name, value in request.headers.items()])  # Idempotency-Key
        values.append(list((request.view_args or {}).values()))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values.append(list(request.form.items(multi=True)))
            values.append([f.filename or "" for f in request.files.values()])
        if request.is_json:
            try:
                values.append(request.get_json(silent=True))
            except RecursionError:  # "[" * 5000: the parser's recursion, not a ValueError
                raise BadInput(TOO_DEEP) from None
        check_text(*values)
