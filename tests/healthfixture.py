"""A small store with the logging's gaps (issue 22), for the health tests and page tests."""

from __future__ import annotations

from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

ENI_X, ENI_Y, ENI_Z = "eni-0aaaaaaaaaaaaaaa1", "eni-0bbbbbbbbbbbbbbb2", "eni-0ccccccccccccccc3"
LOG_A, LOG_B = "fl-0aaaaaaaaaaaaaaa1", "fl-0bbbbbbbbbbbbbbb2"
WINDOW = {"start": str(T0), "end": str(T0 + 4 * 3600)}


def v5(src, dst, start, eni=ENI_X, **kw):
    return record(src, dst, 40000, 443, start=start, eni=eni, flow_direction="egress",
                  tcp_flags=2, **kw)


def gap(start, status="SKIPDATA", eni=ENI_Y, length=599, account=ACCOUNT_A):
    r = record(None, None, None, None, proto=None, start=start, packets=None, bytes_=None,
               action=None, eni=eni, status=status, account=account)
    r["end"] = start + length
    return r


def write_health_store(tmp_path):
    """Account A (v5, flow log A): objects delivered in hours 0, 1 and 3, none in hour 2;
    ENI_Y skipped records from T0+3h for 20 minutes (two consecutive SKIPDATA records).
    Account B (v2, flow log B): one record and a NODATA record in hour 0."""
    for hour in (0, 1, 3):
        write_object(tmp_path, [v5("10.0.0.5", "10.0.1.9", T0 + hour * 3600 + 100)],
                     flow_log=LOG_A, fmt=V5_FORMAT)
    write_object(tmp_path, [gap(T0 + 3 * 3600 + 60), gap(T0 + 3 * 3600 + 660)],
                 flow_log=LOG_A, fmt=V5_FORMAT, delivered=T0 + 3 * 3600 + 1800)
    write_object(tmp_path, [record("10.9.0.5", "10.9.1.9", 40001, 22, start=T0 + 200,
                                   account=ACCOUNT_B, eni=ENI_Z),
                            gap(T0 + 300, "NODATA", ENI_Z, account=ACCOUNT_B)],
                 account=ACCOUNT_B, region="eu-west-1", flow_log=LOG_B)
    return tmp_path


