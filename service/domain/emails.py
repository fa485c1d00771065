"""The emails the service sends, queued through the outbox in the caller's transaction.

Each function renders the message now (so a retry sends exactly what was
decided) and queues it under a dedupe key that says how often it may go out.
Rows are keyed per member, so one member's emails leave in the order queued.
Every function returns the outbox row, or None when that email was queued before.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template

from service.domain.newsletter.links import confirm_url, one_click_url, unsubscribe_url
from service.domain.newsletter.lists import MEMBERS_LIST
from service.domain.outbox import enqueue, handles
from service.gateways import mailer
from service.gateways.mail import Email
from service.models import Contribution, Member, Newsletter, OutboxMessage

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


def _member_email(member: Member, kind: str, subject: str, dedupe_key: str, **context: Any) -> OutboxMessage | None:
    text, html = _render(kind, member=member, **context)
    return _queue(Email(to=member.email, subject=subject, text=text, html=html, kind=kind),
                  f"email:member:{member.id}", dedupe_key)


def queue_welcome(member: Member) -> OutboxMessage | None:
    """Welcome on first activation; once ever per member (dedupe `welcome:{member.id}`). It offers
    the digest's unsubscribe link when the member is on the digest (they are, unless they left it)."""
    try:
        digest_url: str | None = unsubscribe_url(member.email, MEMBERS_LIST)
    except LookupError:
        digest_url = None
    return _member_email(member, "welcome", "Welcome, and thank you for becoming a member",
                         f"welcome:{member.id}", digest_unsubscribe_url=digest_url)


def queue_payment_failed(member: Member, invoice_id: str, attempt_count: int, fix_url: str) -> OutboxMessage | None:
    """A renewal payment failed; once per invoice attempt. `fix_url` is where the card can be updated."""
    return _member_email(member, "payment_failed", "Your membership payment didn't go through",
                         f"payment_failed:{invoice_id}:{attempt_count}", fix_url=fix_url,
                         attempt_count=attempt_count)


def queue_payment_action_required(member: Member, invoice_id: str, attempt_count: int,
                                  confirm_url: str) -> OutboxMessage | None:
    """The bank asks the reader to authenticate a payment (3-D Secure); once per invoice attempt.
    `confirm_url` is Stripe's hosted invoice page, where the reader confirms it."""
    return _member_email(member, "payment_action_required", "Please confirm your membership payment",
                         f"payment_action_required:{invoice_id}:{attempt_count}", confirm_url=confirm_url)


def queue_first_payment_failed(member: Member, checkout_session_id: str, join_url: str) -> OutboxMessage | None:
    """A bank debit for the first payment failed: nothing started, nothing charged; once per checkout."""
    return _member_email(member, "first_payment_failed", "Your bank payment didn't go through",
                         f"first_payment_failed:{checkout_session_id}", join_url=join_url)


def queue_membership_ended(member: Member, ended_at: datetime) -> OutboxMessage | None:
    """The membership ended; once per member and end time."""
    return _member_email(member, "membership_ended", "Your membership has ended",
                         f"membership_ended:{member.id}:{int(ended_at.timestamp())}", ended_at=ended_at)


def queue_receipt(member: Member, contribution: Contribution) -> OutboxMessage | None:
    """The numbered receipt for a contribution, with the organisation's legal details; once per
    contribution and refunded total, so a refund sends a corrected receipt."""
    config = current_app.config
    corrected = contribution.refunded_amount > 0
    subject = (f"Corrected receipt {contribution.receipt_number}" if corrected
               else f"Your receipt {contribution.receipt_number}: thank you")
    return _member_email(member, "receipt", subject,
                         f"receipt:{contribution.id}:{contribution.refunded_amount}", contribution=contribution,
                         corrected=corrected, org_name=config["RECEIPT_ORG_NAME"], tax_id=config["RECEIPT_TAX_ID"],
                         statement=config["RECEIPT_STATEMENT"])


def queue_dedication_notice(member: Member, contribution: Contribution) -> OutboxMessage | None:
    """Tell the person a gift's dedication names someone to notify; once per contribution. The
    amount is not said; the donor's name only when the gift is not anonymous."""
    if not contribution.dedication_notify_email:
        return None
    text, html = _render("dedication", member=member, contribution=contribution,
                         org_name=current_app.config["RECEIPT_ORG_NAME"])
    email = Email(to=contribution.dedication_notify_email, kind="dedication", text=text, html=html,
                  subject=f"A gift to {current_app.config['RECEIPT_ORG_NAME']} "
                          f"in {'memory' if contribution.dedication_type == 'memory' else 'honour'} "
                          f"of {contribution.dedication_name}")
    return _queue(email, f"email:member:{member.id}", f"dedication:{contribution.id}")


def queue_term_reminder(member: Member) -> OutboxMessage | None:
    """A term membership ends soon: the ways to carry on. Once per member and term end."""
    assert member.term_until is not None
    return _member_email(member, "term_reminder", "Your membership ends soon",
                         f"term_reminder:{member.id}:{int(member.term_until.timestamp())}")


def queue_confirmation(email: str, newsletter: Newsletter, *, dedupe_key: str) -> OutboxMessage | None:
    """The double opt-in email: only its link subscribes."""
    text, html = _render("confirm_subscription", newsletter=newsletter, confirm_url=confirm_url(email, newsletter.slug))
    return _queue(Email(to=email, subject=f"Please confirm your subscription to {newsletter.name}", text=text,
                        html=html, kind="confirm_subscription"), f"email:{email}", dedupe_key)


def queue_list_email(newsletter: Newsletter, to: str, subject: str, text: str, html: str | None = None,
                     *, dedupe_key: str | None = None) -> OutboxMessage | None:
    """An email sent as part of a list: carries List-Unsubscribe (RFC 2369) and one-click
    List-Unsubscribe-Post (RFC 8058) for this recipient and list, and an unsubscribe line."""
    page = unsubscribe_url(to, newsletter.slug)  # one subscription lookup and token for all three uses
    footer_text = f"\n\n--\nYou get this as a subscriber to {newsletter.name}. Unsubscribe: {page}\n"
    footer_html = render_template("email/list_footer.html", newsletter=newsletter, unsubscribe_url=page)
    email = Email(to=to, subject=subject, text=text + footer_text, html=(html + footer_html) if html else None,
                  kind=f"list:{newsletter.slug}", list_unsubscribe=one_click_url(page))
    return _queue(email, f"email:{to}", dedupe_key)


def queue_signin(member: Member, *, token_id: int, link: str, code: str, minutes: int) -> OutboxMessage | None:
    """A sign-in link and code for a reader; once per token."""
    return _member_email(member, "signin", "Your sign-in link", f"signin:{token_id}", link=link, code=code,
                         minutes=minutes)


def queue_signin_sent_by_staff(member: Member, *, token_id: int, link: str, code: str,
                               minutes: int) -> OutboxMessage | None:
    """The sign-in email, saying that a member of staff sent it at the reader's request; once per token."""
    return _member_email(member, "signin", "Your sign-in link", f"signin:{token_id}", link=link, code=code,
                         minutes=minutes, by_staff=True)


def queue_email_change_confirmation(member: Member, new_email: str, *, change_id: int, link: str,
                                    expires_at: datetime) -> OutboxMessage | None:
    """To the new address of a staff-requested email change: only its link applies the change; once per change."""
    text, html = _render("email_change_confirm", member=member, new_email=new_email, link=link, expires_at=expires_at)
    return _queue(Email(to=new_email, subject="Please confirm the new email for your membership", text=text,
                        html=html, kind="email_change_confirm"), f"email:member:{member.id}",
                  f"email_change_confirm:{change_id}")


def queue_email_change_notice(member: Member, old_email: str, masked_new_email: str, *, change_id: int | None,
                              applied: bool, now: datetime) -> OutboxMessage | None:
    """To the old address: staff asked to change it (or, `applied`, changed it) to `masked_new_email`;
    once per change (an override has no change row, so once per member and time)."""
    text, html = _render("email_change_notice", member=member, masked_new_email=masked_new_email, applied=applied)
    dedupe = (f"email_change_notice:{change_id}" if change_id is not None
              else f"email_change_notice:{member.id}:{int(now.timestamp() * 1000)}")
    subject = "The email on your membership was changed" if applied else "A request to change your membership email"
    return _queue(Email(to=old_email, subject=subject, text=text, html=html, kind="email_change_notice"),
                  f"email:member:{member.id}", dedupe)
