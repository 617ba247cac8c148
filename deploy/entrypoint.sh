#!/bin/sh
# Start Flowscope in the container: Streamlit on every interface, port 8501, behind the
# internal load balancer. With auth_mode none (or alb without alb_signer_arn) it refuses to start (by design).
#
# st.secrets is read from files only, so a secrets.toml handed in as an environment variable
# (FLOWSCOPE_SECRETS_TOML, from Secrets Manager through the ECS task definition; the [auth]
# section of oidc sign-in) is written to this user's own ~/.streamlit/secrets.toml, readable
# by this user only, and removed from the environment before Streamlit starts. The users file
# of password sign-in comes the same way (FLOWSCOPE_USERS_YAML -> ~/.flowscope/users.yaml,
# which FLOWSCOPE_USERS_FILE then names): it is never baked into an image.
set -eu
umask 077
if [ -n "${FLOWSCOPE_SECRETS_TOML:-}" ]; then
  mkdir -p "$HOME/.streamlit"
  printf '%s\n' "$FLOWSCOPE_SECRETS_TOML" > "$HOME/.streamlit/secrets.toml"
fi
unset FLOWSCOPE_SECRETS_TOML
if [ -n "${FLOWSCOPE_USERS_YAML:-}" ]; then
  mkdir -p "$HOME/.flowscope"
  printf '%s\n' "$FLOWSCOPE_USERS_YAML" > "$HOME/.flowscope/users.yaml"
  FLOWSCOPE_USERS_FILE="$HOME/.flowscope/users.yaml"
  export FLOWSCOPE_USERS_FILE
fi
unset FLOWSCOPE_USERS_YAML
umask 027
# Refuse before serving anything: no sign-in on this network address, alb without its signer.
python -m lib.auth 0.0.0.0
exec python -m streamlit run app.py --server.address 0.0.0.0 --server.port 8501 "$@"
