"""The console's webhook pages: admins only, CSRF on every form, a recent sign-in for changes, the
secret shown once, the delivery log with replay."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.billing.join import new_member
from service.gateways.outgoing_webhooks import WebhookSender
from service.jobs import deliver_outbox
from service.models import AuditEntry, WebhookEndpoint
from tests.webhook_receiver import Receiver

PUBLIC_URL = "https://93.184.216.34/hooks/membership"  # a public address literal: no DNS needed


def register(admin, url=PUBLIC_URL, *types: str):
    return admin.post("/staff/webhooks", {"url": url, "description": "CRM", "event_types": list(types or ["member.created"])})


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_only_admins_reach_the_webhook_pages(staff_login, db_session, role):
    session = staff_login(role)
    assert session.get("/staff/webhooks").status_code == 403
    assert register(session).status_code == 403
    assert "/staff/webhooks" not in session.get("/staff/dashboard").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(anonymous, db_session):
    response = anonymous.get("/staff/webhooks")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(staff_login, db_session):
    admin = staff_login("admin")
    assert 'href="/staff/webhooks"' in admin.get("/staff/users").get_data(as_text=True)
    page = register(admin, PUBLIC_URL, "member.created", "contribution.created")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', page.get_data(as_text=True)).group(1)
    endpoint = db_session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.url == PUBLIC_URL)).one()
    assert endpoint.secret == secret and endpoint.event_types == ["member.created", "contribution.created"]
    assert secret not in admin.get("/staff/webhooks").get_data(as_text=True)
    assert secret not in admin.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook_endpoint.created")).one()
    assert entry.staff_user_id == admin.user.id and secret not in str(entry.after)


def test_forms_need_their_csrf_token(staff_login, db_session):
    admin = staff_login("admin")
    response = admin.client.post("/staff/webhooks", data={"url": PUBLIC_URL, "event_types": "member.created"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_changes_ask_for_the_password_again_after_a_while(staff_login, db_session):
    admin = staff_login("admin")
    admin.age_login(60)
    response = register(admin)
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/reauth")
    assert db_session.scalars(select(WebhookEndpoint)).first() is None


@pytest.mark.parametrize("url, types, message", [
    ("http://127.0.0.1:9/hook", ["member.created"], "not a public address"),
    ("http://localhost/hook", ["member.created"], "WEBHOOK_ALLOW_PRIVATE_URLS=true"),
    (PUBLIC_URL, [], "Choose at least one event type"),
    (PUBLIC_URL, ["member.deleted"], "Must be one of"),
])
def test_bad_endpoints_are_refused_with_a_reason(staff_login, db_session, url, types, message):
    admin = staff_login("admin")
    response = admin.post("/staff/webhooks", {"url": url, "event_types": types})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_rotate_disable_enable_replay_and_delete(staff_login, db_session, app, monkeypatch):
    monkeypatch.setitem(app.extensions, "webhooks", WebhookSender(allow_private=True, require_https=False))
    receiver = Receiver()
    try:
        admin = staff_login("admin")
        register(admin, receiver.url)
        endpoint = db_session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.url == receiver.url)).one()
        rotated = admin.post(f"/staff/webhooks/{endpoint.id}/rotate").get_data(as_text=True)
        new_secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', rotated).group(1)
        receiver.reset(new_secret)

        new_member("ada@example.org", "Ada", utcnow(), source="join form")
        db_session.commit()
        deliver_outbox(10, keys=[f"webhook:{endpoint.id}"])
        page = admin.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
        assert "member.created" in page and "HTTP 200" in page and "succeeded" in page
        [delivery_id] = re.findall(r"/deliveries/(\d+)/replay", page)

        assert admin.post(f"/staff/webhooks/{endpoint.id}/enabled", {"enabled": "false"}).status_code == 303
        db_session.refresh(endpoint)
        assert not endpoint.enabled and "Replay" not in admin.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)
        assert admin.post(f"/staff/webhooks/{endpoint.id}/deliveries/{delivery_id}/replay").status_code == 422
        admin.post(f"/staff/webhooks/{endpoint.id}/enabled", {"enabled": "true"})

        replayed = admin.post(f"/staff/webhooks/{endpoint.id}/deliveries/{delivery_id}/replay")
        assert replayed.status_code == 303
        deliver_outbox(10, keys=[f"webhook:{endpoint.id}"])
        assert len(receiver.events()) == 2 and receiver.events()[0] == receiver.events()[1]
        assert "(replay)" in admin.get(f"/staff/webhooks/{endpoint.id}").get_data(as_text=True)

        assert admin.post(f"/staff/webhooks/{endpoint.id}/delete").status_code == 303
        assert admin.get(f"/staff/webhooks/{endpoint.id}").status_code == 404
        actions = set(db_session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("webhook%"))))
        assert actions == {"webhook_endpoint.created", "webhook_endpoint.secret_rotated", "webhook_endpoint.disabled",
                           "webhook_endpoint.enabled", "webhook_delivery.replayed", "webhook_endpoint.deleted"}
    finally:
        receiver.close()
