"""The full Checkout Session object, every field Stripe's 2026 fixture has."""


def session_object(session_id, params, *, now, expires_at, customer, currency, amount,
                   success_url) -> dict:
    """`amount` is the line item's total in the session's `currency`."""
    return {
        "id": session_id, "object": "checkout.session", "adaptive_pricing": {"enabled": False},
        "after_expiration": None, "allow_promotion_codes": _flag(params, "allow_promotion_codes"),
        "amount_subtotal": amount, "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"), "client_secret": None,
        "collected_information": None, "consent": None, "consent_collection": None,
        "created": now, "currency": currency, "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer, "customer_account": None, "customer_creation": None,
        "customer_details": None, "customer_email": params.get("customer_email"),
        "discounts": [], "expires_at": expires_at, "integration_identifier": None,
        "invoice": None, "invoice_creation": None, "livemode": False,
        "locale": params.get("locale"), "managed_payments": {"enabled": False},
        "metadata": {}, "mode": "subscription", "origin_context": None, "payment_intent": None,
        "payment_link": None, "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "payment_status": "unpaid", "permissions": None,
        "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": {"allow_redisplay_filters": ["always"],
                                         "payment_method_remove": None,
                                         "payment_method_save": None},
        "setup_intent": None, "shipping_address_collection": None, "shipping_cost": None,
        "shipping_options": [], "status": "open", "submit_type": None, "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": params.get("ui_mode") or "hosted_page", "url": None, "wallet_options": None,
    }


def _flag(params, name):
    value = params.get(name)
    return None if value is None else value == "true"
