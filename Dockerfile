# syntax=docker/dockerfile:1
# jobwatch as a small non-root container: `docker build -t jobwatch .`
# Run (see docs/operations.md):
#   docker run -d --name jobwatch -e JOBWATCH_API__TOKEN=... -v jobwatch-state:/var/lib/jobwatch \
#     -v "$PWD/jobwatch.toml:/etc/jobwatch/jobwatch.toml:ro" -p 127.0.0.1:8787:8787 jobwatch
# tests/ops/test_dockerfile.py checks the properties below and runs the builder stage's install steps.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# -- builder: a virtualenv with the locked dependencies and jobwatch itself ----------------------
FROM ${PYTHON_IMAGE} AS builder
# Same path in both stages: a venv's scripts name their interpreter by absolute path.
ARG PREFIX=/opt/jobwatch
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv "$PREFIX"
COPY pyproject.toml requirements.lock README.md ./
COPY watcher/ watcher/
# requirements.lock pins every dependency (constraints, so only what jobwatch needs is installed);
# the wheel is built from the source just copied, never fetched.
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m pip wheel --no-deps --wheel-dir dist . \
 && "$PREFIX/bin/pip" install --constraint requirements.lock dist/jobwatch-*.whl \
 && "$PREFIX/bin/pip" check \
 && "$PREFIX/bin/jobwatch" --version

# -- runtime: the venv on a clean base, no compilers, no build files -----------------------------
FROM ${PYTHON_IMAGE}
ARG PREFIX=/opt/jobwatch
LABEL org.opencontainers.image.title="jobwatch" \
      org.opencontainers.image.description="Watch long-running AWS jobs and notify on every state change" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can check it and volume ownership is stable.
RUN groupadd --system --gid 10001 jobwatch \
 && useradd --system --uid 10001 --gid jobwatch --home-dir /var/lib/jobwatch --no-create-home \
      --shell /usr/sbin/nologin jobwatch \
 && install -d -o jobwatch -g jobwatch -m 0700 /var/lib/jobwatch \
 && install -d -m 0755 /etc/jobwatch
COPY --from=builder ${PREFIX} ${PREFIX}
COPY config/minimal.toml /etc/jobwatch/jobwatch.toml
# Listening on 0.0.0.0 (so a published port or a sidecar can reach the API) makes the API require
# a token: pass JOBWATCH_API__TOKEN at run time, or the daemon refuses to start.
ENV PATH="${PREFIX}/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/jobwatch \
    JOBWATCH_CONFIG=/etc/jobwatch/jobwatch.toml \
    JOBWATCH_WATCHER__STATE=/var/lib/jobwatch/jobwatch.db \
    JOBWATCH_WATCHER__LOG_FORMAT=json \
    JOBWATCH_API__LISTEN=0.0.0.0:8787
VOLUME ["/var/lib/jobwatch"]
EXPOSE 8787
USER 10001:10001
# No curl in the slim image: the venv's Python asks the daemon's own health endpoint (no token needed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status == 200 else 1)"]
# Exec form: jobwatch is PID 1 and receives SIGTERM itself, then drains and exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["jobwatch"]
CMD ["run"]
