"""Checkout Sessions and billing portal sessions take the `locale` Stripe takes, and refuse any
other as Stripe does (stripe==16.1.0's SessionCreateParams list the languages: Arabic is not one).

Stripe sources:
- https://docs.stripe.com/api/checkout/sessions/create#create_checkout_session-locale
- https://docs.stripe.com/api/customer_portal/sessions/create#create_portal_session-locale
"""
import pytest
import stripe

SUCCESS = "http://svc.test/give/success?session_id={CHECKOUT_SESSION_ID}"


def _gift(client, **extra):
    return client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": SUCCESS,
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2500,
                                                      "product_data": {"name": "One-time gift"}}}]} | extra)


@pytest.mark.parametrize("locale", ["fr", "auto", "en-GB", "pt-BR"])
def test_checkout_keeps_the_locale_it_is_given(client, locale):
    made = _gift(client, locale=locale)
    assert made.locale == locale and client.v1.checkout.sessions.retrieve(made.id).locale == locale


def test_checkout_without_a_locale_has_none(client):
    assert _gift(client).locale is None


@pytest.mark.parametrize("locale", ["ar", "fr_FR", "FR", "xx"])
def test_checkout_refuses_a_locale_stripe_does_not_show(client, locale):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _gift(client, locale=locale)
    assert refused.value.param == "locale" and "must be one of" in str(refused.value.user_message)


def test_the_portal_takes_stripes_locales_and_refuses_others(client):
    customer = client.v1.customers.create(params={"email": "portal@example.org"})
    session = client.v1.billing_portal.sessions.create(params={"customer": customer.id, "locale": "fr",
                                                               "return_url": "http://svc.test/account"})
    assert session.locale == "fr"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.billing_portal.sessions.create(params={"customer": customer.id, "locale": "ar"})
    assert refused.value.param == "locale"
