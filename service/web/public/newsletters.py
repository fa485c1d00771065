"""Newsletter pages for readers: sign up (double opt-in), confirm, unsubscribe (incl. RFC 8058 one-click).

Links from emails carry a signed token and need no sign-in. A GET never
changes consent: mail scanners fetch links, so each link shows a page whose
button POSTs (CSRF-protected). Only the one-click target, which mailbox
providers POST to without a page, is exempt from CSRF: its token is the proof.
"""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from marshmallow import ValidationError

from service.domain.newsletter import subscriptions as newsletters
from service.domain.newsletter.links import read_confirm_token, read_unsubscribe_token
from service.domain.newsletter.lists import get_list
from service.errors import DomainError
from service.extensions import csrf, limiter
from service.models import ConsentSource
from service.schemas.newsletter import SubscribeForm

bp = Blueprint("newsletters", __name__, url_prefix="/newsletters")
SUBSCRIBE_LIMIT = "5 per minute;30 per hour"  # per client address; confirmation emails cost us reputation


def _reader() -> newsletters.Actor:
    return newsletters.Actor(ConsentSource.MEMBER, request.remote_addr, request.user_agent.string or None)


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit(SUBSCRIBE_LIMIT, methods=["POST"])
def subscribe():
    if request.method == "GET":
        return render_template("newsletter/subscribe.html", form={"list": request.args.get("list", "")}, errors={})
    try:
        form = SubscribeForm().load(request.form.to_dict())
    except ValidationError as exc:
        return render_template("newsletter/subscribe.html", form=request.form, errors=exc.normalized_messages()), 422
    newsletter = get_list(form["list"])
    newsletters.request_subscription(form["email"], newsletter.slug, _reader())
    # The same answer whether or not the address is on the list already.
    return render_template("newsletter/check_inbox.html", newsletter=newsletter, email=form["email"])


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    email, slug = read_confirm_token(token)
    return render_template("newsletter/confirm.html", newsletter=get_list(slug), email=email)


@bp.post("/confirm/<token>")
def confirm(token: str):
    email, slug = read_confirm_token(token)
    newsletters.confirm_subscription(email, slug, _reader())
    return render_template("newsletter/confirmed.html", newsletter=get_list(slug))


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    email, slug = read_unsubscribe_token(token)
    return render_template("newsletter/unsubscribe.html", newsletter=get_list(slug), email=email)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    email, slug = read_unsubscribe_token(token)
    newsletters.unsubscribe(email, slug, _reader())
    return render_template("newsletter/unsubscribed.html", newsletter=get_list(slug))


@bp.post("/unsubscribe/<token>/one-click")
@csrf.exempt
def one_click(token: str):
    """RFC 8058: the mailbox provider POSTs `List-Unsubscribe=One-Click`; answer 2xx, no page."""
    email, slug = read_unsubscribe_token(token)
    if request.form.get("List-Unsubscribe") != "One-Click":
        raise DomainError("A one-click unsubscribe is a POST with the body List-Unsubscribe=One-Click.",
                          code="not_one_click")
    newsletters.unsubscribe(email, slug, _reader())
    return Response(status=200)
