"""The end of checkout: Stripe sends the reader back here, paid or not."""
from __future__ import annotations

import re

from flask import Blueprint, render_template, request, session

from service.db import utcnow
from service.domain.access import has_access
from service.domain.checkout import confirm_checkout
from service.gateways import billing

bp = Blueprint("join", __name__)
SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
# The browser session key that remembers which pending member this reader is.
JOINING_MEMBER = "joining_member_id"


@bp.get("/join/success")
def success():
    """Runs the same idempotent sync as the webhook, so a reader who arrives first sees
    their membership; the webhook that follows changes nothing. Only for the reader whose
    browser started this checkout: anyone else sees the neutral "processing" page."""
    session_id = request.args.get("session_id", "")
    member = None
    if SESSION_ID.match(session_id) and session.get(JOINING_MEMBER):
        member = confirm_checkout(session_id, session[JOINING_MEMBER], billing(), utcnow())
    welcomed = member is not None and has_access(member, utcnow())
    return render_template("join/success.html", member=member, welcomed=welcomed,
                           session_id=session_id if SESSION_ID.match(session_id) else None)


@bp.get("/join/cancelled")
def cancelled():
    return render_template("join/cancelled.html")
