"""Cards typed on the hosted pages: which ones pay, and replacing a customer's card.

https://docs.stripe.com/testing#cards ; the payments themselves are made by
checkout_pay.py (Checkout), renewals.py (the clock) and invoicing.py.
"""
from .cards import AUTH_ALWAYS, AUTH_UNLESS_SET_UP, DECLINED, PAYS, lookup
from .events import save_updated
from .resources.charges import new_payment_method, set_up_for_future_use


class CardDeclined(Exception):
    """The card was refused; nothing was created."""


class UnknownCard(Exception):
    """Not one of the test card numbers the sandbox understands."""


def check_card(number: str) -> None:
    """Refuse unknown numbers and cards declined outright (0002)."""
    card = lookup(number)
    if card is None:
        raise UnknownCard(number)
    if card[1] == DECLINED:
        raise CardDeclined(number)


def check_first_payment(number: str) -> bool:
    """For a payment made now, on-session: raises like check_card, and also for 0341
    (it attaches, but a charge on it fails); returns True when the bank will ask the
    cardholder to authenticate (3155, 3184)."""
    check_card(number)
    behaviour = lookup(number)[1]
    if behaviour not in (PAYS, AUTH_UNLESS_SET_UP, AUTH_ALWAYS):
        raise CardDeclined(number)
    return behaviour in (AUTH_UNLESS_SET_UP, AUTH_ALWAYS)


def replace_card(sb, customer: dict, card_number: str) -> dict:
    """Attach a new card and make it the default for the customer and their subscriptions.

    The portal sets the card up for future off-session payments
    (https://docs.stripe.com/payments/save-and-reuse). 4000 0000 0000 0341
    attaches fine; charges on it fail later. Raises CardDeclined for cards
    refused outright, UnknownCard for other numbers.
    """
    check_card(card_number)
    pm = set_up_for_future_use(sb, new_payment_method(sb, card_number, customer["id"], customer["email"]))
    settings = {**customer["invoice_settings"], "default_payment_method": pm["id"]}
    save_updated(sb, "customer.updated", customer, {**customer, "invoice_settings": settings})
    for sub in sb.store.all("subscription", customer["id"]):
        if sub["status"] not in ("canceled", "incomplete_expired"):
            save_updated(sb, "customer.subscription.updated", sub,
                         {**sub, "default_payment_method": pm["id"]})
    return pm
