import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.schema import DEFAULT_FORMAT

ROOT = Path(__file__).resolve().parent.parent
HEADER = " ".join(DEFAULT_FORMAT)
ACCEPT = ("2 000123456789 eni-0aaa1111bbbb2222c 198.51.100.7 10.0.1.20 49152 443 6 12 3400 "
          "1700000000 1700000060 ACCEPT OK")
NODATA = "2 000123456789 eni-0aaa1111bbbb2222c - - - - - - - 1700000100 1700000160 - NODATA"
BIG = ("2 000123456789 eni-0aaa1111bbbb2222c 10.0.1.20 10.0.2.30 40000 5432 6 3000000 "
       "5000000000 1700000000 1700000060 ACCEPT OK")


def decode(*args: str) -> tuple[int, list[dict], str]:
    done = subprocess.run([sys.executable, "-m", "lib.cli", "decode", *args], check=False,
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, rows, done.stderr


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "with-header.log"
    path.write_text(f"{HEADER}\n{ACCEPT}\n{NODATA}\n{ACCEPT} 99\n")
    return path


@pytest.fixture
def gz(tmp_path):
    path = tmp_path / "object.log.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{BIG}\n".encode()))
    return path


def test_decode_prints_one_json_object_per_record(plain):
    code, rows, stderr = decode(str(plain))
    assert code == 0 and stderr == ""
    first, nodata, bad = rows
    assert list(first) == [*DEFAULT_FORMAT, "_file", "_line"]
    assert first["account-id"] == "000123456789" and first["dstport"] == 443
    assert first["_file"] == str(plain) and first["_line"] == 2
    assert nodata["srcaddr"] is None and nodata["log-status"] == "NODATA"
    assert bad == {"_file": str(plain), "_line": 4, "_error": "expected 14 fields, found 15",
                   "_raw": f"{ACCEPT} 99"}


def test_decode_gzip_and_big_numbers(gz):
    code, [rec], _ = decode(str(gz))
    assert code == 0 and rec["bytes"] == 5_000_000_000


def test_decode_headerless_with_format(tmp_path):
    path = tmp_path / "headerless.log"
    path.write_text("i-0123 eni-0aaa 10.0.1.5 203.0.113.5\n- eni-0bbb 10.0.0.9 10.0.1.5\n")
    code, rows, _ = decode(str(path), "--format", "${instance-id} ${interface-id} srcaddr dstaddr")
    assert code == 0
    assert [r["instance-id"] for r in rows] == ["i-0123", None]
    assert rows[1]["dstaddr"] == "10.0.1.5"


def test_decode_bad_format_is_a_usage_error(plain):
    code, rows, stderr = decode(str(plain), "--format", "srcaddr srcaddr")
    assert code == 2 and rows == [] and "twice" in stderr


def test_corrupt_gzip_fails_but_other_files_are_decoded(tmp_path, plain):
    corrupt = tmp_path / "corrupt.log.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"definitely not deflate" * 5)
    code, rows, stderr = decode(str(corrupt), str(plain))
    assert code == 1
    assert f"error: {corrupt}:" in stderr and "gzip" in stderr
    assert len(rows) == 3 and {r["_file"] for r in rows} == {str(plain)}


def test_truncated_gzip_prints_records_before_the_break(tmp_path):
    body = HEADER + "\n" + "\n".join(ACCEPT.replace("49152", str(40000 + i)) for i in range(3000))
    data = gzip.compress(body.encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    code, rows, stderr = decode(str(cut))
    assert code == 1 and "truncated" in stderr
    assert 0 < len(rows) < 3000 and all("_error" not in r for r in rows)


def test_missing_file_fails_but_other_files_are_decoded(tmp_path, gz):
    code, rows, stderr = decode(str(tmp_path / "missing.log"), str(gz))
    assert code == 1 and "file not found" in stderr
    assert len(rows) == 1 and rows[0]["_file"] == str(gz)


def test_non_ascii_output_is_not_escaped(tmp_path):
    path = tmp_path / "tag.log"
    path.write_text("srcaddr interface-tag\n10.0.0.1 ウェブ\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "lib.cli", "decode", str(path)], check=False,
                          cwd=ROOT, capture_output=True, timeout=60)
    assert "ウェブ".encode() in done.stdout and done.returncode == 0
