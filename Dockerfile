# PageFree production image. One image, three roles:
#   API (default CMD):   uvicorn api:app --host 0.0.0.0 --port 8000 --no-access-log
#   Temporal worker:     python -m worker
#   Migrations:          pagefree migrate
# Configure it with environment variables (see app/config.py and docs/deployment.md); in
# production always set DATABASE_URL and TEMPORAL_ADDRESS, otherwise PageFree would fall back
# to the embedded development services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies in their own layer (pinned by constraints.txt), so that a code change does not
# reinstall them: the list is read from pyproject.toml with the standard library.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; [print(d) for d in tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']]" > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself (the `pagefree` command and the api/worker modules).
COPY . .
RUN pip install -c constraints.txt . \
 && python -m compileall -q /app

# The source tree stays importable first: the wheel holds the Python packages only, while
# `pagefree migrate` finds migrations/ (and the web UI its templates and static files)
# relative to the `app` package. The files stay owned by root, read-only for the app user.
RUN groupadd --system --gid 10001 pagefree \
 && useradd --system --uid 10001 --gid pagefree --home-dir /home/pagefree --create-home \
      --shell /usr/sbin/nologin pagefree \
 && install -d -o pagefree -g pagefree /var/lib/pagefree

ENV PYTHONPATH=/app \
    PAGEFREE_ENV=production \
    PAGEFREE_LOG_FORMAT=json \
    PAGEFREE_DATA_DIR=/var/lib/pagefree \
    PAGEFREE_API_HOST=0.0.0.0 \
    PAGEFREE_API_PORT=8000

USER pagefree:pagefree
EXPOSE 8000

# Liveness of the API process (slim images have no curl). The worker serves no HTTP: its
# container disables this check (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["uvicorn", "api:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
