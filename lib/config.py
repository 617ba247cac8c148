"""Settings: environment variables override an optional TOML file; defaults run on demo data.

Every setting has one name, used in both places: ``FLOWSCOPE_<NAME>`` in the environment
(upper case) and ``name = ...`` in the file named by ``FLOWSCOPE_CONFIG`` (default
``flowscope.toml`` in the working directory, if it exists). Nested sections are not used:
Athena settings are ``athena_*`` keys.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "flowscope")


@dataclass(frozen=True)
class Settings:
    # Where the embedded engine reads flow logs (a directory in the S3 layout, i.e. the
    # folder that holds AWSLogs/). Empty: demo data under cache_dir, created on first start.
    data_dir: str = ""
    cache_dir: str = ""
    engine: str = "duckdb"  # duckdb | athena
    # Records arrive in objects written up to this many seconds after their start time:
    # the file choice keeps this margin, the time filter itself stays exact.
    late_margin_s: int = 3600
    demo_records: int = 200_000
    demo_days: int = 7
    search_limit: int = 1000
    # The embedded engine reads a local columnar copy of data_dir (Parquet under
    # cache_dir/columnar, built by `python -m lib.cli cache build` or the app in the
    # background) when there is one; objects newer than the copy are read raw.
    columnar_cache: bool = True
    # Athena
    athena_region: str = "us-east-1"
    athena_profile: str = ""
    athena_role_arn: str = ""
    athena_workgroup: str = "primary"
    athena_database: str = "default"
    athena_table: str = "vpc_flow_logs"
    athena_output_location: str = ""
    athena_layout: str = "text"  # text | parquet
    athena_price_per_tb: float = 5.0
    athena_bytes_scanned_limit: int = 0  # 0: no ceiling
    athena_timeout_s: int = 120
    athena_cache_ttl_s: int = 300
    athena_result_reuse_minutes: int = 60
    athena_endpoint_url: str = ""  # tests: a local moto server
    # Where `lib.cli athena rollup` writes the Traffic page's rollup (s3://bucket/prefix/);
    # empty: no rollups, the page reads the records.
    athena_rollup_location: str = ""
    # Bytes one user may have Athena scan per UTC day (0: no budget).
    athena_user_daily_bytes: int = 0
    # The log bucket itself (s3://bucket/prefix, the folder holding AWSLogs/), browsed by the
    # Records page with the Athena credentials settings. Empty: the page browses data_dir.
    s3_location: str = ""
    s3_endpoint_url: str = ""  # empty: athena_endpoint_url if set, else AWS's own
    # Access
    auth_mode: str = "none"  # password | oidc | alb | none
    users_file: str = ""
    audit_file: str = ""
    # Who may see which accounts and pages (YAML or TOML). Required unless auth_mode is none.
    access_file: str = ""
    login_max_failures: int = 5  # password mode: failed sign-ins before a user is locked out
    login_lockout_s: int = 900  # ... for this long (counted over the same window)
    auth_cookie_name: str = "flowscope_auth"
    auth_cookie_days: float = 1.0
    oidc_provider: str = ""  # a named provider under [auth] in secrets.toml; empty: the default
    # ALB OIDC authentication: where the load balancer's public keys come from (a URL
    # template with {region} and {kid}, or a local directory holding <kid>.pem).
    alb_key_source: str = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
    alb_region: str = ""  # empty: the signer ARN's region, else AWS_REGION
    alb_signer_arn: str = ""  # the load balancer's ARN; tokens signed by another are refused
    alb_logout_url: str = ""  # the identity provider's sign-out page, linked in the sidebar

    @property
    def demo_dir(self) -> Path:
        return Path(self.cache_dir or _default_cache_dir()) / "demo"


def _coerce(value: str, default):
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    config_path = Path(env.get("FLOWSCOPE_CONFIG", "flowscope.toml"))
    from_file = tomllib.loads(config_path.read_text()) if config_path.is_file() else {}
    values = {}
    for f in fields(Settings):
        default = f.default
        if f.name in from_file:
            values[f.name] = _coerce(str(from_file[f.name]), default)
        env_value = env.get(f"FLOWSCOPE_{f.name.upper()}")
        if env_value is not None and env_value != "":
            values[f.name] = _coerce(env_value, default)
    return Settings(**values)
