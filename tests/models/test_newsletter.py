"""The two newsletters are seeded by the migration."""
from __future__ import annotations

from sqlalchemy import select

from service.models import Newsletter


def test_the_migration_seeds_the_members_digest_and_the_daily_headlines(db_session):
    lists = {n.slug: n for n in db_session.scalars(select(Newsletter))}
    assert set(lists) == {"members-digest", "daily-headlines"}
    digest, headlines = lists["members-digest"], lists["daily-headlines"]
    assert (digest.members_only, digest.double_opt_in) == (True, False)
    assert (headlines.members_only, headlines.double_opt_in) == (False, True)
