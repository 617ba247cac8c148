# Flowscope for an internal load balancer (deploy/flowscope.yaml runs it on ECS Fargate).
#   docker build -t flowscope .
#   docker run -p 8501:8501 -e FLOWSCOPE_AUTH_MODE=password ... flowscope
# It listens on 0.0.0.0:8501, so auth_mode must be password, oidc or alb: with none (no
# sign-in) the app refuses to serve anything, by design. Site files (access mapping, users
# file) go into a small image built FROM this one (README: Access and deployment).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN python -m pip install -r requirements.txt

# The code belongs to root and is read-only for the user the app runs as.
RUN useradd --create-home --uid 10001 --user-group flowscope
COPY app.py ./
COPY lib/ lib/
COPY pages/ pages/
COPY .streamlit/config.toml .streamlit/config.toml
COPY deploy/entrypoint.sh /usr/local/bin/flowscope-entrypoint
RUN chmod 0755 /usr/local/bin/flowscope-entrypoint

USER flowscope
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
ENTRYPOINT ["/usr/local/bin/flowscope-entrypoint"]
