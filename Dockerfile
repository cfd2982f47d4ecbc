# syntax=docker/dockerfile:1
# One image for every isogov process; the command picks it:
#   docker run IMAGE api | worker | scheduler | migrate      (the entrypoint is the `isogov` CLI)
# Build:  docker build -t isogov:0.1.0 .
# Runs as the unprivileged user 10001 and writes nothing outside /tmp, so `readOnlyRootFilesystem: true`
# works with an emptyDir mounted on /tmp (the Helm chart under helm/isogov does that).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the locked dependencies (every file checked against its hash), then isogov itself ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements-prod.lock ./
RUN /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r requirements-prod.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY tenants ./tenants
COPY plugins ./plugins
COPY workers ./workers
# no build isolation: setuptools comes from the lock above, so nothing unpinned is fetched
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---- runtime: the virtualenv only, no compiler, no pip cache, no source tree ----
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 isogov \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin isogov
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ISOGOV_ENV=production \
    ISOGOV_HOST=0.0.0.0 \
    ISOGOV_PORT=8000 \
    ISOGOV_VAR_DIR=/tmp/isogov \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["isogov"]
CMD ["api"]
