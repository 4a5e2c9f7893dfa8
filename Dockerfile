# Autopack: one image for the web server and the worker.
# The base image is pinned by digest (the tag says what it is; the digest is what is pulled).
# Dependabot's docker updates move the digest; by hand: docker buildx imagetools inspect
# python:3.11-slim, then replace the digest below (docs/contributing.md).
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AUTOPACK_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 10001 autopack

# dependencies exactly as uv.lock pins them, each file checked against its hash
COPY pyproject.toml uv.lock README.md ./
RUN pip install "uv==0.13.9" \
 && uv export --frozen --extra redis --no-emit-project --format requirements-txt \
      --output-file /tmp/requirements.txt \
 && pip install --require-hashes -r /tmp/requirements.txt
COPY autopack_site ./autopack_site
COPY runs ./runs
COPY artifacts ./artifacts
COPY policies ./policies
COPY approvals ./approvals
COPY ledger ./ledger
COPY trading ./trading
COPY publishing ./publishing
COPY autopack_client ./autopack_client
COPY manage.py ./
RUN pip install --no-deps . \
 && mkdir -p /app/var \
 && AUTOPACK_ENV=production SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput -v0 \
 && chown -R autopack /app/var

USER autopack
EXPOSE 8000
# gthread workers: long-polling clients (?wait=N) must not starve other requests.
CMD ["gunicorn", "autopack_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-class", "gthread", "--threads", "8", "--access-logfile", "-"]
