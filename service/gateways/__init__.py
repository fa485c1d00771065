"""The only code that talks to the outside world. Each gateway is chosen by
settings when the app starts and injected through `app.extensions`."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from service.gateways.mail import MailGateway, mail_from_config
from service.gateways.newsletter import LocalProvider, NewsletterProvider
from service.gateways.newsletter_mailchimp import MailchimpProvider
from service.gateways.outgoing_webhooks import WebhookSender
from service.gateways.stripe_gateway import StripeGateway


def init_gateways(app: Flask) -> None:
    app.extensions["payments"] = StripeGateway.from_config(app.config)
    app.extensions["mail"] = mail_from_config(app.config)
    app.extensions["newsletter"] = provider_from_config(app.config)
    app.extensions["webhooks"] = WebhookSender.from_config(app.config)


def provider_from_config(config: dict[str, Any]) -> NewsletterProvider:
    if config["NEWSLETTER_PROVIDER"] == "mailchimp":
        return MailchimpProvider.from_config(config)
    return LocalProvider()


def payments() -> StripeGateway:
    """The payments gateway of the current app (Stripe, or the sandbox through the same SDK)."""
    return current_app.extensions["payments"]


def mailer() -> MailGateway:
    """The mail gateway of the current app (SMTP, or the console stand-in)."""
    return current_app.extensions["mail"]


def newsletter_provider() -> NewsletterProvider:
    """The newsletter provider of the current app (local, or Mailchimp)."""
    return current_app.extensions["newsletter"]


def webhook_sender() -> WebhookSender:
    """The outgoing webhooks' sender of the current app (its address rules follow the settings)."""
    return current_app.extensions["webhooks"]
