"""Newsletters: the enrolment policy, lists, signed links and consent records."""
