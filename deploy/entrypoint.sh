#!/bin/sh
# Start Flowscope in the container: Streamlit on every interface, port 8501, behind the
# internal load balancer. With auth_mode none the app refuses to serve (by design).
#
# st.secrets is read from files only, so a secrets.toml handed in as an environment variable
# (FLOWSCOPE_SECRETS_TOML, from Secrets Manager through the ECS task definition; the [auth]
# section of oidc sign-in) is written to this user's own ~/.streamlit/secrets.toml, readable
# by this user only, and removed from the environment before Streamlit starts.
set -eu
if [ -n "${FLOWSCOPE_SECRETS_TOML:-}" ]; then
  mkdir -p "$HOME/.streamlit"
  umask 077
  printf '%s\n' "$FLOWSCOPE_SECRETS_TOML" > "$HOME/.streamlit/secrets.toml"
fi
unset FLOWSCOPE_SECRETS_TOML
exec python -m streamlit run app.py --server.address 0.0.0.0 --server.port 8501 "$@"
