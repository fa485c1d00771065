"""Hostile input on the join form: whatever is typed, the answer is a redirect to checkout or a
4xx naming what to fix, never a 5xx, and a refused form leaves nothing behind."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.models import CheckoutAttempt, Member
from tests.web.readers import csrf, post_form

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=120)
# Half of the forms are well formed (so the checkout path runs too), half hostile.
GOOD_EMAILS = st.builds(lambda user, n: f"{user}{n}@example.org", st.sampled_from(["ada", "Grace.H", "o'brien", "zoë"]),
                        st.integers(0, 10**6))
EMAILS = st.one_of(GOOD_EMAILS, GOOD_EMAILS, st.emails(), TEXT, st.sampled_from([
    "ada@example.org", "ADA@EXAMPLE.ORG ", "a@b", "@example.org", "ada@@example.org", "ada@exam ple.org",
    "\u0430da@example.org", "ada@example.org\x00", "<script>@example.org", "' OR 1=1 --@example.org", "a" * 400 + "@x.org",
]))
AMOUNTS = st.one_of(st.just(""), st.sampled_from(["5", "12", "7.50"]), TEXT,
                    st.sampled_from(["5", "4.99", "7.50", "7.555", "-5", "1e9", "NaN", "0x10", "１２", "99999999999"]))
PLANS = st.one_of(st.sampled_from(["monthly-5", "yearly-50", "monthly-pwyw"]), TEXT,
                  st.sampled_from(["MONTHLY-5", "", "monthly-5; DROP TABLE plans"]))


@pytest.fixture(scope="module")
def app(sandbox_app):
    """A well-formed form opens a real checkout on the sandbox."""
    return sandbox_app


def _counts(db_session) -> tuple[int, int]:
    return (db_session.scalar(select(func.count()).select_from(Member)),
            db_session.scalar(select(func.count()).select_from(CheckoutAttempt)))


@SETTINGS
@given(email=EMAILS, name=TEXT, plan=PLANS, amount=AMOUNTS)
def test_any_join_form_gets_a_checkout_or_a_clear_4xx(client, db_session, email, name, plan, amount):
    before = _counts(db_session)
    response = post_form(client, "/join", {"email": email, "name": name, "plan": plan, "amount": amount})
    has_nul = any("\x00" in value for value in (email, name, plan, amount))
    expected = (400,) if has_nul else (303, 200, 422)  # a NUL character is refused before the form is read
    assert response.status_code in expected, (response.status_code, response.get_data(as_text=True)[:300])
    if has_nul:
        assert _counts(db_session) == before
    if response.status_code == 422:
        page = response.get_data(as_text=True)
        assert 'role="alert"' in page or "aria-invalid" in page, "the error is shown next to its field"
        assert _counts(db_session) == before, "a refused form leaves nothing behind"
    db_session.rollback()


def test_wrong_content_types_and_bodies_are_4xx(client, db_session):
    token = csrf(client)
    for body, kind in ((b'{"email": "ada@example.org"}', "application/json"), (b"\xff\xfe\x00", "text/plain"),
                       (b"email=" + b"x" * 2_000_000, "application/x-www-form-urlencoded")):
        response = client.post("/join", data=body, content_type=kind, headers={"X-CSRFToken": token})
        assert 400 <= response.status_code < 500, (kind, response.status_code)
