"""Billing portal sessions: POST /v1/billing_portal/sessions -> the sandbox portal page."""
from flask import request

from ..api import endpoint
from ..ids import new_id
from ..listing import render
from ..wire import choice, reject_unknown, required, string
from .customers import get_customer

CONFIGURATION = "bpc_sandbox_default"
CREATE = {"customer", "return_url", "locale", "configuration"}
# The languages Stripe shows the portal in (stripe==16.1.0, billing_portal.SessionCreateParams.locale);
# anything else is refused, as Stripe refuses it.
LOCALES = ("auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-SG",
           "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt",
           "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW")


@endpoint("/billing_portal/sessions", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    choice(params, "locale", LOCALES)
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
