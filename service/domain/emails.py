"""The emails the service sends, queued through the outbox in the caller's transaction.

Each function renders the message now (so a retry sends exactly what was
decided) and queues it under a dedupe key that says how often it may go out.
Rows are keyed per member, so one member's emails leave in the order queued.
Every function returns the outbox row, or None when that email was queued before.

A member's email is written in the member's language (`in_language`), whatever page or job
queued it; an email to an address that is no member's (a newsletter confirmation) is written
in the language of the page that asked for it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString

from service.domain.newsletter.links import confirm_url, one_click_url, unsubscribe_url
from service.domain.newsletter.lists import MEMBERS_LIST, list_name
from service.domain.outbox import enqueue, handles
from service.gateways import mailer
from service.gateways.mail import Email, attachment
from service.i18n import in_language
from service.models import Contribution, Gift, Member, Newsletter, OutboxMessage, Statement

EMAIL_TOPIC = "email"


@handles(EMAIL_TOPIC)
def send(payload: dict[str, Any]) -> None:
    """Outbox handler: send one queued email through the mail gateway."""
    mailer().send(Email.from_payload(payload))


def _render(template: str, **context: Any) -> tuple[str, str]:
    context.setdefault("base_url", current_app.config["BASE_URL"])
    return render_template(f"email/{template}.txt", **context), render_template(f"email/{template}.html", **context)


def _queue(email: Email, key: str, dedupe_key: str | None) -> OutboxMessage | None:
    return enqueue(EMAIL_TOPIC, key, email.to_payload(), dedupe_key=dedupe_key)


def _member_email(member: Member, kind: str, subject: LazyString, dedupe_key: str, *,
                  attachments: list[dict[str, str]] | None = None, **context: Any) -> OutboxMessage | None:
    """`subject` is a lazy_gettext string: it is translated here, with the body, into the member's language."""
    with in_language(member.language):
        text, html = _render(kind, member=member, **context)
        email = Email(to=member.email, subject=str(subject), text=text, html=html, kind=kind, attachments=attachments or [])
    return _queue(email, f"email:member:{member.id}", dedupe_key)


def queue_welcome(member: Member) -> OutboxMessage | None:
    """Welcome on first activation; once ever per member (dedupe `welcome:{member.id}`). It offers
    the digest's unsubscribe link when the member is on the digest (they are, unless they left it)."""
    try:
        digest_url: str | None = unsubscribe_url(member.email, MEMBERS_LIST)
    except LookupError:
        digest_url = None
    return _member_email(member, "welcome", lazy_gettext("Welcome, and thank you for becoming a member"),
                         f"welcome:{member.id}", digest_unsubscribe_url=digest_url)


def queue_payment_failed(member: Member, invoice_id: str, attempt_count: int, fix_url: str) -> OutboxMessage | None:
    """A renewal payment failed; once per invoice attempt. `fix_url` is where the card can be updated."""
    return _member_email(member, "payment_failed", lazy_gettext("Your membership payment didn't go through"),
                         f"payment_failed:{invoice_id}:{attempt_count}", fix_url=fix_url,
                         attempt_count=attempt_count)


def queue_payment_action_required(member: Member, invoice_id: str, attempt_count: int,
                                  confirm_url: str) -> OutboxMessage | None:
    """The bank asks the reader to authenticate a payment (3-D Secure); once per invoice attempt.
    `confirm_url` is Stripe's hosted invoice page, where the reader confirms it."""
    return _member_email(member, "payment_action_required", lazy_gettext("Please confirm your membership payment"),
                         f"payment_action_required:{invoice_id}:{attempt_count}", confirm_url=confirm_url)


def queue_first_payment_failed(member: Member, checkout_session_id: str, join_url: str) -> OutboxMessage | None:
    """A bank debit for the first payment failed: nothing started, nothing charged; once per checkout."""
    return _member_email(member, "first_payment_failed", lazy_gettext("Your bank payment didn't go through"),
                         f"first_payment_failed:{checkout_session_id}", join_url=join_url)


def queue_membership_ended(member: Member, ended_at: datetime) -> OutboxMessage | None:
    """The membership ended; once per member and end time."""
    return _member_email(member, "membership_ended", lazy_gettext("Your membership has ended"),
                         f"membership_ended:{member.id}:{int(ended_at.timestamp())}", ended_at=ended_at)


def queue_receipt(member: Member, contribution: Contribution) -> OutboxMessage | None:
    """The numbered receipt for a contribution, with the organisation's legal details; once per
    contribution and refunded total, so a refund sends a corrected receipt."""
    config = current_app.config
    corrected = contribution.refunded_amount > 0
    number = contribution.receipt_number
    subject = (lazy_gettext("Corrected receipt %(number)s", number=number) if corrected
               else lazy_gettext("Your receipt %(number)s: thank you", number=number))
    return _member_email(member, "receipt", subject,
                         f"receipt:{contribution.id}:{contribution.refunded_amount}", contribution=contribution,
                         corrected=corrected, org_name=config["RECEIPT_ORG_NAME"], tax_id=config["RECEIPT_TAX_ID"],
                         statement=config["RECEIPT_STATEMENT"])


def queue_statement(member: Member, statement: Statement, pdf_bytes: bytes, *, period: str) -> OutboxMessage | None:
    """The annual giving statement, its PDF attached; `period` is the fiscal year's dates in words,
    in the member's language (as the email is). Once per member, fiscal year and build: a statement
    rebuilt because its contributions changed can go out again, a second click on the same one cannot."""
    config = current_app.config
    pdf = attachment(f"giving-statement-{statement.fiscal_year}.pdf", "application/pdf", pdf_bytes)
    return _member_email(member, "statement",
                         lazy_gettext("Your giving statement for fiscal year %(year)s", year=statement.fiscal_year),
                         f"statement:{member.id}:{statement.fiscal_year}:{statement.built_at:%Y%m%dT%H%M%S%f}",
                         attachments=[pdf], statement=statement, period=period, org_name=config["RECEIPT_ORG_NAME"],
                         tax_id=config["RECEIPT_TAX_ID"], receipt_statement=config["RECEIPT_STATEMENT"])


def queue_dedication_notice(member: Member, contribution: Contribution) -> OutboxMessage | None:
    """Tell the person a gift's dedication names someone to notify; once per contribution. The
    amount is not said; the donor's name only when the gift is not anonymous."""
    if not contribution.dedication_notify_email:
        return None
    org, name = current_app.config["RECEIPT_ORG_NAME"], contribution.dedication_name
    with in_language(member.language):  # the donor's: we know nothing of the person notified
        text, html = _render("dedication", member=member, contribution=contribution, org_name=org)
        subject = (gettext("A gift to %(org)s in memory of %(name)s", org=org, name=name)
                   if contribution.dedication_type == "memory"
                   else gettext("A gift to %(org)s in honour of %(name)s", org=org, name=name))
        email = Email(to=contribution.dedication_notify_email, kind="dedication", text=text, html=html, subject=subject)
    return _queue(email, f"email:member:{member.id}", f"dedication:{contribution.id}")


def queue_gift_confirmation(purchaser: Member, gift: Gift) -> OutboxMessage | None:
    """The purchaser's confirmation of a gift membership: for whom, how long, and when the
    recipient will hear (the receipt goes separately). Once per gift."""
    return _member_email(purchaser, "gift_confirmation", lazy_gettext("Your gift membership is on its way"),
                         f"gift_confirmation:{gift.id}", gift=gift, org_name=current_app.config["RECEIPT_ORG_NAME"])


def queue_gift_delivery(gift: Gift, redeem_url: str, *, dedupe_key: str) -> OutboxMessage | None:
    """The recipient's email: who gave them a membership, the purchaser's message, and the link
    that redeems it; written in the language the purchaser used (we know nothing else of the recipient)."""
    org = current_app.config["RECEIPT_ORG_NAME"]
    with in_language(gift.language):
        text, html = _render("gift_delivery", gift=gift, redeem_url=redeem_url, org_name=org)
        subject = gettext("%(name)s has given you a membership of %(org)s", name=gift.purchaser_name, org=org)
        email = Email(to=gift.recipient_email, kind="gift_delivery", text=text, html=html, subject=subject)
    return _queue(email, f"email:gift:{gift.id}", dedupe_key)


def queue_term_reminder(member: Member, *, gift_from: str | None = None) -> OutboxMessage | None:
    """A term membership ends soon: the ways to carry on. Once per member and term end. `gift_from`
    names who gave the membership when it was a gift membership (the email thanks the right person)."""
    assert member.term_until is not None
    return _member_email(member, "term_reminder", lazy_gettext("Your membership ends soon"),
                         f"term_reminder:{member.id}:{int(member.term_until.timestamp())}", gift_from=gift_from)


def queue_confirmation(email: str, newsletter: Newsletter, *, dedupe_key: str) -> OutboxMessage | None:
    """The double opt-in email: only its link subscribes."""
    text, html = _render("confirm_subscription", newsletter=newsletter, confirm_url=confirm_url(email, newsletter.slug))
    subject = gettext("Please confirm your subscription to %(newsletter)s", newsletter=list_name(newsletter))
    return _queue(Email(to=email, subject=subject, text=text, html=html, kind="confirm_subscription"),
                  f"email:{email}", dedupe_key)


def queue_list_email(newsletter: Newsletter, to: str, subject: str, text: str, html: str | None = None,
                     *, dedupe_key: str | None = None) -> OutboxMessage | None:
    """An email sent as part of a list: carries List-Unsubscribe (RFC 2369) and one-click
    List-Unsubscribe-Post (RFC 8058) for this recipient and list, and an unsubscribe line."""
    page = unsubscribe_url(to, newsletter.slug)  # one subscription lookup and token for all three uses
    footer = gettext("You get this as a subscriber to %(newsletter)s. Unsubscribe: %(url)s", newsletter=list_name(newsletter), url=page)
    footer_text = f"\n\n--\n{footer}\n"
    footer_html = render_template("email/list_footer.html", newsletter=newsletter, unsubscribe_url=page)
    email = Email(to=to, subject=subject, text=text + footer_text, html=(html + footer_html) if html else None,
                  kind=f"list:{newsletter.slug}", list_unsubscribe=one_click_url(page))
    return _queue(email, f"email:{to}", dedupe_key)


def queue_signin(member: Member, *, token_id: int, link: str, code: str, minutes: int) -> OutboxMessage | None:
    """A sign-in link and code for a reader; once per token."""
    return _member_email(member, "signin", lazy_gettext("Your sign-in link"), f"signin:{token_id}", link=link, code=code,
                         minutes=minutes)


def queue_signin_sent_by_staff(member: Member, *, token_id: int, link: str, code: str,
                               minutes: int) -> OutboxMessage | None:
    """The sign-in email, saying that a member of staff sent it at the reader's request; once per token."""
    return _member_email(member, "signin", lazy_gettext("Your sign-in link"), f"signin:{token_id}", link=link, code=code,
                         minutes=minutes, by_staff=True)


def queue_email_change_confirmation(member: Member, new_email: str, *, change_id: int, link: str,
                                    expires_at: datetime) -> OutboxMessage | None:
    """To the new address of a staff-requested email change: only its link applies the change; once per change."""
    with in_language(member.language):
        text, html = _render("email_change_confirm", member=member, new_email=new_email, link=link, expires_at=expires_at)
        email = Email(to=new_email, subject=gettext("Please confirm the new email for your membership"), text=text,
                      html=html, kind="email_change_confirm")
    return _queue(email, f"email:member:{member.id}", f"email_change_confirm:{change_id}")


def queue_email_change_notice(member: Member, old_email: str, masked_new_email: str, *, change_id: int | None,
                              applied: bool, now: datetime) -> OutboxMessage | None:
    """To the old address: staff asked to change it (or, `applied`, changed it) to `masked_new_email`;
    once per change (an override has no change row, so once per member and time)."""
    with in_language(member.language):
        text, html = _render("email_change_notice", member=member, masked_new_email=masked_new_email, applied=applied)
        subject = (gettext("The email on your membership was changed") if applied
                   else gettext("A request to change your membership email"))
    dedupe = (f"email_change_notice:{change_id}" if change_id is not None
              else f"email_change_notice:{member.id}:{int(now.timestamp() * 1000)}")
    return _queue(Email(to=old_email, subject=subject, text=text, html=html, kind="email_change_notice"),
                  f"email:member:{member.id}", dedupe)
