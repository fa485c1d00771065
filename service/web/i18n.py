"""Which language a page is in: `?lang=`, then the reader's own choice (a cookie that `?lang=` and the
language switcher set), then the browser's Accept-Language, then English. Staff pages, the API and
webhooks stay in English whatever the reader chose.

The switcher is a list of links to the same page with `?lang=`: it works without script, and a
page answered to a form post (a form shown again with its errors) links to a page that exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import refresh
from werkzeug.exceptions import HTTPException

from service.config import SOURCE_LANGUAGE
from service.domain.newsletter.lists import list_name
from service.extensions import babel
from service.i18n import current_language, format_day, format_moment, language_name, offered, supported, text_direction

LANG_COOKIE = "lang"
LANG_COOKIE_AGE = timedelta(days=365)
# Paths that are never translated: the staff console, machines' doors, and the sandbox's own pages.
ENGLISH_ONLY = ("/staff", "/api/", "/webhooks/", "/_sandbox", "/metrics", "/healthz", "/readyz")


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel with this module's choice of language, and give templates the switcher."""
    babel.init_app(app, default_locale=SOURCE_LANGUAGE, locale_selector=page_language)
    # `{% trans %}` blocks are read with their whitespace collapsed, so a catalog entry is one line
    # of prose however the template wraps it (babel.cfg extracts them the same way).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # The language is worked out afresh for each request, and forgotten after it, even when
    # requests share an application context (as tests do).
    app.before_request(refresh)
    app.teardown_request(_forget_language)
    app.after_request(_remember_choice)
    app.context_processor(_language_context)
    app.jinja_env.globals.update(format_day=format_day, format_moment=format_moment, list_name=list_name)


def _english_only() -> bool:
    return request.path.startswith(ENGLISH_ONLY)


def chosen_language() -> str | None:
    """The language the reader chose (`?lang=`, or the cookie a choice set), if it is offered; None otherwise."""
    return supported(request.args.get("lang")) or supported(request.cookies.get(LANG_COOKIE))


def page_language() -> str | None:
    """Flask-Babel's locale selector. None (English) outside a request."""
    if not has_request_context():
        return None
    if _english_only():
        return SOURCE_LANGUAGE
    return chosen_language() or request.accept_languages.best_match(offered()) or SOURCE_LANGUAGE


def _forget_language(_exc: BaseException | None) -> None:
    refresh()


def _remember_choice(response: Response) -> Response:
    """A `?lang=` the reader followed is kept in a cookie, so the next page (and the form's post) stays in it."""
    if _english_only():
        return response
    choice = supported(request.args.get("lang"))
    if choice and request.cookies.get(LANG_COOKIE) != choice:
        response.set_cookie(LANG_COOKIE, choice, max_age=LANG_COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    current: bool


def _switch_target(target: str | None) -> tuple[str, list[tuple[str, str]]]:
    """The page the switcher's links lead to: `target` if the page names one, else this one; for a
    page answered to a form post, the same address if it can be fetched (else the front page),
    without the form's data."""
    if target is not None:
        return target, []
    if request.method in ("GET", "HEAD"):
        return request.path, [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    try:
        current_app.url_map.bind_to_environ(request.environ).match(request.path, method="GET")
    except HTTPException:
        return "/", []
    return request.path, []


def language_links(target: str | None = None) -> list[LanguageLink]:
    """One link per offered language, to this page (or `target`) in that language."""
    path, args = _switch_target(target)
    here = current_language()
    return [LanguageLink(code, language_name(code), f"{request.script_root}{path}?{urlencode([*args, ('lang', code)])}",
                         code == here) for code in offered()]


def _language_context() -> dict[str, object]:
    return {"page_language": current_language(), "text_direction": text_direction(), "language_links": language_links}
