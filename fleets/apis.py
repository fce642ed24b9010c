"""Token endpoints: simplejwt's views, rate-limited per client address."""

from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from common.throttling import AuthRateThrottle


class TokenObtainApi(TokenObtainPairView):
    """POST /api/v1/auth/token {username, password} -> {access, refresh}."""

    throttle_classes = [AuthRateThrottle]


class TokenRefreshApi(TokenRefreshView):
    """POST /api/v1/auth/token/refresh {refresh} -> {access, refresh}; the old refresh token is blacklisted."""

    throttle_classes = [AuthRateThrottle]
