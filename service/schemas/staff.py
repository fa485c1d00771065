"""What the staff console's forms and query strings accept."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from service.errors import ValidationFailed
from service.models import MemberStatus, Role
from service.schemas import day_field, id_field


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE  # csrf_token and submit buttons

    @pre_load
    def _blank_is_missing(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """An empty field in a GET form means "no filter", not an invalid value."""
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate form or query input; a 422 names every field to fix."""
    try:
        return schema.load(data.to_dict() if hasattr(data, "to_dict") else data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        summary = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in messages.items())
        raise ValidationFailed(f"Please correct: {summary}", fields=messages) from None


class LoginForm(_Form):
    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, validate=validate.Length(max=1000))
    next = fields.String(load_default="")


class SearchArgs(_Form):
    q = fields.String(validate=validate.Length(max=200))
    email = fields.Email()
    status = fields.String(validate=validate.OneOf([s.value for s in MemberStatus]))
    plan = fields.String(validate=validate.Length(max=50))
    joined_from = day_field()
    joined_to = day_field()
    cursor = id_field()


class CompForm(_Form):
    until = day_field("Last day is the day before; empty for no end")


class EditForm(_Form):
    email = fields.Email(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))
    # Admins only (the domain refuses it below): apply a new email without the new address confirming.
    apply_now = fields.Boolean(load_default=False)


class NoteForm(_Form):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class CancelForm(_Form):
    subscription = fields.String(required=True, validate=validate.Length(max=255))
    when = fields.String(required=True, validate=validate.OneOf(["period_end", "now"]))


class DuplicateForm(_Form):
    subscription = fields.String(required=True, validate=validate.Length(min=1, max=255))


class EraseForm(_Form):
    confirm = fields.String(required=True, validate=validate.Equal("ERASE", error="Type ERASE to confirm."))


class PasswordForm(_Form):
    current_password = fields.String(required=True)
    new_password = fields.String(required=True, validate=validate.Length(max=1000))
    repeat = fields.String(required=True)


class StaffUserForm(_Form):
    email = fields.Email(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    password = fields.String(required=True)


class StaffUpdateForm(_Form):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    active = fields.Boolean(load_default=False)


class TokenForm(_Form):
    email = fields.Email(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    scope = fields.String(load_default="read", validate=validate.OneOf(["read", "write"]))


class AuditArgs(_Form):
    actor = fields.String(validate=validate.Length(max=320))
    action = fields.String(validate=validate.Length(max=100))
    member_id = id_field()
    since = day_field()
    until = day_field()
    cursor = id_field()
