"""Settings: environment variables override an optional TOML file; defaults run on demo data.

Every setting has one name, used in both places: ``FLOWSCOPE_<NAME>`` in the environment
(upper case) and ``name = ...`` in the file named by ``FLOWSCOPE_CONFIG`` (default
``flowscope.toml`` in the working directory, if it exists). Nested sections are not used:
Athena settings are ``athena_*`` keys. In the code, ``Settings`` is flat too; the classes it is
made of only group the settings by concern.
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
class _Source:
    """Where flow logs are read from and by which engine; the demo data made when there are
    none."""

    # Where the embedded engine reads flow logs (a directory in the S3 layout, i.e. the
    # folder that holds AWSLogs/). Empty: demo data under cache_dir, created on first start.
    data_dir: str = ""
    cache_dir: str = ""
    engine: str = "duckdb"  # duckdb | athena
    demo_records: int = 200_000
    demo_days: int = 7


@dataclass(frozen=True)
class _Limits:
    """What one user may make the engine do."""

    search_limit: int = 1000
    # The longest time range one query may cover (pages, CLI, every query path): a bound on
    # what one user can make the engine read.
    max_range_days: int = 31
    # Queries one user may have running at once on this server (all tabs together); 0: no
    # limit. Four tabs over a wide range otherwise saturate the machine for everyone.
    max_concurrent_queries_per_user: int = 2


@dataclass(frozen=True)
class _Reading:
    """How the store is read: records that arrive late, the embedded engine's columnar copy
    and raw objects."""

    # Records arrive in objects written up to this many seconds after their start time:
    # the file choice keeps this margin, the time filter itself stays exact.
    late_margin_s: int = 3600
    # The embedded engine reads a local columnar copy of data_dir (Parquet under
    # cache_dir/columnar, built by `python -m lib.cli cache build` or the app in the
    # background) when there is one; objects newer than the copy are read raw.
    columnar_cache: bool = True
    # Objects read raw at query time beside the cache (not converted yet), and every raw read
    # from an S3 data_dir: at most this many objects and compressed bytes, newest first.
    raw_read_max_objects: int = 2000
    raw_read_max_bytes: int = 1 << 30
    # One object's text at most, and how much larger than its gzip bytes it may be (a gzip
    # bomb is refused); a line longer than line_max_bytes is counted malformed.
    object_max_bytes: int = 512 << 20
    object_max_ratio: int = 100
    line_max_bytes: int = 64 << 10


@dataclass(frozen=True)
class _Athena:
    """Amazon Athena: where the table is, what a query may cost, its rollups."""

    athena_region: str = "us-east-1"
    athena_profile: str = ""
    athena_role_arn: str = ""
    athena_workgroup: str = "primary"
    athena_database: str = "default"
    athena_table: str = "vpc_flow_logs"
    athena_output_location: str = ""
    athena_layout: str = "text"  # text | parquet
    athena_price_per_tb: float = 5.0
    # A query is cancelled past this many bytes scanned (0: no ceiling). 1 TB: a month of
    # a large organisation's text logs fits; one runaway query costs at most ~$5.
    athena_bytes_scanned_limit: int = 1_000_000_000_000
    athena_timeout_s: int = 120
    athena_cache_ttl_s: int = 300
    athena_result_reuse_minutes: int = 60
    athena_endpoint_url: str = ""  # tests: a local moto server
    # Where `lib.cli athena rollup` writes the Traffic page's rollup (s3://bucket/prefix/);
    # empty: no rollups, the page reads the records.
    athena_rollup_location: str = ""
    # Bytes one user may have Athena scan per UTC day (0: no budget).
    athena_user_daily_bytes: int = 0


@dataclass(frozen=True)
class _Bucket:
    """The log bucket browsed by the Records page."""

    # The log bucket itself (s3://bucket/prefix, the folder holding AWSLogs/), browsed by the
    # Records page with the Athena credentials settings. Empty: the page browses data_dir.
    s3_location: str = ""
    s3_endpoint_url: str = ""  # empty: athena_endpoint_url if set, else AWS's own


@dataclass(frozen=True)
class _Access:
    """Who may sign in, how, and what they may see."""

    auth_mode: str = "none"  # password | oidc | alb | none
    users_file: str = ""
    audit_file: str = ""
    # Who may see which accounts and pages (YAML or TOML). Required unless auth_mode is none.
    access_file: str = ""
    login_max_failures: int = 5  # password mode: failed sign-ins before a user is locked out
    login_lockout_s: int = 900  # ... for this long (counted over the same window)
    auth_cookie_name: str = "flowscope_auth"
    auth_cookie_days: float = 1.0  # superseded by session_ttl_s (kept so old files load)
    # password mode: a sign-in lasts this long at most (server-side session, revocable).
    session_ttl_s: int = 28800
    # password mode: the session file (SQLite); empty: <cache_dir>/sessions.sqlite3. Put it
    # on a volume every replica shares for sign-out to end sessions on every replica.
    session_db: str = ""
    # password mode: after login_max_failures, a client waits this long before trying the
    # same name again, doubled per further failure, at most login_lockout_s.
    login_backoff_s: int = 30
    # Proxies in front of the app that append to X-Forwarded-For (the ALB: 1); 0: none,
    # the connection's address is the client's.
    trusted_proxy_hops: int = 0
    # auth_mode none on an address other machines can reach: refused unless this is true.
    auth_none_allow_network: bool = False
    oidc_provider: str = ""  # a named provider under [auth] in secrets.toml; empty: the default
    # ALB OIDC authentication: where the load balancer's public keys come from (a URL
    # template with {region} and {kid}, or a local directory holding <kid>.pem).
    alb_key_source: str = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
    alb_region: str = ""  # empty: the signer ARN's region, else AWS_REGION
    alb_signer_arn: str = ""  # the load balancer's ARN; tokens signed by another are refused
    alb_logout_url: str = ""  # the identity provider's sign-out page, linked in the sidebar


@dataclass(frozen=True)
class _Cost:
    """The Cost page."""

    # Cost page: dollars per GiB per region and charge class, and the day they were taken
    # (a TOML table [prices] / [prices.<region>], or JSON in FLOWSCOPE_PRICES); checked by
    # lib.cost.parse_prices. Kept as nested (key, value) pairs: Settings must stay hashable.
    prices: tuple = ()


@dataclass(frozen=True)
class Settings(_Cost, _Access, _Bucket, _Athena, _Reading, _Limits, _Source):
    """Every setting, flat (``settings.athena_region``): the groups above only sort them by
    concern; ``fields(Settings)`` lists them group by group, the last base first."""

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


def _frozen(value):
    """A TOML table (or JSON object) as sorted (key, value) pairs, all the way down."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    return value


def _table(value, name: str) -> tuple:
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as error:
            raise ValueError(f"{name}: not a JSON object ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected a table")
    return _frozen(value)


def _setting(value, name: str, default):
    """Tables (tuple defaults) are read as tables; every other setting is a scalar."""
    if isinstance(default, tuple):
        return _table(value, name)
    return _coerce(str(value), default)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    config_path = Path(env.get("FLOWSCOPE_CONFIG", "flowscope.toml"))
    from_file = tomllib.loads(config_path.read_text()) if config_path.is_file() else {}
    values = {}
    for f in fields(Settings):
        default = f.default
        if f.name in from_file:
            values[f.name] = _setting(from_file[f.name], f.name, default)
        env_value = env.get(f"FLOWSCOPE_{f.name.upper()}")
        if env_value is not None and env_value != "":
            values[f.name] = _setting(env_value, f.name, default)
    return Settings(**values)
