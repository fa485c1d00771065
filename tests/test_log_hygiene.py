"""A full run's logs hold no secrets, tokens, card numbers or (at info and above) emails."""
from __future__ import annotations

import logging

import pytest

from service.logs import JsonFormatter
from tests.billing import SECRET, deliver_all, replace_card

STAFF_PASSWORD = "a long and unusual staff passphrase 9"


@pytest.fixture(scope="module")
def app(sandbox_app):
    """The run pays, fails a renewal and reconciles on the sandbox, so its logs have all of that in them."""
    return sandbox_app


def test_logs_of_a_full_run_hold_nothing_secret(app, cli, client, db_session, reader, tap, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    created = cli("staff", "create", "ops@newsroom.example", "--role", "support", "--password-stdin",
                  input=STAFF_PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    token = cli("token", "create", "ops@newsroom.example", "--scope", "write").output.strip()
    assert client.get(f"/api/v1/members/{reader.member.id}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    reader.pay()
    deliver_all(client, tap.new())
    replace_card(reader, "4000 0000 0000 0341")
    sandbox.advance(days=31)
    deliver_all(client, tap.new())
    assert cli("reconcile").exit_code == 0
    assert client.post(f"/api/v1/members/{reader.member.id}/resync",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200

    formatter = JsonFormatter()
    lines = [(record.levelno, formatter.format(record)) for record in caplog.records]
    assert len(lines) > 20, "the run should have logged its work"
    everything = "\n".join(line for _, line in lines)
    secrets = [app.config["SECRET_KEY"], SECRET, app.config["STRIPE_SECRET_KEY"], token, STAFF_PASSWORD,
               "4242424242424242", "4242 4242 4242 4242", "4000000000000341", "4000 0000 0000 0341"]
    for secret in secrets:
        assert secret not in everything, f"{secret[:6]}... appears in the logs"
    emails = [reader.member.email, "ops@newsroom.example"]
    loud = "\n".join(line for level, line in lines if level >= logging.INFO)
    for email in emails:
        assert email not in loud, f"{email} logged at info level or above"
