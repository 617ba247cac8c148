# Flowscope for an internal load balancer (deploy/flowscope.yaml runs it on ECS Fargate).
#
# The base image is pinned by digest, given at build time (a tag can be moved under you):
#   docker pull python:3.11-slim
#   BASE=$(docker inspect --format '{{index .RepoDigests 0}}' python:3.11-slim)
#       # e.g. python@sha256:<64 hex digits>; or: docker buildx imagetools inspect python:3.11-slim
#   docker build --build-arg BASE_IMAGE="$BASE" -t flowscope .
# Refresh it (and deploy/requirements.lock) on a schedule, for security updates.
#
#   docker run -p 127.0.0.1:8501:8501 -e FLOWSCOPE_AUTH_MODE=password ... flowscope
# It listens on 0.0.0.0:8501, so auth_mode must be password, oidc or alb: with none (no
# sign-in) the container refuses to start, by design. No user or secret is in the image:
# the users file comes in at run time (FLOWSCOPE_USERS_YAML, from Secrets Manager; README).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG BASE_IMAGE
# Refuse a base given by tag only.
RUN case "${BASE_IMAGE}" in *@sha256:????????????????????????????????????????????????????????????????) ;; \
      *) echo "BASE_IMAGE must be pinned by digest (name@sha256:<64 hex>), got '${BASE_IMAGE}'" >&2; exit 1 ;; \
    esac

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Every wheel pinned by hash: a changed or substituted package fails the build.
COPY deploy/requirements.lock .
RUN python -m pip install --require-hashes --no-deps -r requirements.lock

# The code belongs to root and is read-only for the user the app runs as.
RUN useradd --create-home --uid 10001 --user-group flowscope
COPY app.py ./
COPY lib/ lib/
COPY pages/ pages/
COPY .streamlit/config.toml .streamlit/config.toml
COPY deploy/entrypoint.sh /usr/local/bin/flowscope-entrypoint
RUN chmod 0755 /usr/local/bin/flowscope-entrypoint

# The root filesystem runs read-only (the task definition); these are the only places
# written: the user's home (caches, session file, secrets handed in at start), /tmp, and the
# audit trail's own folder (shipped by a separate container to a log group of its own).
# Declared volumes keep this ownership when mounted (ECS bind mounts copy it).
RUN mkdir -p /var/log/flowscope && chown flowscope:flowscope /var/log/flowscope \
    && chmod 0750 /var/log/flowscope
VOLUME ["/home/flowscope", "/tmp", "/var/log/flowscope"]

USER flowscope
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
ENTRYPOINT ["/usr/local/bin/flowscope-entrypoint"]
