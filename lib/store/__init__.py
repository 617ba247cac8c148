"""The flow log store, read one way by every module.

    layout    the AWSLogs key layout (plain and Hive-style names), object names, day
              folders, and walking accounts, regions and days through a backend
    backends  a local directory or an S3 bucket behind one interface (list a folder, its
              change stamp, open an object)
    reading   an object's text (streamed, bounded decompression), its header, its lines
              parsed into Arrow columns; the raw path's object cache
    columns   the logical ``flows`` columns: typing (Arrow and DuckDB SQL), address keys
"""

from __future__ import annotations

from collections.abc import Callable

from lib.store.backends import open_backend
from lib.store.layout import EARLY_SLACK_S, OBJECT_NAME, StoredObject

__all__ = ["EARLY_SLACK_S", "OBJECT_NAME", "ReportProgress", "StoredObject",
           "accounts_and_regions", "open_backend"]

# How a long job over the store says how far it is: (fraction done, 0 to 1; what it is
# doing now). The demo writer and the cache build report this way.
ReportProgress = Callable[[float, str], None]


def accounts_and_regions(location: str, settings=None) -> list[tuple[str, str]]:
    """(account, region) folders of the store at ``location`` (a directory or s3://);
    S3 is read with the settings' credentials (default: the loaded settings)."""
    from lib.store import layout
    from lib.store.backends import StoreError

    try:
        return layout.accounts_and_regions(open_backend(location, settings))
    except StoreError:  # a bucket that cannot be listed offers no choices (they can be typed)
        return []
