import pytest

from lib import glossary as g
from lib.schema import FIELDS


@pytest.mark.parametrize("field", [f.name for f in FIELDS])
def test_every_schema_field_has_english_and_japanese_help(field):
    help_ = g.FIELD_HELP[field]
    assert help_["en"].strip() and help_["ja"].strip()
    assert g.explain_field(field, "ja") == help_["ja"]


def test_help_covers_all_forty_fields_and_nothing_else():
    assert len(FIELDS) == 40
    assert set(g.FIELD_HELP) == {f.name for f in FIELDS}


def test_unknown_field_gets_a_generic_explanation():
    assert "does not know yet" in g.explain_field("resource-id")
    assert "Flowscope" in g.explain_field("resource-id", "ja")
    assert g.explain_field("srcaddr", "fr") == g.FIELD_HELP["srcaddr"]["en"]  # fallback


@pytest.mark.parametrize("n, name", [
    (0, "HOPOPT"), (1, "ICMP"), (2, "IGMP"), (4, "IPv4"), (6, "TCP"), (17, "UDP"), (41, "IPv6"),
    (47, "GRE"), (50, "ESP"), (51, "AH"), (58, "ICMPv6"), (89, "OSPF"), (112, "VRRP"),
    (132, "SCTP"), (250, "proto 250"), ("6", "TCP"),
])
def test_protocol_name(n, name):
    assert g.protocol_name(n) == name


def test_protocol_name_is_total():
    assert g.protocol_name(None) == "-"
    assert g.protocol_name("abc") == "proto abc"


@pytest.mark.parametrize("text, number", [
    ("tcp", 6), ("TCP", 6), (" Udp ", 17), ("icmpv6", 58), ("ipv6-icmp", 58), ("6", 6),
    ("0", 0), ("255", 255), ("256", None), ("-1", None), ("tcpx", None), ("", None),
    (None, None), (6, 6), (True, None),
])
def test_protocol_number(text, number):
    assert g.protocol_number(text) == number


@pytest.mark.parametrize("port, protocol, service", [
    (443, None, "HTTPS"), (22, 6, "SSH"), (53, 17, "DNS"), (3389, 6, "RDP (Remote Desktop)"),
    (5439, 6, "Amazon Redshift"), (514, 17, "syslog"), (514, 6, "rsh (remote shell)"),
    (443, 1, None), (40000, 6, None), (None, 6, None), ("x", None, None),
])
def test_port_service(port, protocol, service):
    assert g.port_service(port, protocol) == service


@pytest.mark.parametrize("port", [20, 21, 22, 23, 25, 53, 67, 68, 80, 110, 123, 135, 137, 138,
                                  139, 143, 161, 389, 443, 445, 465, 514, 587, 636, 993, 995,
                                  1433, 1521, 2049, 3306, 3389, 5432, 5439, 5671, 6379, 8080,
                                  8443, 9092, 9200, 11211, 27017])
def test_well_known_ports_have_names(port):
    assert g.port_service(port)


@pytest.mark.parametrize("port, protocol, shown", [
    (443, 6, "443 (TCP)"), (53, 17, "53 (UDP)"), (0, 1, "ICMP"), (0, 58, "ICMPv6"),
    (None, 6, "TCP"), (0, 47, "GRE"), (80, None, "80"), (None, None, "-"),
])
def test_format_port(port, protocol, shown):
    assert g.format_port(port, protocol) == shown


@pytest.mark.parametrize("value, names, short", [
    (2, ["SYN"], "SYN"),
    (18, ["SYN", "ACK"], "SYN-ACK"),
    (1, ["FIN"], "FIN"),
    (3, ["FIN", "SYN"], "SYN + FIN"),
    (19, ["FIN", "SYN", "ACK"], "SYN-ACK + FIN"),
    (4, ["RST"], "RST"),
    (0, [], "none"),
])
def test_tcp_flags(value, names, short):
    assert g.tcp_flag_names(value) == names
    assert g.decode_value("tcp-flags", value) == short


def test_tcp_flags_in_plain_words():
    assert "opened" in g.explain_tcp_flags(2)
    assert "accepted" in g.explain_tcp_flags(18)
    assert "closed" in g.explain_tcp_flags(1)
    combined = g.explain_tcp_flags(19)
    assert "SYN-ACK" in combined and "FIN" in combined and "combined" in combined
    assert "combined" in g.explain_tcp_flags(3)
    assert "combined" not in g.explain_tcp_flags(18)  # SYN-ACK is one event, not two
    assert "ACK or PSH" in g.explain_tcp_flags(0)
    assert "集計期間" in g.explain_tcp_flags(19, "ja")


@pytest.mark.parametrize("odd", [None, "x", -1, 2.5, [], {}])
def test_tcp_flag_decoders_are_total(odd):
    assert g.tcp_flag_names(odd) == []
    assert g.explain_tcp_flags(odd)
    assert g.decode_value("tcp-flags", odd) is None


def test_traffic_path_labels():
    assert g.traffic_path_label(1) == "through another resource in the same VPC"
    assert "internet gateway or a gateway VPC endpoint" in g.traffic_path_label(2)
    assert "virtual private gateway" in g.traffic_path_label(3)
    assert "intra-region" in g.traffic_path_label(4)
    assert "inter-region" in g.traffic_path_label(5)
    assert "local gateway" in g.traffic_path_label(6)
    assert "Nitro" in g.traffic_path_label(7) and "endpoint" in g.traffic_path_label(7)
    assert "Nitro" in g.traffic_path_label(8) and "internet" in g.traffic_path_label(8)
    assert "9" in g.traffic_path_label(9)
    assert all(g.traffic_path_label(n, "ja") != g.traffic_path_label(n) for n in range(1, 9))
    assert g.traffic_path_label(None) == "-"


def test_coded_value_labels():
    assert "ingress" in g.flow_direction_label("ingress")
    assert "受信" in g.flow_direction_label("ingress", "ja")
    assert "no traffic" in g.log_status_label("NODATA")
    assert "skipped" in g.log_status_label("SKIPDATA")
    assert "capacity constraint or internal error" in g.log_status_label("SKIPDATA")
    assert "rejected" in g.action_label("REJECT")
    assert "Elastic Fabric Adapter" in g.type_label("EFA")
    assert g.reject_reason_label("BPA") == "blocked by VPC Block Public Access"
    assert g.reject_reason_label("NEWCODE") == "NEWCODE"  # unknown codes pass through
    assert g.action_label(None) == "-"


def test_decode_value():
    assert g.decode_value("protocol", 6) == "TCP"
    assert g.decode_value("dstport", 443) == "HTTPS"
    assert g.decode_value("dstport", 40000) is None
    assert g.decode_value("start", 1418530010) == "2014-12-14T04:06:50Z"
    assert g.decode_value("end", 10**15) is None  # not a plausible time: nothing to add
    assert g.decode_value("traffic-path", 2, "ja").startswith("インターネットゲートウェイ")
    assert g.decode_value("log-status", "OK").startswith("OK")
    assert g.decode_value("type", "IPv4") is None  # label equals the value: nothing to add
    assert g.decode_value("srcaddr", "10.0.0.1") is None
    assert g.decode_value("protocol", None) is None
    assert g.decode_value("no-such-field", "x") is None


def test_explain_missing_uses_record_context():
    nodata = {"log-status": "NODATA", "srcport": None}
    assert "NODATA" in g.explain_missing("srcport", nodata)
    assert "SKIPDATA" in g.explain_missing("bytes", {"log-status": "SKIPDATA"}, "en")
    assert "ICMP" in g.explain_missing("srcport", {"log-status": "OK"})
    assert "requester-managed" in g.explain_missing("instance-id", {})
    assert "ECS" in g.explain_missing("ecs-task-id", None)
    assert "Fargate" in g.explain_missing("ecs-container-instance-arn", None)
    assert "Block Public Access" in g.explain_missing("reject-reason", None)
    assert "TCP" in g.explain_missing("tcp-flags", None)
    assert "'-'" in g.explain_missing("future-field", None)
    assert g.explain_missing("srcport", nodata, "ja").startswith("NODATA の記録")


def test_not_applicable_reasons_cover_ecs_and_v5_fields():
    ecs = [f.name for f in FIELDS if f.name.startswith("ecs-")]
    assert len(ecs) == 10
    for name in [*ecs, "srcport", "dstport", "tcp-flags", "instance-id", "traffic-path",
                 "pkt-src-aws-service", "pkt-dst-aws-service", "reject-reason"]:
        assert set(g.NOT_APPLICABLE_REASON[name]) == {"en", "ja"}


def test_explain_record_rows():
    record = {"version": 2, "srcport": 0, "dstport": 0, "protocol": 1, "tcp-flags": None,
              "dstaddr": None, "newer-field": "x", "_file": "f", "_line": 3}
    rows = g.explain_record(record)
    assert [r["field"] for r in rows] == ["version", "srcport", "dstport", "protocol",
                                          "tcp-flags", "dstaddr", "newer-field"]
    by_field = {r["field"]: r for r in rows}
    assert by_field["protocol"]["meaning"] == "ICMP"
    assert by_field["dstport"]["meaning"] == ""  # ICMP: port 0 is no service
    assert "TCP" in by_field["tcp-flags"]["meaning"]
    assert by_field["dstaddr"]["value"] is None
    assert by_field["newer-field"]["explanation"] == g.explain_field("newer-field")
    assert set(rows[0]) == {"field", "value", "meaning", "explanation"}


def test_explain_record_uses_protocol_for_ports_and_japanese():
    rows = g.explain_record({"dstport": 514, "protocol": 6}, "ja")
    assert rows[0]["meaning"] == "rsh (remote shell)"
    assert rows[1]["explanation"] == g.FIELD_HELP["protocol"]["ja"]


# --- issue 19, point 7: impossible values and the client's port ----------------------------

def _meanings(line: str, lang: str = "en") -> dict[str, str]:
    from lib import records

    (row,), _ = records.decode_pasted(line)
    return {r["field"]: r["meaning"] for r in g.explain_record(row.values, lang)}


def test_impossible_addresses_and_ports_are_flagged_not_decoded():
    meanings = _meanings("2 123456789012 eni-0a1b2c3d 192.168.1.999 10.0.1.9 1521 99999 6 10 "
                         "840 1790000000 1790000060 ACCEPT OK")
    assert meanings["srcaddr"].startswith("⚠ not a possible IP address")
    assert meanings["dstaddr"] == ""
    assert meanings["dstport"].startswith("⚠ not a possible port (0 to 65535)")
    ja = _meanings("2 123456789012 eni-0a1b2c3d 192.168.1.999 10.0.1.9 1521 99999 6 10 "
                   "840 1790000000 1790000060 ACCEPT OK", "ja")
    assert ja["srcaddr"].startswith("⚠ IP アドレスとしてあり得ない値") and "0〜65535" in ja["dstport"]


@pytest.mark.parametrize("sport, dport, src_meaning, dst_meaning", [
    (1521, 443, "the client's own port (the service is port 443, HTTPS)", "HTTPS"),
    (443, 1521, "HTTPS", "the client's own port (the service is port 443, HTTPS)"),
    (1521, 49152, "Oracle Database", "the client's own port (the service is port 1521, "
                                     "Oracle Database)"),
    (49152, 22, "the client's own port (the service is port 22, SSH)", "SSH"),
    (50000, 49152, "", ""),
])
def test_a_service_is_named_on_its_own_side_only(sport, dport, src_meaning, dst_meaning):
    meanings = _meanings(f"2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 {sport} {dport} 6 10 "
                         "840 1790000000 1790000060 ACCEPT OK")
    assert (meanings["srcport"], meanings["dstport"]) == (src_meaning, dst_meaning)
