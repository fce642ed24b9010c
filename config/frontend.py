"""The dashboard's single-page app (frontend/, built by Vite into frontend/dist/).

WhiteNoise serves the built files at `/` (WHITENOISE_ROOT); the app's own routes (/vehicles/EV-1, /alerts,
...) answer index.html, so that they load on a reload or from a shared link and the app's router takes over.
Any other path keeps the API's 404 in the error shape.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache

#: The routes of frontend/src/App.tsx.
DASHBOARD_ROUTES = r"^(?:|login|alerts|logs/[^/]+|vehicles/[^/]+(?:/certificate|/cells/[^/]+)?)$"

NOT_BUILT = (
    "The dashboard is not built. Build it with `make frontend` (needs Node.js 20 or later: "
    "https://nodejs.org/ or `apt-get install nodejs npm`), or develop it with `npm run dev` in frontend/.\n"
    "The API is at /api/v1/ (docs at /api/v1/docs/).\n"
)


@never_cache
def spa_index(request: HttpRequest) -> HttpResponse:
    """index.html of the built app, never cached (it names the hashed assets of the current build)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    index = settings.FRONTEND_DIST / "index.html"
    try:
        body = index.read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, content_type="text/html; charset=utf-8")
