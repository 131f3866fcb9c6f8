# The festival wellness planner: one image, served by `planner serve`.
#   docker build -t festival-wellness-planner .
#   docker run -p 8000:8000 -e PLANNER_SECRET_KEY=... festival-wellness-planner
# With no PLANNER_DATABASE_URL the app keeps a SQLite file in /data (mount a volume there);
# docker-compose.yml runs it on PostgreSQL with Mailpit catching the mail.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Everything the wheel needs: the package plus the folders pyproject.toml force-includes.
COPY pyproject.toml README.md constraints.txt ./
COPY planner ./planner
COPY templates ./templates
COPY static ./static
COPY piccolo_migrations ./piccolo_migrations
RUN pip install -c constraints.txt . \
    && rm -rf /src

# Run as an unprivileged user; /data holds the SQLite file and the development secret, if used.
RUN groupadd --system --gid 10001 planner \
    && useradd --system --uid 10001 --gid planner --home-dir /data --shell /usr/sbin/nologin planner \
    && mkdir -p /data \
    && chown planner:planner /data
USER planner
WORKDIR /data
VOLUME ["/data"]

ENV PLANNER_DATABASE_URL=sqlite:////data/planner.db \
    PLANNER_SECRET_FILE=/data/.planner-secret \
    PLANNER_BASE_URL=http://localhost:8000

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

# `planner serve` applies pending migrations, then serves.
CMD ["planner", "serve", "--host", "0.0.0.0", "--port", "8000"]
