"""The console's contributions: the filtered list with totals and CSV, the member page's Giving
section, and the dashboard's giving figures and campaigns."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from service.db import utcnow
from service.models import ContributionKind, DedicationType, MemberStatus
from tests.factories import make_contribution, make_member

MARCH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def text(response) -> str:
    """What a person reads on the page: tags dropped, entities decoded, spaces collapsed."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body))


def receipts(response) -> list[str]:
    """The receipt numbers in the contributions table, top to bottom."""
    return re.findall(r"<td>(\d{4}-\d{6})</td>", response.get_data(as_text=True))


@pytest.fixture
def giving(db_session):
    ada = make_member(email="ada@example.org", name="Ada Lovelace")
    bob = make_member(email="bob@example.org", name="Bob")
    rows = {
        "ada_march": make_contribution(ada, 500, kind=ContributionKind.MEMBERSHIP, paid_at=MARCH, campaign="spring"),
        "bob_gift": make_contribution(bob, 2625, kind=ContributionKind.ONE_TIME, paid_at=MARCH + timedelta(days=1),
                                      campaign="spring", fee_covered=125, refunded_amount=1000, anonymous=True),
        "bob_eur": make_contribution(bob, 1000, "eur", kind=ContributionKind.GIFT_PURCHASE,
                                     paid_at=MARCH + timedelta(days=20), campaign="autumn"),
    }
    db_session.commit()
    return {"ada": ada, "bob": bob, **rows}


def test_anonymous_visitors_are_sent_to_sign_in(anonymous, db_session):
    for path in ("/staff/contributions", "/staff/contributions.csv"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_a_viewer_sees_every_contribution_with_totals_per_currency(staff_login, giving):
    viewer = staff_login("viewer")
    response = viewer.get("/staff/contributions")
    page = text(response)
    assert receipts(response) == [giving[k].receipt_number for k in ("bob_eur", "bob_gift", "ada_march")]
    assert "ada@example.org" in page and "bob@example.org" in page and "gave anonymously" in page
    assert f'href="/staff/members/{giving["ada"].id}"' in response.get_data(as_text=True)
    # The gift row: amount with fee cover, the fee covered, the refund, its campaign.
    assert "2026-03-11 12:00 one time $26.25 $1.25 $10.00 spring" in page
    # Totals: USD paid 31.25, fees 1.25, refunded 10.00, net 21.25; EUR on its own line.
    assert "USD 2 $31.25 $1.25 $10.00 $0.00 $21.25" in page
    assert "EUR 1 €10.00 €0.00 €0.00 €0.00 €10.00" in page


def test_the_form_is_labelled_and_the_nav_links_to_it(staff_login, giving):
    body = staff_login("viewer").get("/staff/contributions").get_data(as_text=True)
    for name in ("kind", "campaign", "since", "until", "currency"):
        field_id = re.search(rf'<(?:input|select) id="([^"]+)"[^>]* name="{name}"', body).group(1)
        assert f'<label for="{field_id}">' in body, name
    assert '<a href="/staff/contributions">Contributions</a>' in body


@pytest.mark.parametrize(
    "query, expected, totals",
    [
        ({"kind": "one_time"}, ["bob_gift"], "USD 1 $26.25"),
        ({"campaign": "spring"}, ["bob_gift", "ada_march"], "USD 2 $31.25"),
        ({"currency": "EUR"}, ["bob_eur"], "EUR 1 €10.00"),
        ({"since": "2026-03-11", "until": "2026-03-30"}, ["bob_eur", "bob_gift"], "USD 1 $26.25"),
        ({"until": "2026-03-10"}, ["ada_march"], "USD 1 $5.00"),
        ({"kind": "", "campaign": "", "since": "", "until": "", "currency": ""}, ["bob_eur", "bob_gift", "ada_march"], "USD 2"),
    ],
)
def test_filters_narrow_the_list_and_the_totals(staff_login, giving, query, expected, totals):
    response = staff_login("viewer").get("/staff/contributions", query_string=query)
    assert receipts(response) == [giving[k].receipt_number for k in expected]
    assert totals in text(response)


def test_one_members_contributions_link_back_to_everyone(staff_login, giving):
    response = staff_login("viewer").get("/staff/contributions", query_string={"member_id": giving["bob"].id})
    assert receipts(response) == [giving["bob_eur"].receipt_number, giving["bob_gift"].receipt_number]
    assert "Only the contributions of bob@example.org" in text(response)


def test_a_filter_that_matches_nothing_says_so(staff_login, giving):
    assert "No contributions match." in text(staff_login("viewer").get("/staff/contributions?campaign=none-such"))


@pytest.mark.parametrize("query, field", [("since=last+week", "since"), ("kind=donation", "kind"),
                                          ("currency=dollars", "currency"), ("cursor=7", "cursor")])
def test_bad_filters_are_explained_not_a_500(staff_login, giving, query, field):
    response = staff_login("viewer").get(f"/staff/contributions?{query}")
    assert response.status_code == 422
    assert f"{field}:" in html.unescape(response.get_data(as_text=True))


def test_pages_follow_the_next_link(staff_login, db_session):
    member = make_member()
    made = [make_contribution(member, 100 + n, paid_at=MARCH + timedelta(minutes=n)) for n in range(53)]
    db_session.commit()
    viewer = staff_login("viewer")
    first = viewer.get("/staff/contributions", query_string={"member_id": member.id})
    assert len(receipts(first)) == 50 and "First page" not in text(first)
    following = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', first.get_data(as_text=True)).group(1))
    assert f"member_id={member.id}" in following
    second = viewer.get(following)
    assert receipts(second) == [c.receipt_number for c in made[2::-1]]
    assert 'rel="next"' not in second.get_data(as_text=True) and "First page" in text(second)
    assert "USD 53" in text(second)  # the totals are for the whole filter, on every page


def test_download_csv_keeps_the_filters_and_escapes_formulas(staff_login, db_session, giving):
    hostile = make_member(email="+1-1@example.org", name="=cmd|' /C calc'!A0")
    make_contribution(hostile, 700, campaign="spring", paid_at=MARCH + timedelta(days=2))
    db_session.commit()
    viewer = staff_login("viewer")
    body = viewer.get("/staff/contributions", query_string={"campaign": "spring", "currency": "usd"}).get_data(as_text=True)
    link = html.unescape(re.search(r'<a href="([^"]+)" download>Download CSV</a>', body).group(1))
    assert link.startswith("/staff/contributions.csv?") and "campaign=spring" in link and "currency=usd" in link
    response = viewer.get(link)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["receipt_number"] for r in rows][1:] == [giving["bob_gift"].receipt_number, giving["ada_march"].receipt_number]
    assert (rows[0]["email"], rows[0]["name"], rows[0]["amount"]) == ("'+1-1@example.org", "'=cmd|' /C calc'!A0", "7.00")


# --- the member page -----------------------------------------------------------------------


def test_the_member_page_has_a_giving_section(staff_login, db_session):
    now = utcnow()
    member = make_member(status=MemberStatus.ACTIVE, term_since=now - timedelta(days=10), term_until=now + timedelta(days=140),
                         first_touch={"utm_source": "newsletter", "campaign": "spring", "at": "2026-03-01T09:00:00+00:00"},
                         latest_touch={"utm_campaign": "autumn", "referral": "friend42", "at": "2026-09-01T09:00:00+00:00"})
    gift = make_contribution(member, 2625, fee_covered=125, kind=ContributionKind.ONE_TIME, term_months=5, campaign="spring",
                             paid_at=now - timedelta(days=10), dedication_type=DedicationType.MEMORY, dedication_name="Grace")
    dues = make_contribution(member, 500, "eur", kind=ContributionKind.MEMBERSHIP, refunded_amount=500, paid_at=now - timedelta(days=40))
    db_session.commit()
    response = staff_login("viewer").get(f"/staff/members/{member.id}")
    page = text(response)
    giving_section = page[page.index("Giving"):page.index("Newsletters")]
    assert f"ends {now + timedelta(days=140):%Y-%m-%d}" in giving_section
    assert "EUR 1 €5.00 €5.00 €0.00" in giving_section and "USD 1 $26.25 $0.00 $26.25" in giving_section
    assert giving_section.index(gift.receipt_number) < giving_section.index(dues.receipt_number)  # newest first
    assert "one time (5 months)" in giving_section and "in memory of Grace" in giving_section
    assert "First touch campaign: spring · utm_source: newsletter" in giving_section
    assert "Latest touch referral: friend42 · utm_campaign: autumn" in giving_section
    assert f"/staff/contributions?member_id={member.id}" in response.get_data(as_text=True)


def test_a_member_who_never_gave_says_so(staff_login, db_session):
    member = make_member()
    db_session.commit()
    page = text(staff_login("viewer").get(f"/staff/members/{member.id}"))
    assert "No contributions yet." in page and "First touch none recorded" in page


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_shows_this_months_giving_and_the_campaigns(staff_login, db_session):
    now = utcnow()
    payer = make_member(first_touch={"campaign": "dash-drive"})
    make_member(first_touch={"utm_campaign": "dash-drive"})
    make_member(first_touch={"campaign": "quiet-drive"})
    make_contribution(payer, 1500, kind=ContributionKind.ONE_TIME, campaign="dash-drive", paid_at=now)
    make_contribution(payer, 500, kind=ContributionKind.MEMBERSHIP, paid_at=now)
    db_session.commit()
    page = text(staff_login("viewer").get("/staff/dashboard"))
    month = page[page.index("This month"):page.index("Last 12 months")]
    assert "one time (USD) 1 $15.00 $15.00" in month and "membership (USD) 1 $5.00 $5.00" in month
    campaigns = page[page.index("Campaigns, last 12 months"):]
    assert "dash-drive 1 $15.00" in campaigns  # by revenue
    assert "dash-drive 2" in campaigns[campaigns.index("By joins"):] and "quiet-drive 1" in campaigns
    # The dashboard's other figures are still there.
    assert "Members by status" in page and "Monthly recurring revenue" in page and "Webhook health" in page
