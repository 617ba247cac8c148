"""Who may see what: the access mapping (accounts and pages per user and group) and the
users file of the password sign-in.

The access mapping is a YAML or TOML file (``Settings.access_file``)::

    users:
      alice@example.com:
        accounts: ["012345678901"]
    groups:
      network-admins:
        accounts: ["*"]            # every account
      auditors:
        accounts: ["012345678901", "123456789012"]
        pages: ["Search"]          # page titles; no `pages` key: every page

A user's grant is the union of their own entry and every entry of a group they belong
to; nobody listed gets nothing (default deny). Account IDs must be quoted: YAML reads an
unquoted 012345678901 as a number and loses the leading zero.

The users file is streamlit-authenticator's credentials layout (``credentials:
usernames: {name: {name, email, password (bcrypt), roles}}``); roles are the groups.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from lib.query import Scope

ALL = "*"
_ACCOUNT = re.compile(r"\d{12}")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,127}")
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit


class AccessConfigError(ValueError):
    """The access mapping or users file is unusable; the message names the problem."""


@dataclass(frozen=True)
class Grant:
    """What one signed-in user may see: accounts (as a query Scope) and page titles."""

    scope: Scope
    pages: frozenset[str] | None = None  # casefolded titles; None: every page

    def allows_page(self, title: str) -> bool:
        return self.pages is None or title.casefold() in self.pages

    @property
    def sees_nothing(self) -> bool:
        return self.scope.accounts is not None and not self.scope.accounts


EVERYTHING = Grant(Scope(None), None)
NOTHING = Grant(Scope(frozenset()), frozenset())


@dataclass(frozen=True)
class _Entry:
    accounts: frozenset[str] | None  # None: every account
    pages: frozenset[str] | None  # None: every page


@dataclass(frozen=True)
class AccessMap:
    users: dict[str, _Entry]
    groups: dict[str, _Entry]

    def grant(self, user: str, groups=()) -> Grant:
        """The union of the user's entry and their groups' entries; nothing if none."""
        if not is_plain_identity(user):
            return NOTHING
        entries = [self.users.get(fold(user))]
        entries += [self.groups.get(fold(str(g))) for g in groups if is_plain_identity(str(g))]
        entries = [e for e in entries if e is not None]
        if not entries:
            return NOTHING
        return Grant(Scope(_union(e.accounts for e in entries)),
                     _union(e.pages for e in entries))


def fold(name: str) -> str:
    """Case-insensitive matching of names without Unicode case folding: only A-Z become
    a-z. str.casefold would make lookalikes collide (the Kelvin sign folds to "k", "ſ" to
    "s"); other letters stay as they are, so distinct names stay distinct."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def is_plain_identity(name: str) -> bool:
    """A name that NFKC leaves as it is and holds no control or format character: no
    compatibility lookalike (full-width letters, ligatures, the Kelvin sign), nothing
    invisible. Such names are refused rather than folded into someone else's."""
    return (unicodedata.normalize("NFKC", name) == name
            and not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name))


def _union(parts) -> frozenset[str] | None:
    """Union of sets where None means "everything"."""
    out: set[str] = set()
    for part in parts:
        if part is None:
            return None
        out |= part
    return frozenset(out)


def _read_mapping(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AccessConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise AccessConfigError(f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: "
                                f"{error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AccessConfigError(f"{path}: expected a mapping with `users` and `groups`")
    return data


def _accounts(where: str, value) -> frozenset[str] | None:
    if not isinstance(value, list):
        raise AccessConfigError(f"{where}: `accounts` must be a list")
    accounts = set()
    for item in value:
        if not isinstance(item, str):
            raise AccessConfigError(f"{where}: account {item!r} must be a quoted string "
                                    "(unquoted, a leading zero is lost)")
        if item == ALL:
            return None
        if not _ACCOUNT.fullmatch(item):
            raise AccessConfigError(f"{where}: {item!r} is not a 12-digit account ID or '*'")
        accounts.add(item)
    return frozenset(accounts)


def _pages(where: str, value) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise AccessConfigError(f"{where}: `pages` must be a list of page titles")
    return None if ALL in value else frozenset(p.casefold() for p in value)


def _entry(where: str, value) -> _Entry:
    if isinstance(value, list):  # shorthand: a bare list is the accounts
        value = {"accounts": value}
    if not isinstance(value, dict):
        raise AccessConfigError(f"{where}: expected `accounts` (and optionally `pages`)")
    unknown = set(value) - {"accounts", "pages"}
    if unknown:
        raise AccessConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return _Entry(_accounts(where, value.get("accounts", [])),
                  _pages(where, value.get("pages")))


def load_access(path: str | Path) -> AccessMap:
    """Parse and check the whole mapping; any mistake is an AccessConfigError."""
    path = Path(path)
    data = _read_mapping(path)
    unknown = set(data) - {"users", "groups"}
    if unknown:
        raise AccessConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    sections = {}
    for section in ("users", "groups"):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise AccessConfigError(f"{path}: `{section}` must map names to entries")
        for name in entries:
            if not is_plain_identity(str(name)):
                raise AccessConfigError(f"{path}: {section}.{name!r} holds a compatibility "
                                        "or invisible character (NFKC would change it): "
                                        "write the name as the identity provider sends it")
        sections[section] = {fold(str(name)): _entry(f"{path}: {section}.{name}", value)
                             for name, value in entries.items()}
    return AccessMap(**sections)


# --- the users file (password sign-in) --------------------------------------------------

def load_users(path: str | Path) -> dict:
    """The credentials dict streamlit-authenticator expects: {"usernames": {...}}."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise AccessConfigError(f"cannot read the users file {path}: "
                                f"{error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise AccessConfigError(f"the users file {path} is not valid YAML: {error}") from None
    users = (data.get("credentials") or {}).get("usernames") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        raise AccessConfigError(f"the users file {path} has no `credentials: usernames:` "
                                "(add one with `python -m lib.cli add-user`)")
    for name, entry in users.items():
        password = entry.get("password") if isinstance(entry, dict) else None
        if not (isinstance(password, str) and password.startswith("$2")):
            raise AccessConfigError(f"the users file {path}: user {name!r} has no bcrypt "
                                    "password hash (use `python -m lib.cli add-user`)")
    return {"usernames": {str(name).lower(): dict(entry) for name, entry in users.items()}}


def hash_password(password: str) -> str:
    """bcrypt, as streamlit-authenticator's Hasher does (bcrypt reads 72 bytes at most)."""
    import bcrypt

    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def add_user(path: str | Path, username: str, name: str, email: str, password: str,
             groups: list[str] = ()) -> None:
    """Add or replace one user in the users file (written atomically, owner-only)."""
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise AccessConfigError(f"{username!r} is not a username (letters, digits, . _ @ + -)")
    if not (len(password) >= MIN_PASSWORD and len(password.encode()) <= MAX_PASSWORD_BYTES):
        raise AccessConfigError(f"the password must have {MIN_PASSWORD} characters at least "
                                f"and {MAX_PASSWORD_BYTES} bytes at most")
    path = Path(path)
    data = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    users = data.setdefault("credentials", {}).setdefault("usernames", {})
    users[username] = {"name": name, "email": email, "password": hash_password(password),
                       "roles": [g for g in groups if g]}
    _write_private(path, yaml.safe_dump(data, sort_keys=True, allow_unicode=True))


def _write_private(path: Path, text: str) -> None:
    """Replace the file in one step, readable by its owner only (it holds hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
