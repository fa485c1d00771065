"""The only code that talks to the outside world. Each gateway is chosen by
settings when the app starts and injected through `app.extensions`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from service.gateways.mail import MailGateway
    from service.gateways.newsletter import NewsletterProvider
    from service.gateways.stripe_gateway import StripeGateway


def init_gateways(app: Flask) -> None:
    from service.gateways.mail import mail_from_config
    from service.gateways.newsletter import provider_from_config
    from service.gateways.stripe_gateway import StripeGateway

    app.extensions["billing"] = StripeGateway.from_config(app.config)
    app.extensions["mail"] = mail_from_config(app.config)
    app.extensions["newsletter"] = provider_from_config(app.config)


def billing() -> StripeGateway:
    """The billing gateway of the current app (Stripe, or the sandbox through the same SDK)."""
    return current_app.extensions["billing"]


def mailer() -> MailGateway:
    """The mail gateway of the current app (SMTP, or the console stand-in)."""
    return current_app.extensions["mail"]


def newsletter_provider() -> NewsletterProvider:
    """The newsletter provider of the current app (local, or Mailchimp)."""
    return current_app.extensions["newsletter"]
