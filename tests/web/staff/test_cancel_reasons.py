"""The cancel flow's reasons and offers accepted on the staff dashboard and in `/api/v1/stats`
(`insight.cancel_reasons`); the figure itself is tested in tests/domain/insight/test_cancellations.py."""
from __future__ import annotations

from service.models import Cancellation, CancelOutcome, CancelReason, RetentionOffer
from tests.factories import make_member


def test_on_the_dashboard_and_in_the_stats(client, db_session, api_token, staff_login):
    db_session.add(Cancellation(member_id=make_member().id, reason=CancelReason.TECHNICAL, offer=RetentionOffer.YEARLY,
                                outcome=CancelOutcome.KEPT))
    db_session.commit()
    stats = client.get("/api/v1/stats", headers=api_token("viewer")).get_json()["insight"]["cancel_reasons"]
    assert stats["reasons"]["technical"] >= 1 and stats["offers_accepted"]["yearly"] >= 1
    assert stats["months"][-1]["kept"] >= 1
    page = staff_login("viewer").get("/staff/dashboard").get_data(as_text=True)
    assert "Cancel reasons and offers accepted" in page
