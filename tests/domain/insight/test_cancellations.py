"""Cancel reasons and offers accepted, counted per month from the cancel flow's answers; the same
figure on the staff dashboard and in `/api/v1/stats` under `insight.cancel_reasons`."""
from __future__ import annotations

from datetime import UTC, datetime

from service.domain.insight.cancellations import cancel_reasons
from service.models import Cancellation, CancelOutcome, CancelReason, RetentionOffer
from tests.factories import make_member


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def seed(db_session) -> None:
    someone = make_member()
    rows = [  # (when, reason, offer, outcome)
        (at(3), CancelReason.TOO_EXPENSIVE, RetentionOffer.LOWER_AMOUNT, CancelOutcome.KEPT),
        (at(3), CancelReason.TOO_EXPENSIVE, None, CancelOutcome.CANCELLED),
        (at(3, 31), CancelReason.NOT_READING, RetentionOffer.PAUSE, CancelOutcome.KEPT),
        (at(4, 1), CancelReason.COVERAGE, None, CancelOutcome.CANCELLED),
        (at(4), CancelReason.NOT_READING, RetentionOffer.PAUSE, CancelOutcome.KEPT),
        (at(6), CancelReason.OTHER, None, CancelOutcome.CANCELLED),  # after `until`
    ]
    for when, reason, offer, outcome in rows:
        db_session.add(Cancellation(member_id=someone.id, reason=reason, offer=offer, outcome=outcome, created_at=when))
    db_session.commit()


def test_counts_by_reason_offer_and_month(db_session):
    seed(db_session)
    figure = cancel_reasons(at(3, 1), at(5, 1))
    # Worked out by hand from the rows above: June's is outside [March, May).
    assert figure.reasons == {"too_expensive": 2, "not_reading": 2, "technical": 0, "coverage": 1,
                              "one_time_gift": 0, "other": 0, "not_given": 0}
    assert figure.offers_accepted == {"lower_amount": 1, "pause": 2}
    assert (figure.kept, figure.cancelled) == (3, 2)
    march, april = figure.months
    assert (march.month, march.reasons, march.offers_accepted, march.kept, march.cancelled) == (
        "2026-03", {"too_expensive": 2, "not_reading": 1}, {"lower_amount": 1, "pause": 1}, 2, 1)
    assert (april.month, april.reasons, april.kept, april.cancelled) == ("2026-04", {"coverage": 1, "not_reading": 1}, 1, 1)
