"""Token endpoints: simplejwt's views, rate-limited per client address."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from common.openapi import error_responses
from common.throttling import AuthRateThrottle
from fleets.serializers import TokenObtainSerializer

_TOKEN_ERRORS = error_responses(400, 401, 405, 406, 413, 415, 429, 500, 503)


@extend_schema(
    responses={
        200: inline_serializer("TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}),
        **_TOKEN_ERRORS,
    },
    auth=[],
)
class TokenObtainApi(TokenObtainPairView):
    """POST /api/v1/auth/token {username, password} -> {access, refresh}."""

    serializer_class = TokenObtainSerializer
    throttle_classes = [AuthRateThrottle]


@extend_schema(
    responses={
        200: inline_serializer(
            "TokenRefreshed", {"access": serializers.CharField(), "refresh": serializers.CharField()}
        ),
        **_TOKEN_ERRORS,
    },
    auth=[],
)
class TokenRefreshApi(TokenRefreshView):
    """POST /api/v1/auth/token/refresh {refresh} -> {access, refresh}; the old refresh token is blacklisted."""

    throttle_classes = [AuthRateThrottle]
