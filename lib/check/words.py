"""Connection check, the words: every English and Japanese text of the check (verdict
messages, reasons, table headings and labels) and the reasons chosen from the facts."""

from __future__ import annotations

from collections import Counter

from lib import glossary, timeutil
from lib.check.facts import (
    RECENT_S,
    REQUEST,
    RESPONSE,
    RST,
    SIDE_DESTINATION,
    SIDE_SOURCE,
    SIDE_UNKNOWN,
    SYN,
    SYN_ACK,
    CheckSpec,
    Facts,
    Seen,
    counts_of,
    flags_of,
    network_text,
)

# --- words ---------------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "message-connected": {
        "en": "Connected: traffic from {src} to {dst} on {service} got through, and the "
              "responses came back.",
        "ja": "接続できています: {src} から {dst} への {service} の通信は届き、応答も戻って"
              "います。"},
    "message-intermittent": {
        "en": "Sometimes connected: some traffic from {src} to {dst} on {service} got through "
              "and some was rejected.",
        "ja": "一部のみ接続: {src} から {dst} への {service} の通信には、届いたものと"
              "拒否されたものがあります。"},
    "message-refused": {
        "en": "Refused by the destination host: {dst} answered the requests from {src} on "
              "{service} with a reset: nothing listens there, or the host refuses.",
        "ja": "宛先ホストが拒否: {dst} は {src} からの {service} の要求にリセットで応答"
              "しました。待ち受けているサービスがないか、ホストが拒否しています。"},
    "message-rejected-outbound": {
        "en": "Blocked leaving the source: requests from {src} to {dst} on {service} were "
              "rejected on the source's network interface on the way out.",
        "ja": "送信元で遮断: {src} から {dst} への {service} の要求は、送信元のネットワーク"
              "インターフェイスで送信時に拒否されました。"},
    "message-rejected-inbound": {
        "en": "Blocked at the destination: requests from {src} to {dst} on {service} reached "
              "the destination's network interface and were rejected on the way in.",
        "ja": "宛先で遮断: {src} から {dst} への {service} の要求は宛先のネットワーク"
              "インターフェイスに届きましたが、受信時に拒否されました。"},
    "message-rejected": {
        "en": "Blocked: requests from {src} to {dst} on {service} were rejected; the records "
              "do not show whether leaving the source or entering the destination.",
        "ja": "遮断: {src} から {dst} への {service} の要求は拒否されました。送信元での送信時か"
              "宛先での受信時かは、記録からは判断できません。"},
    "message-response-rejected": {
        "en": "Responses blocked: requests from {src} to {dst} on {service} were allowed, but "
              "the responses were rejected on the way back.",
        "ja": "応答が遮断: {src} から {dst} への {service} の要求は許可されましたが、"
              "戻りの応答が拒否されました。"},
    "message-no-response": {
        "en": "No answer: requests from {src} to {dst} on {service} were allowed, but no "
              "response came back.",
        "ja": "応答なし: {src} から {dst} への {service} の要求は許可されましたが、"
              "応答が戻っていません。"},
    "message-no-records": {
        "en": "No records: no traffic between {src} and {dst} on {service} was logged in this "
              "time range.",
        "ja": "記録なし: この期間に {src} と {dst} の間の {service} の通信は記録されて"
              "いません。"},
    "count-request": {
        "en": "{n} request record(s) from {src} to {dst}: {accepted} accepted, {rejected} "
              "rejected, {bytes} bytes, first seen {first}, last seen {last}.",
        "ja": "{src} から {dst} への要求の記録 {n} 件: 許可 {accepted} 件、拒否 {rejected} 件、"
              "{bytes} バイト、最初 {first}、最後 {last}。"},
    "count-response": {
        "en": "{n} response record(s) from {dst} back to {src}: {accepted} accepted, "
              "{rejected} rejected, {bytes} bytes, first seen {first}, last seen {last}.",
        "ja": "{dst} から {src} への応答の記録 {n} 件: 許可 {accepted} 件、拒否 {rejected} 件、"
              "{bytes} バイト、最初 {first}、最後 {last}。"},
    "no-requests": {
        "en": "No request records from {src} to {dst}: the requests may have been sent before "
              "the time range (a long-lived connection).",
        "ja": "{src} から {dst} への要求の記録はありません。期間より前に始まった長い接続の"
              "可能性があります。"},
    "no-responses": {
        "en": "No response records from {dst} back to {src} in this time range.",
        "ja": "この期間に {dst} から {src} への応答の記録はありません。"},
    "handshake": {
        "en": "The responses carry SYN-ACK (tcp-flags {flags}): the destination accepted the "
              "connections.",
        "ja": "応答に SYN-ACK があります (tcp-flags {flags})。宛先は接続を受け入れています。"},
    "rst": {
        "en": "The responses carry RST and no SYN-ACK (tcp-flags {flags}): the host at {dst} "
              "refused the connections; check that the service runs and listens on this port.",
        "ja": "応答に RST があり SYN-ACK がありません (tcp-flags {flags})。{dst} のホストが接続を"
              "拒否しました。サービスが起動してこのポートで待ち受けているか確認してください。"},
    "rejected-at-source": {
        "en": "{n} request record(s) were rejected on the source's interface ({interfaces}) "
              "on the way out: check the outbound rules of the source's security group and "
              "of its subnet's network ACL for {service} to {dst}.",
        "ja": "要求の記録 {n} 件が送信元のインターフェイス ({interfaces}) で送信時に拒否"
              "されました。送信元のセキュリティグループとサブネットのネットワーク ACL の"
              "アウトバウンドルールで、{dst} への {service} が許可されているか確認してください。"},
    "rejected-at-destination": {
        "en": "{n} request record(s) were rejected on the destination's interface "
              "({interfaces}) on the way in: check the inbound rules of the destination's "
              "security group and of its subnet's network ACL for {service} from {src}.",
        "ja": "要求の記録 {n} 件が宛先のインターフェイス ({interfaces}) で受信時に拒否"
              "されました。宛先のセキュリティグループとサブネットのネットワーク ACL の"
              "インバウンドルールで、{src} からの {service} が許可されているか確認してください。"},
    "rejected-side-unknown": {
        "en": "{n} request record(s) were rejected on {interfaces}. This flow log's format has "
              "no flow-direction and the records do not show which address is the interface's "
              "own, so check the source's outbound and the destination's inbound rules "
              "(security groups and network ACLs).",
        "ja": "要求の記録 {n} 件が {interfaces} で拒否されました。このフローログの形式には "
              "flow-direction がなく、どちらのアドレスがインターフェイス自身のものか記録から"
              "分からないため、送信元のアウトバウンドと宛先のインバウンドのルール"
              "（セキュリティグループとネットワーク ACL）を確認してください。"},
    "accepted-at-source": {
        "en": "The same requests were accepted leaving the source's interface ({interfaces}).",
        "ja": "同じ要求は送信元のインターフェイス ({interfaces}) では送信を許可されています。"},
    "stateful": {
        "en": "Security groups are stateful: they always let the response to an allowed request "
              "back. A rejected response therefore points to a network ACL, which is stateless "
              "and needs its own rule for the return traffic.",
        "ja": "セキュリティグループはステートフルで、許可された要求への応答は必ず通します。"
              "そのため応答の拒否はネットワーク ACL を示しています。ネットワーク ACL は"
              "ステートレスで、戻りの通信にも専用のルールが必要です。"},
    "nacl-destination": {
        "en": "The responses were rejected leaving the destination's interface ({interfaces}): "
              "the network ACL of the destination's subnet needs an outbound rule allowing "
              "{protocol} to {src} on ephemeral ports 1024-65535 (seen: {ports}).",
        "ja": "応答は宛先のインターフェイス ({interfaces}) から出るときに拒否されました。"
              "宛先サブネットのネットワーク ACL に、{src} へのエフェメラルポート 1024-65535 "
              "の {protocol} を許可するアウトバウンドルールが必要です（記録上のポート: {ports}）。"},
    "nacl-source": {
        "en": "The responses were rejected arriving at the source's interface ({interfaces}): "
              "the network ACL of the source's subnet needs an inbound rule allowing "
              "{protocol} from {dst} on ephemeral ports 1024-65535 (seen: {ports}).",
        "ja": "応答は送信元のインターフェイス ({interfaces}) に入るときに拒否されました。"
              "送信元サブネットのネットワーク ACL に、{dst} からのエフェメラルポート "
              "1024-65535 の {protocol} を許可するインバウンドルールが必要です"
              "（記録上のポート: {ports}）。"},
    "nacl-unknown": {
        "en": "The responses were rejected on {interfaces}: a network ACL on the source's or "
              "the destination's subnet lacks a rule for the return traffic on ephemeral ports "
              "1024-65535 (seen: {ports}).",
        "ja": "応答は {interfaces} で拒否されました。送信元または宛先のサブネットのネットワーク "
              "ACL に、エフェメラルポート 1024-65535 の戻りの通信を許可するルールがありません"
              "（記録上のポート: {ports}）。"},
    "syn-only": {
        "en": "The requests carry SYN (tcp-flags {flags}) and no SYN-ACK came back: connections "
              "were being opened and the destination did not answer.",
        "ja": "要求には SYN があり (tcp-flags {flags})、SYN-ACK が戻っていません。接続を"
              "開こうとしましたが、宛先が応答していません。"},
    "no-flags": {
        "en": "This flow log's format has no tcp-flags, so it cannot show the TCP handshake; "
              "only the missing response records tell that nothing came back.",
        "ja": "このフローログの形式には tcp-flags がないため TCP のハンドシェイクは分かりません。"
              "応答の記録がないことから、何も戻っていないと判断しています。"},
    "reached-destination": {
        "en": "The requests were accepted into the destination's interface ({interfaces}), so "
              "the network let them through: the service on {dst} is down, does not listen "
              "on this port, or a firewall on the host drops the requests.",
        "ja": "要求は宛先のインターフェイス ({interfaces}) で受信を許可されており、ネットワーク"
              "は通しています。{dst} のサービスが停止している、このポートで待ち受けていない、"
              "またはホスト上のファイアウォールが要求を破棄している可能性があります。"},
    "left-source-only": {
        "en": "The requests left the source's interface ({interfaces}) and nothing was logged "
              "at the destination: it is outside the logged networks (internet, on-premises, "
              "another account) and did not answer, or the traffic was lost on the way "
              "(routing, a firewall appliance).",
        "ja": "要求は送信元のインターフェイス ({interfaces}) から送信されましたが、宛先側の記録は"
              "ありません。宛先が記録対象外のネットワーク（インターネット、オンプレミス、別の"
              "アカウント）にあって応答していないか、途中（ルーティング、ファイアウォール機器）"
              "で失われています。"},
    "accepted-side-unknown": {
        "en": "The requests were accepted on {interfaces} and nothing came back: the "
              "destination did not answer, or the responses were lost on the way.",
        "ja": "要求は {interfaces} で許可されましたが、何も戻っていません。宛先が応答して"
              "いないか、応答が途中で失われています。"},
    "connectionless": {
        "en": "{protocol} has no connections: some services (syslog, for example) never "
              "answer, so missing responses can be normal for them.",
        "ja": "{protocol} にはコネクションがありません。syslog など応答しないサービスでは、"
              "応答がないのが正常な場合もあります。"},
    "rejected-then-ok": {
        "en": "All rejections are before {time} and the traffic got through after it: a rule "
              "was probably changed then.",
        "ja": "拒否はすべて {time} より前で、その後は通信できています。その時点でルールが"
              "変更された可能性があります。"},
    "ok-then-rejected": {
        "en": "The traffic got through until {time} and was rejected after it: a rule was "
              "probably changed then.",
        "ja": "{time} までは通信できており、その後は拒否されています。その時点でルールが"
              "変更された可能性があります。"},
    "reject-reason": {
        "en": "{n} rejected record(s) have reject-reason {value}: {meaning}.",
        "ja": "拒否された記録 {n} 件の reject-reason は {value} です: {meaning}。"},
    "bpa": {
        "en": "VPC Block Public Access overrides security groups and network ACLs: check its "
              "settings and exclusions for this VPC or subnet.",
        "ja": "VPC のパブリックアクセスのブロック (BPA) はセキュリティグループやネットワーク ACL "
              "より優先されます。この VPC またはサブネットの BPA 設定と除外を確認してください。"},
    "not-logged": {
        "en": "Nothing was logged for this traffic: it may never have reached a logged network "
              "interface (a wrong address or DNS answer, a missing route, an on-premises or "
              "appliance firewall), flow logs may not be enabled on the interfaces involved, "
              "or their records are in accounts you cannot see.",
        "ja": "この通信は何も記録されていません。記録対象のネットワークインターフェイスに"
              "届いていない（アドレスや DNS の誤り、ルートの欠落、オンプレミスや機器の"
              "ファイアウォール）、関係するインターフェイスでフローログが有効でない、"
              "または閲覧できないアカウントに記録されている可能性があります。"},
    "recent": {
        "en": "The time range reaches into the last 15 minutes: flow logs are delivered 5-10 "
              "minutes after the traffic, so the latest records may not be here yet. Check "
              "again in 10 minutes.",
        "ja": "期間が直近 15 分を含んでいます。フローログは通信の 5～10 分後に届くため、"
              "最新の記録はまだない可能性があります。10 分後にもう一度確認してください。"},
    "truncated": {
        "en": "Only the newest {n} records were read; older records in the time range were "
              "left out of this verdict.",
        "ja": "新しい順に {n} 件の記録だけを読みました。期間内のそれより古い記録はこの判定に"
              "含まれていません。"},
    "ports-ignored": {
        "en": "{protocol} has no ports: the port was not used to find records.",
        "ja": "{protocol} にはポートがないため、ポートは検索に使っていません。"},
    "owner-accept-reject": {
        "en": "Interface {interface} is taken to be the {side}'s: the same flow was accepted on "
              "one interface and rejected on another, and only the sender's interface can "
              "pass a flow that the receiver rejects.",
        "ja": "インターフェイス {interface} を{side}のものと判断しました。同じフローが一方で"
              "許可され他方で拒否されており、受信側が拒否するフローを通せるのは送信側の"
              "インターフェイスだけだからです。"},
    "owner-constant": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): all its records "
              "have {address}, while the other address varies.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。すべての"
              "記録に {address} があり、相手のアドレスは変わっているためです。"},
    "owner-private": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): an interface's own "
              "IPv4 address is private, and the other address is not.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。"
              "インターフェイス自身の IPv4 アドレスはプライベートで、相手のアドレスは"
              "そうではないためです。"},
    "owner-complement": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): the other "
              "address belongs to another interface.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。相手の"
              "アドレスは別のインターフェイスのものだからです。"},
    "side-source": {"en": "source", "ja": "送信元"},
    "side-destination": {"en": "destination", "ja": "宛先"},
    "any-port": {"en": "any port", "ja": "全ポート"},
    "port": {"en": "port", "ja": "ポート"},
    "none": {"en": "none", "ja": "なし"},
}


class Words:
    """Texts in one language, with the check's addresses and service filled in."""

    def __init__(self, lang: str, spec: CheckSpec, zone: str | None):
        self.lang = lang if lang in glossary.LANGS else "en"
        self.zone = zone or "UTC"
        self.common = {"src": network_text(spec.src), "dst": network_text(spec.dst),
                       "service": self.service(spec),
                       "protocol": "/".join(glossary.protocol_name(p) for p in spec.protocols)
                       or "TCP/UDP"}

    def say(self, key: str, **values) -> str:
        texts = TEXTS[key]
        return (texts.get(self.lang) or texts["en"]).format(**{**self.common, **values})

    def time(self, epoch: int | None) -> str:
        return timeutil.format_local(epoch, self.zone) or "-"

    def service(self, spec: CheckSpec) -> str:
        protocols = "/".join(glossary.protocol_name(p) for p in spec.protocols)
        ports = spec.port_ranges
        if not ports:
            return protocols or TEXTS["any-port"][self.lang]
        text = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
        named = (glossary.port_service(ports[0][0], spec.protocols[0] if spec.protocols else None)
                 if len(ports) == 1 and ports[0][0] == ports[0][1] else None)
        words = f"{protocols} " if protocols else ""
        return f"{words}{TEXTS['port'][self.lang]} {text}" + (f" ({named})" if named else "")


def _interfaces_text(items: list[Seen]) -> str:
    names = sorted({s.interface for s in items})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def _count_reasons(facts: Facts, w: Words) -> list[str]:
    out = []
    for direction, missing in ((REQUEST, "no-requests"), (RESPONSE, "no-responses")):
        items = facts.pick(direction)
        if not items:
            out.append(w.say(missing))
            continue
        out.append(w.say(
            "count-" + direction, n=len(items), **counts_of(items),
            bytes=f"{sum(s.row.get('bytes') or 0 for s in items):,}",
            first=w.time(min(s.row["start"] for s in items)),
            last=w.time(max(s.row.get("end") or s.row["start"] for s in items))))
    return out


def _rejected_request_reasons(facts: Facts, w: Words) -> list[str]:
    out = []
    for side, key in ((SIDE_SOURCE, "rejected-at-source"), (SIDE_DESTINATION, "rejected-at-destination"),
                      (SIDE_UNKNOWN, "rejected-side-unknown")):
        items = facts.pick(REQUEST, "REJECT", side)
        if items:
            out.append(w.say(key, n=len(items), interfaces=_interfaces_text(items)))
    accepted_out = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if accepted_out and facts.pick(REQUEST, "REJECT", SIDE_DESTINATION):
        out.append(w.say("accepted-at-source", interfaces=_interfaces_text(accepted_out)))
    return out


def _response_rejected_reasons(facts: Facts, w: Words) -> list[str]:
    out = [w.say("stateful")]
    for side, key in ((SIDE_DESTINATION, "nacl-destination"), (SIDE_SOURCE, "nacl-source"),
                      (SIDE_UNKNOWN, "nacl-unknown")):
        items = facts.pick(RESPONSE, "REJECT", side)
        if items:
            ports = sorted({s.row.get("dstport") for s in items if s.row.get("dstport")})
            shown = ", ".join(map(str, ports[:5])) + (", …" if len(ports) > 5 else "")
            out.append(w.say(key, interfaces=_interfaces_text(items),
                             ports=shown or w.say("none")))
    return out


def _no_response_reasons(facts: Facts, w: Words) -> list[str]:
    requests = facts.pick(REQUEST, "ACCEPT")
    protocols = {s.row.get("protocol") for s in requests}
    out = []
    if 6 in protocols:
        flags = flags_of(s for s in requests if s.row.get("protocol") == 6)
        if flags is None:
            out.append(w.say("no-flags"))
        elif flags & SYN:
            out.append(w.say("syn-only", flags=flags))
    at_destination = facts.pick(REQUEST, "ACCEPT", SIDE_DESTINATION)
    at_source = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if at_destination:
        out.append(w.say("reached-destination", interfaces=_interfaces_text(at_destination)))
    elif at_source:
        out.append(w.say("left-source-only", interfaces=_interfaces_text(at_source)))
    elif requests:
        out.append(w.say("accepted-side-unknown", interfaces=_interfaces_text(requests)))
    connectionless = sorted(p for p in protocols if p is not None and p != 6)
    if connectionless:
        out.append(w.say("connectionless",
                         protocol="/".join(glossary.protocol_name(p) for p in connectionless)))
    return out


def _change_reasons(facts: Facts, w: Words) -> list[str]:
    """For mixed results: whether the rejections all came before or after the successes."""
    failures = [s.row["start"] for s in facts.pick(action="REJECT")]
    successes = [s.row["start"] for s in facts.pick(RESPONSE, "ACCEPT")]
    if not failures or not successes:
        return []
    if max(failures) < min(successes):
        return [w.say("rejected-then-ok", time=w.time(min(successes)))]
    if max(successes) < min(failures):
        return [w.say("ok-then-rejected", time=w.time(max(successes)))]
    return []


def _tcp_answer_reasons(code: str, facts: Facts, w: Words) -> list[str]:
    tcp = [s for s in facts.pick(RESPONSE, "ACCEPT") if s.row.get("protocol") == 6]
    flags = flags_of(tcp)
    if flags is None:
        return []
    if code == "refused" or (flags & RST and flags & SYN_ACK != SYN_ACK):
        return [w.say("rst", flags=flags)]
    return [w.say("handshake", flags=flags)] if flags & SYN_ACK == SYN_ACK else []


def _reject_reason_reasons(facts: Facts, w: Words) -> list[str]:
    values = Counter(s.row["reject_reason"] for s in facts.pick(action="REJECT")
                     if s.row.get("reject_reason"))
    out = [w.say("reject-reason", n=n, value=value,
                 meaning=glossary.reject_reason_label(value, w.lang))
           for value, n in sorted(values.items())]
    if "BPA" in values:
        out.append(w.say("bpa"))
    return out


def _owner_reasons(facts: Facts, w: Words) -> list[str]:
    out = []
    for interface, owner in sorted(facts.owners.items()):
        if owner.how == "flow-direction":
            continue
        side = next((sd for s, sd in zip(facts.seen, facts.sides, strict=True) if s.interface == interface),
                    SIDE_UNKNOWN)
        if side != SIDE_UNKNOWN:
            out.append(w.say("owner-" + owner.how, interface=interface,
                             address=owner.address, side=w.say("side-" + side)))
    return out


def reasons_for(code: str, facts: Facts, w: Words, now: int | None, truncated: bool
             ) -> list[str]:
    spec = facts.spec
    recent = now is not None and spec.end > now - RECENT_S
    if code == "no-records":
        out = ([w.say("recent")] if recent else []) + [w.say("not-logged")]
    else:
        out = _count_reasons(facts, w)
        if code in ("connected", "intermittent", "refused"):
            out += _tcp_answer_reasons(code, facts, w)
        if facts.pick(REQUEST, "REJECT"):
            out += _rejected_request_reasons(facts, w)
        if facts.pick(RESPONSE, "REJECT"):
            out += _response_rejected_reasons(facts, w)
        if code == "no-response":
            out += _no_response_reasons(facts, w)
        if code == "intermittent":
            out += _change_reasons(facts, w)
        out += _reject_reason_reasons(facts, w)
        if code not in ("connected", "refused"):
            out += _owner_reasons(facts, w)
        if recent and code in ("no-response", "rejected", "rejected-outbound",
                               "rejected-inbound", "response-rejected"):
            out.append(w.say("recent"))
    if spec.ports_ignored:
        out.append(w.say("ports-ignored"))
    if truncated:
        out.append(w.say("truncated", n=f"{len(facts.seen):,}"))
    return out


DIRECTION_LABELS = {REQUEST: {"en": "requests (A → B)", "ja": "要求 (A → B)"},
                     RESPONSE: {"en": "responses (B → A)", "ja": "応答 (B → A)"}}


COLUMNS = {
    "en": {"direction": "Direction", "records": "Records", "accepted": "Accepted",
           "rejected": "Rejected", "at_source": "At the source's interface",
           "at_destination": "At the destination's interface", "side_unknown": "Side not known",
           "bytes": "Bytes", "packets": "Packets", "first": "First seen", "last": "Last seen",
           "interfaces": "Interfaces", "tcp_flags": "tcp-flags", "request": "requests (A → B)",
           "response": "responses (B → A)", "interface_id": "Interface", "account": "Account",
           "region": "Region", "side": "Side", "address": "Own address", "how": "Known from"},
    "ja": {"direction": "方向", "records": "記録数", "accepted": "許可", "rejected": "拒否",
           "at_source": "送信元のインターフェイス", "at_destination": "宛先のインターフェイス",
           "side_unknown": "側が不明", "bytes": "バイト", "packets": "パケット",
           "first": "最初", "last": "最後", "interfaces": "インターフェイス",
           "tcp_flags": "tcp-flags", "request": "要求 (A → B)", "response": "応答 (B → A)",
           "interface_id": "インターフェイス", "account": "アカウント", "region": "リージョン",
           "side": "側", "address": "自身のアドレス", "how": "判断の根拠"},
}


PROOF_LABELS = {
    (REQUEST, "ACCEPT"): {"en": "Accepted requests", "ja": "許可された要求"},
    (REQUEST, "REJECT"): {"en": "Rejected requests", "ja": "拒否された要求"},
    (RESPONSE, "ACCEPT"): {"en": "Accepted responses", "ja": "許可された応答"},
    (RESPONSE, "REJECT"): {"en": "Rejected responses", "ja": "拒否された応答"},
}
