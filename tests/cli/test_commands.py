"""The `membership` command: in-process for behaviour, and as the installed script for start-up."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from service.domain.staff.users import find_staff, verify_password
from service.models import ApiToken, Role
from tests.factories import make_staff

PASSWORD = "tidal-orbit-lantern-93"
MEMBERSHIP = Path(sys.executable).parent / "membership"


def one_line(output: str) -> bool:
    return len(output.strip().splitlines()) == 1


# --- staff ---------------------------------------------------------------------


def test_staff_create_with_password_from_stdin(cli, db_session):
    result = cli("staff", "create", "Desk@Newsroom.example", "--role", "support", "--password-stdin",
                 input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created staff user desk@newsroom.example (support)" in result.output
    user = find_staff("desk@newsroom.example")
    assert user.role is Role.SUPPORT
    assert verify_password(user, PASSWORD)


def test_staff_create_refuses_a_weak_password_in_one_line(cli):
    result = cli("staff", "create", "weak@newsroom.example", "--role", "viewer", "--password-stdin",
                 input="short\n")
    assert result.exit_code == 1
    assert one_line(result.output)
    assert "at least 12 characters" in result.output
    assert "Traceback" not in result.output
    assert find_staff("weak@newsroom.example") is None


def test_staff_create_refuses_an_existing_email(cli, db_session):
    make_staff(email="taken@newsroom.example")
    result = cli("staff", "create", "TAKEN@newsroom.example", "--role", "viewer", "--password-stdin",
                 input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert one_line(result.output) and "already exists" in result.output


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["boss@newsroom.example", "--role", "boss"], "'boss' is not one of 'viewer', 'support', 'admin'"),
        (["boss@newsroom.example"], "Missing option '--role'"),
        (["not-an-email", "--role", "admin"], "is not an email address"),
    ],
)
def test_staff_create_bad_arguments_show_usage(cli, args, complaint):
    result = cli("staff", "create", *args, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert result.output.startswith("Usage: membership staff create")
    assert complaint in result.output


# --- tokens --------------------------------------------------------------------


def test_a_created_token_authenticates_the_api(cli, client, db_session):
    user = make_staff(role="viewer")
    result = cli("token", "create", user.email, "--name", "reporting")
    assert result.exit_code == 0, result.output
    plain = result.output.strip()
    assert one_line(result.output) and plain.startswith("mbr_")

    response = client.get("/api/v1/members", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


def test_token_create_for_an_unknown_email_fails_in_one_line(cli):
    result = cli("token", "create", "nobody@newsroom.example")
    assert result.exit_code == 1
    assert one_line(result.output) and "nobody@newsroom.example" in result.output


def test_a_revoked_token_gets_401(cli, client, db_session):
    user = make_staff()
    plain = cli("token", "create", user.email).output.strip()
    token = db_session.scalar(select(ApiToken).where(
        ApiToken.token_hash == hashlib.sha256(plain.encode()).hexdigest()))
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/members", headers=headers).status_code == 200

    result = cli("token", "revoke", str(token.id))
    assert result.exit_code == 0, result.output
    assert f"revoked token {token.id}" in result.output
    assert client.get("/api/v1/members", headers=headers).status_code == 401


@pytest.mark.parametrize("token_id, code", [("987654321", 1), ("abc", 2)])
def test_token_revoke_refuses_unknown_or_malformed_ids(cli, token_id, code):
    result = cli("token", "revoke", token_id)
    assert result.exit_code == code
    assert "Traceback" not in result.output


# --- the installed console script -------------------------------------------------


@pytest.fixture
def run(tmp_path):
    """Run the installed `membership` script with a fresh instance dir and SQLite database."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "MEMBERSHIP_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }

    def membership(*args: str, input: str | None = None, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(MEMBERSHIP), *args], env={**env, **extra_env}, cwd=tmp_path,
                              input=input, capture_output=True, text=True, timeout=60)

    return membership


def test_help_lists_the_main_commands(run):
    result = run("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1]
    for name in ("db", "staff", "token", "serve"):
        assert f"\n  {name} " in commands


@pytest.mark.parametrize(
    "command, says",
    [
        (["db"], "upgrade"),
        (["db", "upgrade"], "Migrate the database"),
        (["staff"], "create"),
        (["staff", "create"], "--password-stdin"),
        (["token"], "revoke"),
        (["token", "create"], "shown only this once"),
        (["token", "revoke"], "401"),
        (["serve"], "--port"),
    ],
)
def test_every_subcommand_has_useful_help(run, command, says):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: membership {' '.join(command)}")
    assert says in result.stdout


def test_db_upgrade_creates_a_database_the_other_commands_can_use(run, tmp_path):
    result = run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "database at head" in result.stdout
    assert (tmp_path / "x.sqlite3").stat().st_size > 0

    created = run("staff", "create", "ops@newsroom.example", "--role", "admin", "--password-stdin",
                  input=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    token = run("token", "create", "ops@newsroom.example")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("mbr_")


def test_production_without_its_secrets_refuses_to_start(run):
    result = run("db", "upgrade", MEMBERSHIP_ENV="production", STRIPE_SECRET_KEY="sk_live_x")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_each_list_can_have_its_own_provider_list(cli, db_session):
    from sqlalchemy import select

    from service.models import Newsletter

    result = cli("newsletters", "set-provider-list", "daily-headlines", "aud123")
    assert result.exit_code == 0, result.output
    assert db_session.scalar(select(Newsletter.provider_list_id).where(Newsletter.slug == "daily-headlines")) == "aud123"
    listing = cli("newsletters", "list")
    assert "daily-headlines" in listing.output and "aud123" in listing.output
    assert "(MAILCHIMP_LIST_ID)" in listing.output  # the digest still falls back to the default
    unknown = cli("newsletters", "set-provider-list", "no-such-list", "x")
    assert unknown.exit_code != 0 and "no-such-list" in unknown.output


def test_a_refused_command_in_a_real_process_ends_in_one_line(run):
    """A DomainError from a command (weak password, existing user) is one line on stderr and
    exit 1 in the installed script too, not a traceback from outside the app context."""
    assert run("db", "upgrade").returncode == 0
    weak = run("staff", "create", "ops@newsroom.example", "--role", "admin", "--password-stdin", input="short\n")
    assert weak.returncode == 1
    assert "Traceback" not in weak.stderr and "application context" not in weak.stderr
    assert weak.stderr.startswith("Error: ") and len(weak.stderr.strip().splitlines()) == 1
    assert "password" in weak.stderr.lower()

    assert run("staff", "create", "ops@newsroom.example", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n").returncode == 0
    again = run("staff", "create", "OPS@newsroom.example", "--role", "viewer", "--password-stdin",
                input=PASSWORD + "\n")
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert again.stderr.startswith("Error: ") and len(again.stderr.strip().splitlines()) == 1


def test_a_refused_command_writes_nothing(run):
    """The command's transaction is rolled back: a refused token for an unknown user leaves no row,
    and the next command still works on the same database."""
    assert run("db", "upgrade").returncode == 0
    refused = run("token", "create", "nobody@newsroom.example")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert run("staff", "create", "ops@newsroom.example", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n").returncode == 0
    assert run("token", "create", "ops@newsroom.example").stdout.startswith("mbr_")
