"""Billing portal sessions: POST /v1/billing_portal/sessions -> the sandbox portal page."""
from flask import request

from ..api import endpoint
from ..ids import new_id
from ..listing import render
from ..wire import reject_unknown, required, string
from .customers import get_customer

CONFIGURATION = "bpc_sandbox_default"
CREATE = {"customer", "return_url", "locale", "configuration"}


@endpoint("/billing_portal/sessions", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    customer = get_customer(sb, required(params, "customer"), "customer", 400)
    session_id = new_id("bps_")
    session = {
        "id": session_id, "object": "billing_portal.session",
        "configuration": string(params, "configuration") or CONFIGURATION, "created": sb.now_for(customer["id"]),
        "customer": customer["id"], "customer_account": None, "flow": None, "livemode": False,
        "locale": string(params, "locale"), "on_behalf_of": None,
        "return_url": string(params, "return_url"),
        "url": f"{request.url_root}portal/{session_id}",
    }
    sb.store.put(session)
    return render(sb, session, params)
