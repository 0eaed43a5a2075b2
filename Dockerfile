# jobmodule worker image.
#
#   docker build -t jobmodule-worker .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 -e JOBS_QUEUES=high,default jobmodule-worker
#
# Configuration is environment only:
#   JOBS_MODULES   comma-separated modules that define jobs   (default: app.jobs)
#   JOBS_QUEUES    comma-separated queues to poll             (default: default)
#   TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS  where to connect
#   JOBS_MAX_CONCURRENT_ACTIVITIES, JOBS_GRACEFUL_SHUTDOWN_SECONDS, ...  see client/settings.py
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user runs the worker; the code stays root-owned and read-only to it.
RUN groupadd --system --gid 10001 jobs \
    && useradd --system --uid 10001 --gid jobs --create-home --home-dir /home/jobs \
        --shell /usr/sbin/nologin jobs

WORKDIR /app
COPY . .
RUN pip install . \
    && rm -rf build ./*.egg-info

USER jobs

ENV JOBS_MODULES=app.jobs \
    JOBS_QUEUES=default

# `exec` makes the worker PID 1's direct replacement, so SIGTERM from `docker stop` reaches it
# and in-flight jobs drain (give the container a stop timeout above
# JOBS_GRACEFUL_SHUTDOWN_SECONDS). Override the command to run anything else, e.g. `jobmodule ...`.
CMD ["sh", "-c", "exec python worker.py --jobs \"$JOBS_MODULES\" --queue \"$JOBS_QUEUES\""]
