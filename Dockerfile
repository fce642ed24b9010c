# The dashboard (frontend/), built with Node.js; only its dist/ goes into the image.
FROM node:20-bookworm-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim
# Production settings: the process refuses to start without DATABASE_URL, CELERY_BROKER_URL, REDIS_URL and
# DJANGO_SECRET_KEY (config/settings/production.py), never falling back to an embedded database or eager mode.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=frontend /frontend/dist /app/frontend/dist
RUN python -m whitenoise.compress --no-brotli /app/frontend/dist
# The admin's, DRF's and Swagger UI's static files, served by WhiteNoise from STATIC_ROOT (no database needed).
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@127.0.0.1:1/none \
    CELERY_BROKER_URL=redis://127.0.0.1:1/0 REDIS_URL=redis://127.0.0.1:1/1 \
    python manage.py collectstatic --noinput -v 0
# /run/metrics: the mount point of the shared metrics volume (docker-compose.yml), writable by the app.
RUN useradd --system --home /app battery && mkdir -p /run/metrics && chown -R battery /app /run/metrics
USER battery
EXPOSE 8000
# granian (HTTP in Rust) serving the WSGI app: one worker per CPU, 2 threads each; dead workers are respawned.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--blocking-threads", "2", "--respawn-failed-workers", "--respawn-interval", "0.5", "config.wsgi:application"]
