"""JWT authentication: simplejwt's, with the token's user read by one plain SELECT.

Every authenticated request reads its user, so that a deactivated or deleted user is refused at once
(no stateless token user, no per-process cache to go stale). simplejwt does it with the ORM's
`User.objects.get()`, which spends most of its CPU building and compiling the query on every request;
the same row by a precomputed SELECT and `Model.from_db` costs a fraction of it (measured in
docs/performance.md, "The JWT user by one precomputed SELECT"). The checks and their
answers are simplejwt's own (user not found, inactive user, revoked token).
"""

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password


@functools.cache
def _user_query() -> tuple[str, list[str]]:
    """The SELECT of a user row by the token's id field, and the attribute names of its columns."""
    model = get_user_model()
    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    lookup = connection.ops.quote_name(model._meta.get_field(api_settings.USER_ID_FIELD).column)
    sql = f"SELECT {columns} FROM {connection.ops.quote_name(model._meta.db_table)} WHERE {lookup} = %s"
    return sql, [field.attname for field in fields]


class FleetJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        model = get_user_model()
        try:
            # The id field's own conversion, so a signed but odd claim is "not found", never a SQL error.
            user_id = model._meta.get_field(api_settings.USER_ID_FIELD).to_python(user_id)
        except (DjangoValidationError, OverflowError) as exc:  # to_python refused it; int() of an infinite float
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from exc
        sql, attnames = _user_query()
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user = model.from_db(connection.alias, attnames, row)
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class FleetJWTScheme(SimpleJWTScheme):
    """OpenAPI: the same bearer JWT security scheme as simplejwt's class (drf-spectacular extension)."""

    target_class = "fleets.authentication.FleetJWTAuthentication"
