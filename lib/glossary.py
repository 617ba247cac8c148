"""Plain-words knowledge about flow log fields and values, in English and Japanese.

The dashboard is for people who do not read RFCs: every field gets a one-sentence
explanation, every coded value (protocol 6, tcp-flags 18, traffic-path 2) a meaning, and every
``-`` a reason. All decoders are pure and total: odd input gives a neutral text, never an error,
because they run on whatever a file contains.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lib import i18n
from lib.i18n import Translations, pick
from lib.iputil import parse_address


def _as_int(value: Any) -> int | None:
    """An int from an int, an integral float or a digit string; None for anything else.

    Decoders accept strings too because pasted or untyped values reach them as text.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


# --- fields ------------------------------------------------------------------------------

FIELD_HELP: dict[str, Translations] = {
    "version": {
        "en": "The flow log format version: 2 is the default format; higher numbers mean the log "
              "was set up to include newer fields.",
        "ja": "フローログの形式のバージョンです。2 が標準形式で、数字が大きいほど新しい項目を含む"
              "設定で記録されています。",
    },
    "account-id": {
        "en": "The AWS account that owns the network interface the traffic was recorded on "
              "(\"unknown\" for interfaces that AWS services create).",
        "ja": "通信が記録されたネットワークインターフェイスを所有する AWS アカウントの ID です"
              "（AWS のサービスが作成したインターフェイスでは \"unknown\" になります）。",
    },
    "interface-id": {
        "en": "The network interface (a virtual network card, id eni-...) on which the traffic "
              "was recorded.",
        "ja": "通信が記録されたネットワークインターフェイス（仮想的なネットワークカード、"
              "ID は eni-...）です。",
    },
    "srcaddr": {
        "en": "The IP address the traffic came from; for outgoing traffic it is the interface's "
              "own private address.",
        "ja": "通信の送信元 IP アドレスです。外向きの通信では、このインターフェイス自身の"
              "プライベートアドレスになります。",
    },
    "dstaddr": {
        "en": "The IP address the traffic went to; for incoming traffic it is the interface's "
              "own private address.",
        "ja": "通信の宛先 IP アドレスです。内向きの通信では、このインターフェイス自身の"
              "プライベートアドレスになります。",
    },
    "srcport": {
        "en": "The sender's port number, which tells which program on the sending side was "
              "talking (TCP and UDP only).",
        "ja": "送信元のポート番号で、送信側のどのプログラムが通信したかを表します"
              "（TCP と UDP のみ）。",
    },
    "dstport": {
        "en": "The receiver's port number, which usually tells which service was contacted "
              "(for example 443 = HTTPS websites).",
        "ja": "宛先のポート番号で、多くの場合どのサービスに接続したかを表します"
              "（例: 443 = HTTPS の Web サイト）。",
    },
    "protocol": {
        "en": "The network protocol as an IANA number (6 = TCP, 17 = UDP, 1 = ICMP such as ping).",
        "ja": "通信プロトコルを表す IANA の番号です（6 = TCP、17 = UDP、1 = ping などの ICMP）。",
    },
    "packets": {
        "en": "How many packets this flow carried during the capture window.",
        "ja": "集計期間中にこのフローで送られたパケットの数です。",
    },
    "bytes": {
        "en": "How much data, in bytes, this flow carried during the capture window.",
        "ja": "集計期間中にこのフローで送られたデータ量（バイト数）です。",
    },
    "start": {
        "en": "When the first packet of the flow was seen in the capture window "
              "(Unix time in seconds, UTC).",
        "ja": "集計期間内でこのフローの最初のパケットを確認した時刻です"
              "（UTC の Unix 時間、秒単位）。",
    },
    "end": {
        "en": "When the last packet of the flow was seen in the capture window "
              "(Unix time in seconds, UTC).",
        "ja": "集計期間内でこのフローの最後のパケットを確認した時刻です"
              "（UTC の Unix 時間、秒単位）。",
    },
    "action": {
        "en": "Whether the traffic was allowed (ACCEPT) or blocked (REJECT) by security groups, "
              "network ACLs or other controls.",
        "ja": "通信がセキュリティグループやネットワーク ACL などで許可された (ACCEPT) か、"
              "拒否された (REJECT) かを表します。",
    },
    "log-status": {
        "en": "Whether the record is normal (OK), stands for a quiet period without traffic "
              "(NODATA), or marks records AWS had to skip (SKIPDATA).",
        "ja": "記録が正常 (OK) か、通信がなかった期間 (NODATA) か、AWS が記録を省略した期間"
              " (SKIPDATA) かを表します。",
    },
    "vpc-id": {
        "en": "The VPC (your private network in AWS) that contains the network interface.",
        "ja": "ネットワークインターフェイスが属する VPC（AWS 上のプライベートネットワーク）です。",
    },
    "subnet-id": {
        "en": "The subnet (a section of the VPC in one Availability Zone) that contains the "
              "network interface.",
        "ja": "ネットワークインターフェイスが属するサブネット（1 つのアベイラビリティーゾーン内の"
              " VPC の区画）です。",
    },
    "instance-id": {
        "en": "The EC2 instance (virtual server) the network interface is attached to, if it is "
              "one you own.",
        "ja": "ネットワークインターフェイスが接続されている EC2 インスタンス（仮想サーバー）です"
              "（自分のアカウントのものの場合）。",
    },
    "tcp-flags": {
        "en": "TCP control flags seen in the flow, combined over the capture window "
              "(2 = opening, 18 = opening accepted, 1 = closing, 4 = reset).",
        "ja": "フロー中に見えた TCP の制御フラグで、集計期間中のものがまとめて記録されます"
              "（2 = 接続開始、18 = 接続受け入れ、1 = 終了、4 = リセット）。",
    },
    "type": {
        "en": "The kind of traffic: IPv4, IPv6, or EFA (Elastic Fabric Adapter, used for "
              "high-performance computing).",
        "ja": "通信の種類です: IPv4、IPv6、または EFA（高性能計算向けの Elastic Fabric Adapter）。",
    },
    "pkt-srcaddr": {
        "en": "The original sender's address inside the packet; it differs from srcaddr when the "
              "traffic passed a NAT gateway, load balancer or similar middle box.",
        "ja": "パケットに書かれた本来の送信元アドレスです。NAT ゲートウェイやロードバランサー"
              "などを経由した場合は srcaddr と異なります。",
    },
    "pkt-dstaddr": {
        "en": "The final destination address inside the packet; it differs from dstaddr when "
              "the traffic passed a NAT gateway, load balancer or similar middle box.",
        "ja": "パケットに書かれた本来の宛先アドレスです。NAT ゲートウェイやロードバランサー"
              "などを経由した場合は dstaddr と異なります。",
    },
    "region": {
        "en": "The AWS Region (for example us-east-1) that contains the network interface.",
        "ja": "ネットワークインターフェイスがある AWS リージョン（例: us-east-1）です。",
    },
    "az-id": {
        "en": "The Availability Zone ID (a group of data centers in the Region, for example "
              "use1-az4) that contains the network interface.",
        "ja": "ネットワークインターフェイスがあるアベイラビリティーゾーン（リージョン内の"
              "データセンター群）の ID です（例: use1-az4）。",
    },
    "sublocation-type": {
        "en": "If the interface is in a special location, which kind: a Wavelength Zone, an "
              "Outpost or a Local Zone.",
        "ja": "インターフェイスが特別な場所にある場合、その種類です: Wavelength Zone、"
              "Outpost、ローカルゾーンのいずれか。",
    },
    "sublocation-id": {
        "en": "The ID of the Wavelength Zone, Outpost or Local Zone that contains the interface.",
        "ja": "インターフェイスがある Wavelength Zone、Outpost、ローカルゾーンの ID です。",
    },
    "pkt-src-aws-service": {
        "en": "The AWS service (for example S3 or EC2) whose published address range contains "
              "the original sender's address.",
        "ja": "本来の送信元アドレスが属する、AWS が公開している IP アドレス範囲のサービス名です"
              "（例: S3、EC2）。",
    },
    "pkt-dst-aws-service": {
        "en": "The AWS service (for example S3 or EC2) whose published address range contains "
              "the final destination address.",
        "ja": "本来の宛先アドレスが属する、AWS が公開している IP アドレス範囲のサービス名です"
              "（例: S3、EC2）。",
    },
    "flow-direction": {
        "en": "Whether the traffic was coming into (ingress) or going out of (egress) the "
              "network interface.",
        "ja": "通信がネットワークインターフェイスに入ってきた (ingress) か、出ていった (egress)"
              " かを表します。",
    },
    "traffic-path": {
        "en": "For outgoing traffic, the way it left the VPC (for example 2 = internet gateway "
              "or gateway endpoint, 4 = VPC peering in the same Region).",
        "ja": "外向きの通信が VPC から出ていった経路です（例: 2 = インターネットゲートウェイ"
              "またはゲートウェイエンドポイント、4 = 同一リージョン内の VPC ピアリング）。",
    },
    "ecs-cluster-arn": {
        "en": "The full AWS resource name (ARN) of the ECS cluster that runs the container task.",
        "ja": "コンテナのタスクを実行している ECS クラスターの完全な AWS リソース名 (ARN) です。",
    },
    "ecs-cluster-name": {
        "en": "The name of the ECS cluster that runs the container task.",
        "ja": "コンテナのタスクを実行している ECS クラスターの名前です。",
    },
    "ecs-container-instance-arn": {
        "en": "The ARN of the ECS container instance (the EC2 server that hosts the task); "
              "tasks on Fargate have none.",
        "ja": "タスクを載せている ECS コンテナインスタンス（EC2 サーバー）の ARN です。"
              "Fargate のタスクにはありません。",
    },
    "ecs-container-instance-id": {
        "en": "The ID of the ECS container instance (the EC2 server that hosts the task); "
              "tasks on Fargate have none.",
        "ja": "タスクを載せている ECS コンテナインスタンス（EC2 サーバー）の ID です。"
              "Fargate のタスクにはありません。",
    },
    "ecs-container-id": {
        "en": "The Docker runtime ID of the first container in the ECS task.",
        "ja": "ECS タスク内の最初のコンテナの Docker ランタイム ID です。",
    },
    "ecs-second-container-id": {
        "en": "The Docker runtime ID of the second container, when the ECS task has more "
              "than one.",
        "ja": "ECS タスクに複数のコンテナがある場合の、2 番目のコンテナの Docker ランタイム ID"
              "です。",
    },
    "ecs-service-name": {
        "en": "The name of the ECS service that started the task, if a service started it.",
        "ja": "タスクを起動した ECS サービスの名前です（サービスから起動された場合）。",
    },
    "ecs-task-definition-arn": {
        "en": "The ARN of the task definition (the blueprint listing the containers) the task "
              "was started from.",
        "ja": "タスクの起動に使われたタスク定義（コンテナ構成の設計図）の ARN です。",
    },
    "ecs-task-arn": {
        "en": "The ARN of the running ECS task (a group of containers started together).",
        "ja": "実行中の ECS タスク（一緒に起動されたコンテナのまとまり）の ARN です。",
    },
    "ecs-task-id": {
        "en": "The short ID of the running ECS task.",
        "ja": "実行中の ECS タスクの短い ID です。",
    },
    "reject-reason": {
        "en": "Why the traffic was rejected, when AWS names a reason (BPA = blocked by VPC "
              "Block Public Access).",
        "ja": "通信が拒否された理由です（AWS が理由を示す場合のみ。BPA = VPC のパブリック"
              "アクセスのブロックによる遮断）。",
    },
}

UNKNOWN_FIELD_HELP: Translations = {
    "en": "A field this version of Flowscope does not know yet (newer flow log version); "
          "shown as text.",
    "ja": "このバージョンの Flowscope がまだ知らない項目です（新しいフローログ形式のもの）。"
          "文字列として表示します。",
}


def explain_field(name: str, lang: str = "en") -> str:
    """One plain sentence about a field; a generic note for names AWS added later."""
    return pick(FIELD_HELP.get(name, UNKNOWN_FIELD_HELP), lang)


# --- why a value is "-" -------------------------------------------------------------------

_NO_PORTS: Translations = {
    "en": "Ports exist only for TCP and UDP-like protocols; traffic such as ICMP (ping) has none.",
    "ja": "ポートは TCP や UDP などのプロトコルにしかなく、ICMP（ping）などの通信にはありません。",
}
_NOT_ECS: Translations = {
    "en": "The traffic does not belong to an Amazon ECS task.",
    "ja": "この通信は Amazon ECS のタスクのものではありません。",
}
_NO_CONTAINER_INSTANCE: Translations = {
    "en": "The task runs on AWS Fargate, which has no EC2 container instance, or the traffic "
          "does not belong to an ECS task.",
    "ja": "タスクが EC2 コンテナインスタンスを持たない AWS Fargate で動いているか、"
          "通信が ECS タスクのものではありません。",
}
_NOT_IN_SERVICE_RANGE: Translations = {
    "en": "The address is not in the published IP address range of an AWS service.",
    "ja": "アドレスが AWS のサービスとして公開されている IP アドレス範囲に含まれていません。",
}
_NOT_IN_SUBLOCATION: Translations = {
    "en": "The network interface is not in a Wavelength Zone, an Outpost or a Local Zone.",
    "ja": "ネットワークインターフェイスは Wavelength Zone、Outpost、ローカルゾーンのいずれにも"
          "ありません。",
}

NOT_APPLICABLE_REASON: dict[str, Translations] = {
    "srcport": _NO_PORTS,
    "dstport": _NO_PORTS,
    "tcp-flags": {
        "en": "TCP flags exist only for TCP traffic; UDP, ICMP and other protocols have none.",
        "ja": "TCP フラグは TCP の通信にしかなく、UDP や ICMP などにはありません。",
    },
    "instance-id": {
        "en": "The network interface is not attached to an instance you own: it is detached, or "
              "it belongs to a requester-managed AWS resource such as a NAT gateway, load "
              "balancer or VPC endpoint.",
        "ja": "ネットワークインターフェイスが自分のインスタンスに接続されていません。切り離されて"
              "いるか、NAT ゲートウェイ、ロードバランサー、VPC エンドポイントなど AWS が管理する"
              "リソース（リクエスタマネージド）のものです。",
    },
    "pkt-src-aws-service": _NOT_IN_SERVICE_RANGE,
    "pkt-dst-aws-service": _NOT_IN_SERVICE_RANGE,
    "traffic-path": {
        "en": "The path is recorded only for outgoing (egress) traffic, and only when it is one "
              "of the paths AWS names.",
        "ja": "経路は外向き (egress) の通信で、AWS が定める経路のいずれかに当てはまる場合に"
              "だけ記録されます。",
    },
    "sublocation-type": _NOT_IN_SUBLOCATION,
    "sublocation-id": _NOT_IN_SUBLOCATION,
    "ecs-cluster-arn": _NOT_ECS,
    "ecs-cluster-name": _NOT_ECS,
    "ecs-container-instance-arn": _NO_CONTAINER_INSTANCE,
    "ecs-container-instance-id": _NO_CONTAINER_INSTANCE,
    "ecs-container-id": {
        "en": "No container ID is reported (for example for tasks on AWS Fargate), or the "
              "traffic does not belong to an ECS task.",
        "ja": "コンテナ ID が報告されていない（AWS Fargate のタスクなど）か、通信が ECS タスクの"
              "ものではありません。",
    },
    "ecs-second-container-id": {
        "en": "The task has only one container, or the traffic does not belong to an ECS task.",
        "ja": "タスクのコンテナが 1 つだけか、通信が ECS タスクのものではありません。",
    },
    "ecs-service-name": {
        "en": "The task was not started by an ECS service (for example a standalone or "
              "scheduled task), or the traffic does not belong to an ECS task.",
        "ja": "タスクが ECS サービスから起動されていない（単独実行やスケジュール実行など）か、"
              "通信が ECS タスクのものではありません。",
    },
    "ecs-task-definition-arn": _NOT_ECS,
    "ecs-task-arn": _NOT_ECS,
    "ecs-task-id": _NOT_ECS,
    "reject-reason": {
        "en": "The traffic was accepted, or rejected for a reason other than VPC Block Public "
              "Access (AWS names only BPA).",
        "ja": "通信が許可されたか、VPC のパブリックアクセスのブロック以外の理由で拒否されました"
              "（AWS が理由を示すのは BPA のみ）。",
    },
}

# NODATA/SKIPDATA records carry no traffic, so every traffic field is "-" whatever its own
# reason would be: the record's status explains it better than the field.
STATUS_MISSING_REASON: dict[str, Translations] = {
    "NODATA": {
        "en": "NODATA record: there was no traffic on this network interface during the "
              "capture window, so traffic fields are empty.",
        "ja": "NODATA の記録です。集計期間中このネットワークインターフェイスに通信がなかったため、"
              "通信の項目は空です。",
    },
    "SKIPDATA": {
        "en": "SKIPDATA record: AWS skipped some records during the capture window (capacity "
              "constraint or internal error), so traffic fields are empty.",
        "ja": "SKIPDATA の記録です。集計期間中に AWS が一部の記録を省略した（容量の制約または"
              "内部エラー）ため、通信の項目は空です。",
    },
}

GENERIC_MISSING_REASON: Translations = {
    "en": "AWS wrote '-': this field has no value for this record.",
    "ja": "AWS は '-' を記録しました。この記録にはこの項目の値がありません。",
}


def explain_missing(name: str, record: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """Why ``name`` is ``-`` in ``record`` (the record gives context such as NODATA)."""
    status = (record or {}).get("log-status")
    if status in STATUS_MISSING_REASON:
        return pick(STATUS_MISSING_REASON[status], lang)
    return pick(NOT_APPLICABLE_REASON.get(name, GENERIC_MISSING_REASON), lang)


# --- protocols and ports ------------------------------------------------------------------

# IANA "Assigned Internet Protocol Numbers", the ones seen in practice. Names follow common
# usage where it differs from IANA's keyword (IANA: IPv6-ICMP, OSPFIGP).
PROTOCOLS: dict[int, str] = {
    0: "HOPOPT", 1: "ICMP", 2: "IGMP", 3: "GGP", 4: "IPv4", 5: "ST", 6: "TCP", 8: "EGP",
    9: "IGP", 17: "UDP", 33: "DCCP", 41: "IPv6", 43: "IPv6-Route", 44: "IPv6-Frag",
    46: "RSVP", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6", 59: "IPv6-NoNxt",
    60: "IPv6-Opts", 88: "EIGRP", 89: "OSPF", 94: "IPIP", 97: "ETHERIP", 103: "PIM",
    108: "IPComp", 112: "VRRP", 115: "L2TP", 132: "SCTP", 136: "UDPLite", 137: "MPLS-in-IP",
    143: "Ethernet",
}
_PROTOCOL_ALIASES = {"ipv6-icmp": 58, "icmp6": 58, "ospfigp": 89, "ip-in-ip": 94}
_BY_PROTOCOL_NAME = {name.lower(): n for n, name in PROTOCOLS.items()} | _PROTOCOL_ALIASES

# Protocols whose header carries port numbers; for all others AWS writes port 0 or "-".
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})


def protocol_name(n: Any) -> str:
    """'TCP' for 6; 'proto N' for numbers without a name; '-' when there is no number."""
    number = _as_int(n)
    if number is None:
        return "-" if n is None else f"proto {n}"
    return PROTOCOLS.get(number, f"proto {number}")


def protocol_number(name_or_number: Any) -> int | None:
    """6 for 'tcp', 'TCP' or '6'; None for anything that is not a protocol (0-255)."""
    number = _as_int(name_or_number)
    if number is None and isinstance(name_or_number, str):
        number = _BY_PROTOCOL_NAME.get(name_or_number.strip().lower())
    return number if number is not None and 0 <= number <= 255 else None


# Well-known ports, named the way people say them. Not exhaustive: enough to recognise the
# services that show up in cloud traffic and in internet scans.
PORT_SERVICES: dict[int, str] = {
    20: "FTP data", 21: "FTP", 22: "SSH", 23: "Telnet", 25: "SMTP", 53: "DNS",
    67: "DHCP server", 68: "DHCP client", 69: "TFTP", 80: "HTTP", 88: "Kerberos", 110: "POP3",
    111: "RPC portmapper", 123: "NTP", 135: "Microsoft RPC", 137: "NetBIOS name",
    138: "NetBIOS datagram", 139: "NetBIOS session", 143: "IMAP", 161: "SNMP",
    162: "SNMP trap", 179: "BGP", 389: "LDAP", 443: "HTTPS", 445: "SMB (Windows file sharing)",
    465: "SMTPS", 500: "IKE (IPsec VPN)", 514: "syslog", 587: "SMTP submission", 636: "LDAPS",
    873: "rsync", 993: "IMAPS", 995: "POP3S", 1194: "OpenVPN", 1433: "Microsoft SQL Server",
    1521: "Oracle Database", 1723: "PPTP", 1883: "MQTT", 2049: "NFS", 2181: "ZooKeeper",
    2375: "Docker API", 2376: "Docker API (TLS)", 2379: "etcd", 3128: "HTTP proxy",
    3306: "MySQL / Aurora", 3389: "RDP (Remote Desktop)", 3478: "STUN/TURN",
    4500: "IPsec NAT traversal", 4789: "VXLAN", 5060: "SIP", 5432: "PostgreSQL",
    5439: "Amazon Redshift", 5601: "Kibana / OpenSearch Dashboards", 5671: "AMQPS",
    5672: "AMQP", 5900: "VNC", 5985: "WinRM", 5986: "WinRM (HTTPS)",
    6081: "GENEVE (Gateway Load Balancer)", 6379: "Redis", 6443: "Kubernetes API",
    8080: "HTTP alternate", 8443: "HTTPS alternate", 8883: "MQTT (TLS)", 9090: "Prometheus",
    9092: "Kafka", 9100: "Prometheus node exporter", 9200: "Elasticsearch / OpenSearch",
    9300: "Elasticsearch transport", 10250: "Kubernetes kubelet", 11211: "Memcached",
    27017: "MongoDB",
}
# The same number means different things over TCP and UDP for a few ports.
_PORT_SERVICES_BY_PROTOCOL: dict[tuple[int, int], str] = {(514, 6): "rsh (remote shell)"}


def port_service(port: Any, protocol: Any = None) -> str | None:
    """'HTTPS' for 443; None for unknown ports, or when the protocol has no ports (ICMP)."""
    number = _as_int(port)
    proto = _as_int(protocol)
    if number is None or (proto is not None and proto not in PORT_PROTOCOLS):
        return None
    return _PORT_SERVICES_BY_PROTOCOL.get((number, proto)) or PORT_SERVICES.get(number)


def format_port(port: Any, protocol: Any) -> str:
    """How result tables show a port: '443 (TCP)'; 'ICMP' for protocols without ports."""
    proto = _as_int(protocol)
    if port is None or (proto is not None and proto not in PORT_PROTOCOLS):
        return protocol_name(protocol)
    if protocol is None:
        return str(port)
    return f"{port} ({protocol_name(protocol)})"


# --- TCP flags ----------------------------------------------------------------------------

TCP_FLAG_BITS: dict[str, int] = {
    "FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ECE": 64, "CWR": 128,
}
SYN_ACK = TCP_FLAG_BITS["SYN"] | TCP_FLAG_BITS["ACK"]  # 18: AWS logs it as one value


def tcp_flag_names(value: Any) -> list[str]:
    """Names of the bits set, in bit order (as Wireshark lists them): 19 -> FIN, SYN, ACK."""
    bits = _as_int(value)
    if bits is None or bits < 0:
        return []
    return [name for name, bit in TCP_FLAG_BITS.items() if bits & bit]


def _tcp_events(value: Any) -> list[str]:
    """The flags as connection events, in lifecycle order: SYN-ACK merged, then FIN, RST,
    then any other flag by name (AWS itself only logs SYN, SYN-ACK, FIN and RST)."""
    names = tcp_flag_names(value)
    events = ["SYN-ACK"] if {"SYN", "ACK"} <= set(names) else [n for n in names if n == "SYN"]
    events += [n for n in ("FIN", "RST") if n in names]
    covered = {"SYN", "FIN", "RST"} | ({"ACK"} if "SYN-ACK" in events else set())
    return events + [n for n in names if n not in covered]


_TCP_EVENT_WORDS: dict[str, Translations] = {
    "SYN": {"en": "SYN: a new connection was being opened (its first packet).",
            "ja": "SYN: 新しい接続を開こうとしました（接続の最初のパケット）。"},
    "SYN-ACK": {"en": "SYN-ACK: the receiving side answered a connection request (the "
                      "connection was accepted).",
                "ja": "SYN-ACK: 接続要求に応答しました（接続が受け入れられました）。"},
    "FIN": {"en": "FIN: the connection was being closed normally.",
            "ja": "FIN: 接続を正常に閉じようとしました。"},
    "RST": {"en": "RST: the connection was reset (refused or aborted).",
            "ja": "RST: 接続がリセットされました（拒否または中断）。"},
}
_TCP_OTHER_FLAGS: Translations = {"en": "Other flags: {names}.", "ja": "その他のフラグ: {names}。"}
_TCP_COMBINED: Translations = {
    "en": "Flags are combined over the capture window, so all of this happened within it.",
    "ja": "フラグは集計期間中のものがまとめて記録されるため、これらはすべてその期間内に"
          "起きています。",
}
_TCP_ZERO: Translations = {
    "en": "No SYN, FIN or RST was seen: usually data flowing in a connection that was already "
          "open (AWS does not log ACK or PSH on their own).",
    "ja": "SYN・FIN・RST はありません。通常はすでに開いている接続でのデータのやりとりです"
          "（AWS は ACK や PSH だけでは記録しません）。",
}
_TCP_NONE: Translations = {
    "en": "No TCP flags recorded (not TCP traffic, or no data).",
    "ja": "TCP フラグは記録されていません（TCP 以外の通信、またはデータなし）。",
}


def explain_tcp_flags(value: Any, lang: str = "en") -> str:
    """tcp-flags in plain words, e.g. 19 -> SYN-ACK and FIN within one capture window."""
    bits = _as_int(value)
    if bits is None or bits < 0:
        return pick(_TCP_NONE, lang)
    events = _tcp_events(value)
    if not events:
        return pick(_TCP_ZERO, lang)
    named = [pick(_TCP_EVENT_WORDS[e], lang) for e in events if e in _TCP_EVENT_WORDS]
    others = [e for e in events if e not in _TCP_EVENT_WORDS]
    if others:
        named.append(pick(_TCP_OTHER_FLAGS, lang).format(names=", ".join(others)))
    if len(events) > 1:
        named.append(pick(_TCP_COMBINED, lang))
    return ("" if lang == "ja" else " ").join(named)  # Japanese puts no space after 。


def _tcp_flags_short(value: Any, lang: str) -> str | None:
    """'SYN-ACK + FIN' for 19: the compact form shown next to the number."""
    bits = _as_int(value)
    if bits is None or bits < 0:
        return None
    return " + ".join(_tcp_events(value)) or pick({"en": "none", "ja": "なし"}, lang)


# --- coded values -------------------------------------------------------------------------

TRAFFIC_PATHS: dict[int, Translations] = {
    1: {"en": "through another resource in the same VPC",
        "ja": "同じ VPC 内の別のリソース経由"},
    2: {"en": "through an internet gateway or a gateway VPC endpoint",
        "ja": "インターネットゲートウェイまたはゲートウェイ VPC エンドポイント経由"},
    3: {"en": "through a virtual private gateway", "ja": "仮想プライベートゲートウェイ経由"},
    4: {"en": "through an intra-region VPC peering connection",
        "ja": "同一リージョン内の VPC ピアリング接続経由"},
    5: {"en": "through an inter-region VPC peering connection",
        "ja": "リージョン間の VPC ピアリング接続経由"},
    6: {"en": "through a local gateway", "ja": "ローカルゲートウェイ経由"},
    7: {"en": "through a gateway VPC endpoint (Nitro-based instances only)",
        "ja": "ゲートウェイ VPC エンドポイント経由（Nitro ベースのインスタンスのみ）"},
    8: {"en": "through an internet gateway (Nitro-based instances only)",
        "ja": "インターネットゲートウェイ経由（Nitro ベースのインスタンスのみ）"},
}
_UNKNOWN_PATH: Translations = {"en": "path {n} (not known to this version of Flowscope)",
                        "ja": "経路 {n}（このバージョンの Flowscope では未対応）"}

FLOW_DIRECTIONS: dict[str, Translations] = {
    "ingress": {"en": "incoming (ingress)", "ja": "受信 (ingress)"},
    "egress": {"en": "outgoing (egress)", "ja": "送信 (egress)"},
}
LOG_STATUSES: dict[str, Translations] = {
    "OK": {"en": "OK: data is recorded normally", "ja": "OK: 正常に記録されています"},
    "NODATA": {"en": "NODATA: no traffic during the interval",
               "ja": "NODATA: 期間中に通信がありませんでした"},
    "SKIPDATA": {"en": "SKIPDATA: some records were skipped during the interval "
                       "(capacity constraint or internal error)",
                 "ja": "SKIPDATA: 期間中に一部の記録が省略されました（容量の制約または内部エラー）"},
}
ACTION_LABELS: dict[str, Translations] = {
    "ACCEPT": {"en": "accepted (allowed through)", "ja": "許可 (ACCEPT)"},
    "REJECT": {"en": "rejected (blocked, for example by a security group or network ACL)",
               "ja": "拒否 (REJECT: セキュリティグループやネットワーク ACL などで遮断)"},
}
TRAFFIC_TYPES: dict[str, Translations] = {
    "IPv4": {"en": "IPv4", "ja": "IPv4"},
    "IPv6": {"en": "IPv6", "ja": "IPv6"},
    "EFA": {"en": "EFA (Elastic Fabric Adapter traffic)",
            "ja": "EFA（Elastic Fabric Adapter の通信）"},
}
REJECT_REASONS: dict[str, Translations] = {
    "BPA": {"en": "blocked by VPC Block Public Access",
            "ja": "VPC のパブリックアクセスのブロック (BPA) により遮断"},
}
_UNKNOWN_ACCOUNT: Translations = {
    "en": "an interface created by an AWS service (owner account not reported)",
    "ja": "AWS のサービスが作成したインターフェイス（所有アカウントは記録されません）",
}


def _label(table: Mapping[str, Translations], value: Any, lang: str) -> str:
    """The label of a coded text value; unknown values (newer AWS codes) pass through."""
    if value is None:
        return "-"
    texts = table.get(str(value))
    return pick(texts, lang) if texts else str(value)


def traffic_path_label(n: Any, lang: str = "en") -> str:
    number = _as_int(n)
    if number is None:
        return "-" if n is None else str(n)
    texts = TRAFFIC_PATHS.get(number)
    return pick(texts, lang) if texts else pick(_UNKNOWN_PATH, lang).format(n=number)


def flow_direction_label(v: Any, lang: str = "en") -> str:
    return _label(FLOW_DIRECTIONS, v, lang)


def log_status_label(v: Any, lang: str = "en") -> str:
    return _label(LOG_STATUSES, v, lang)


def action_label(v: Any, lang: str = "en") -> str:
    return _label(ACTION_LABELS, v, lang)


def type_label(v: Any, lang: str = "en") -> str:
    return _label(TRAFFIC_TYPES, v, lang)


def reject_reason_label(v: Any, lang: str = "en") -> str:
    return _label(REJECT_REASONS, v, lang)


def utc_time(seconds: Any) -> str | None:
    """ISO UTC time of Unix seconds; None when the value is not a plausible time."""
    number = _as_int(seconds)
    try:
        return datetime.fromtimestamp(number, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _account_meaning(value: Any, lang: str) -> str | None:
    return pick(_UNKNOWN_ACCOUNT, lang) if value == "unknown" else None


_DECODERS = {
    "protocol": lambda v, lang: protocol_name(v),
    "srcport": lambda v, lang: port_service(v),
    "dstport": lambda v, lang: port_service(v),
    "tcp-flags": _tcp_flags_short,
    "traffic-path": traffic_path_label,
    "flow-direction": flow_direction_label,
    "log-status": log_status_label,
    "action": action_label,
    "type": type_label,
    "reject-reason": reject_reason_label,
    "start": lambda v, lang: utc_time(v),
    "end": lambda v, lang: utc_time(v),
    "account-id": _account_meaning,
}


def decode_value(name: str, value: Any, lang: str = "en") -> str | None:
    """The meaning of one field value ('HTTPS' for dstport 443); None when it adds nothing."""
    decoder = _DECODERS.get(name)
    if decoder is None or value is None:
        return None
    meaning = decoder(value, lang)
    return None if meaning is None or meaning == str(value) else meaning


_DECODER = i18n.catalogue("decoder")["values"]  # impossible values, a client's port
_ADDRESS_FIELDS = ("srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr")


def _is_address(value: Any) -> bool:
    try:
        parse_address(str(value))
    except ValueError:
        return False
    return True


def _port_meaning(name: str, record: Mapping[str, Any], lang: str) -> str:
    """The service a port stands for, only on the service's side: of two known ports the
    lower one is the service (1521 → 443 is a client that happened to pick 1521)."""
    port = _as_int(record[name])
    if port is None or not 0 <= port <= 65535:
        return pick(_DECODER["impossible_port"], lang)
    protocol = record.get("protocol")
    other = _as_int(record.get("dstport" if name == "srcport" else "srcport"))
    other_service = port_service(other, protocol) if other is not None else None
    if other_service and other < port:
        return i18n.fill(_DECODER["client_port"], lang, port=other, service=other_service)
    return port_service(port, protocol) or ""


def _meaning(name: str, record: Mapping[str, Any], lang: str) -> str:
    value = record[name]
    if value is None:
        return explain_missing(name, record, lang)
    if name in ("srcport", "dstport"):  # the protocol decides whether a port means a service
        return _port_meaning(name, record, lang)
    if name in _ADDRESS_FIELDS and not _is_address(value):
        return pick(_DECODER["impossible_address"], lang)
    return decode_value(name, value, lang) or ""


def explain_record(record: Mapping[str, Any], lang: str = "en") -> list[dict[str, Any]]:
    """One row per field (record order): field, value, meaning, explanation."""
    return [
        {"field": name, "value": record[name], "meaning": _meaning(name, record, lang),
         "explanation": explain_field(name, lang)}
        for name in record
        if not name.startswith("_")
    ]

