"""What newsletter forms and the newsletter API accept."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from service.i18n import N_
from service.models import ListStatus
from service.schemas import ReaderForm, cursor_field

MAX_PAGE = 500


class SubscribeForm(ReaderForm):
    """The public sign-up form. Unknown fields (the CSRF token) are ignored."""

    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, validate=validate.Length(max=320),
                         error_messages={"required": N_("Enter your email address."),
                                         "invalid": N_("Enter an email address like name@example.org.")})
    list = fields.String(load_default="daily-headlines", validate=validate.Length(min=1, max=100))


class SubscriberQuery(Schema):
    """`GET /api/v1/newsletters/<slug>/subscribers` query parameters."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default=ListStatus.SUBSCRIBED.value,
                           validate=validate.OneOf([s.value for s in ListStatus]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = cursor_field()


class SubscriberOut(Schema):
    email = fields.String(required=True)
    status = fields.String(required=True)
    member_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class SubscriberListOut(Schema):
    data = fields.List(fields.Nested(SubscriberOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True, required=True)
