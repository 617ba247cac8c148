"""Deployment files: the CloudFormation template passes cfn-lint and keeps Flowscope private;
the container runs as a non-root user with a health check; Streamlit's config suits a load
balancer."""

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "flowscope.yaml"


@pytest.fixture(scope="module")
def template():
    return cfn_yaml.load(str(TEMPLATE))


def resources(template, kind):
    return {name: r["Properties"] for name, r in template["Resources"].items()
            if r["Type"] == kind}


def test_the_template_passes_cfn_lint():
    problems = lint_file(TEMPLATE)
    assert not problems, "\n".join(str(p) for p in problems)


def test_the_load_balancer_is_internal_and_speaks_https(template):
    (balancer,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert balancer["Scheme"] == "internal"
    listeners = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert [(listener["Protocol"], listener["Port"]) for listener in listeners] == [
        ("HTTPS", 443)]
    (group,) = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["HealthCheckPath"] == "/_stcore/health" and group["Port"] == 8501


def test_alb_oidc_sign_in_is_optional(template):
    (listener,) = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    condition, with_oidc, without = listener["DefaultActions"]["Fn::If"]
    assert condition == "AlbSignIn"
    assert [a["Type"] for a in with_oidc] == ["authenticate-oidc", "forward"]
    assert [a["Type"] for a in without] == ["forward"]
    assert "AuthMode" in str(template["Conditions"][condition])


def test_no_public_ip_anywhere(template):
    (service,) = resources(template, "AWS::ECS::Service").values()
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    text = TEMPLATE.read_text()
    assert "internet-facing" not in text and "AWS::EC2::EIP" not in text
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"


def test_only_the_load_balancer_reaches_the_tasks(template):
    (ingress,) = resources(template, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroup"}
    assert ingress["FromPort"] == ingress["ToPort"] == 8501
    service_group = template["Resources"]["ServiceSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in service_group


def _statements(template, role):
    """The role's statements, those under a condition (Fn::If) included."""
    policies = template["Resources"][role]["Properties"]["Policies"]
    found = []
    for statement in (s for p in policies for s in p["PolicyDocument"]["Statement"]):
        if "Fn::If" in statement:
            found += [b for b in statement["Fn::If"][1:] if isinstance(b, dict) and "Sid" in b]
        else:
            found.append(statement)
    return found


def test_the_task_role_is_least_privilege(template):
    statements = _statements(template, "TaskRole")
    actions = {a for s in statements for a in (
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert not any(a.endswith("*") for a in actions)  # no wildcard actions
    assert {a.split(":")[0] for a in actions} == {"athena", "glue", "s3"}
    assert not actions & {"s3:DeleteObject", "s3:PutObject*", "athena:CreateWorkGroup",
                          "glue:CreateTable", "glue:UpdateTable"}
    by_sid = {s["Sid"]: s for s in statements}
    assert "workgroup/${AthenaWorkgroup}" in str(by_sid["AthenaOneWorkgroup"]["Resource"])
    assert "table/${GlueDatabase}/${GlueTable}" in str(by_sid["GlueFlowLogTables"]["Resource"])
    assert by_sid["ReadTheFlowLogs"]["Action"] == "s3:GetObject"  # logs: read only
    assert "${LogBucket}/${LogPrefix}AWSLogs/*" in str(by_sid["ReadTheFlowLogs"]["Resource"])
    writes = [s for s in statements if "s3:PutObject" in str(s["Action"])]
    assert [str(s["Resource"]) for s in writes] == [
        str({"Fn::Sub": "arn:${AWS::Partition}:s3:::${ResultsBucket}/${ResultsPrefix}*"})]


def test_the_task_role_reads_every_table_lib_cli_ddl_and_the_rollup_make(template):
    """A view over one table per field order, and the rollup table: Athena reads them with
    the app's rights, so a role that names only GlueTable fails on the first query."""
    from fnmatch import fnmatchcase

    from lib import athena_rollups
    from lib.athena_ddl import plan_tables
    from lib.config import Settings

    table = "vpc_flow_logs"
    orders = {("111122223333", "eu-west-1"): {"fl-0a": ("version", "srcaddr"),
                                              "fl-0b": ("srcaddr", "version")}}
    names = [t.name for t in plan_tables(orders, table)]
    names.append(athena_rollups.rollup_table_name(Settings(athena_table=table)))
    glue = next(s for s in _statements(template, "TaskRole") if s["Sid"] == "GlueFlowLogTables")
    patterns = [r["Fn::Sub"].rsplit("/", 1)[1].replace("${GlueTable}", table)
                for r in glue["Resource"] if "table/" in r["Fn::Sub"]]
    assert len(names) == 3 and all(any(fnmatchcase(n, p) for p in patterns) for n in names)
    assert {"glue:GetPartition", "glue:GetPartitions"} <= set(glue["Action"])


def test_the_rollup_is_read_when_a_rollup_bucket_is_given(template):
    assert template["Parameters"]["RollupBucket"]["Default"] == ""  # optional
    statements = template["Resources"]["TaskRole"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    rollup = [s["Fn::If"] for s in statements if "Fn::If" in s]
    assert {(c, s["Sid"], str(s["Action"])) for c, s, _ in rollup} == {
        ("HasRollup", "ReadTheRollup", "s3:GetObject"),
        ("HasRollup", "ListTheRollup", "s3:ListBucket")}
    (app,) = [c for c in containers(template).values() if c.get("Environment")]
    env = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert env["FLOWSCOPE_ATHENA_ROLLUP_LOCATION"] == {"Fn::If": [
        "HasRollup", {"Fn::Sub": "s3://${RollupBucket}/${RollupPrefix}"}, ""]}


def containers(template) -> dict:
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


def test_the_cookie_secret_comes_from_secrets_manager(template):
    container = containers(template)["flowscope"]
    secrets = {s["Name"] for s in container["Secrets"] if "Name" in s}
    assert {"STREAMLIT_SERVER_COOKIE_SECRET", "FLOWSCOPE_COOKIE_KEY"} <= secrets
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert "STREAMLIT_SERVER_COOKIE_SECRET" not in environment
    assert environment["FLOWSCOPE_ALB_SIGNER_ARN"] == {"Ref": "LoadBalancer"}
    assert environment["FLOWSCOPE_AUDIT_FILE"] == "/var/log/flowscope/audit.jsonl"


def test_the_dockerfile_runs_as_a_non_root_user_with_a_health_check():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[:2] == ["ARG BASE_IMAGE", "FROM ${BASE_IMAGE}"]  # by digest: below
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("requirements.lock" in line and "pip install --require-hashes" in line
               for line in lines)
    health = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    assert "/_stcore/health" in lines[health] + lines[health + 1]
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    assert "--server.address 0.0.0.0 --server.port 8501" in entrypoint


def test_the_entrypoint_hands_secrets_to_streamlit_as_a_private_file(tmp_path):
    """With a stand-in `python` that reports how it was started."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text('#!/bin/sh\necho "args: $*"\necho "leaked: ${FLOWSCOPE_SECRETS_TOML:-no}"\n')
    stub.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    secrets = '[auth]\nclient_secret = "s3cret"\n'
    out = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh")], capture_output=True, text=True,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(home),
             "FLOWSCOPE_SECRETS_TOML": secrets}, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "args: -m streamlit run app.py --server.address 0.0.0.0 --server.port 8501" in out.stdout
    assert "leaked: no" in out.stdout
    written = home / ".streamlit" / "secrets.toml"
    assert tomllib.loads(written.read_text()) == {"auth": {"client_secret": "s3cret"}}
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_streamlit_is_configured_for_a_load_balancer():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["headless"] is True
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["address"] == "127.0.0.1"  # the container overrides it, with sign-in on
    assert "cookieSecret" not in server  # from STREAMLIT_SERVER_COOKIE_SECRET only


def test_error_details_and_the_agent_api_are_pinned_off():
    from streamlit import config as streamlit_config

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableAgentApi"] is False
    known = streamlit_config._config_options_template  # the option names of this Streamlit
    assert {"client.showErrorDetails", "server.enableAgentApi"} <= set(known)
    assert config["server"]["allowedHosts"] == ["localhost", "127.0.0.1", "::1"]



# --- issue 21, points 2, 11, 12 -----------------------------------------------------------

def listener_attributes(template) -> dict:
    (listener,) = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    return {a["Key"]: a["Value"] for a in listener["ListenerAttributes"]}


def test_the_load_balancer_sets_the_security_headers(template):
    headers = listener_attributes(template)
    prefix = "routing.http.response."
    hsts = headers[prefix + "strict_transport_security.header_value"]
    assert "max-age=31536000" in hsts
    assert headers[prefix + "x_content_type_options.header_value"] == "nosniff"
    assert headers[prefix + "x_frame_options.header_value"] == "DENY"
    csp = headers[prefix + "content_security_policy.header_value"]["Fn::Sub"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.replace("\n", " ").split(";")
                  if d.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["img-src"] == ["'self'", "data:", "blob:"]  # no image from elsewhere
    assert directives["connect-src"] == ["'self'", "wss://${HostName}"]


def test_metrics_and_the_agent_api_are_answered_by_the_load_balancer(template):
    (rule,) = resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Priority"] == 1  # before any sign-in or forward
    (condition,) = rule["Conditions"]
    paths = condition["PathPatternConfig"]["Values"]
    assert {"/_stcore/metrics", "/_stcore/metrics/*", "/_stcore/agent*"} <= set(paths)
    (action,) = rule["Actions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"]["StatusCode"] == "404"


def test_access_logs_and_a_web_acl(template):
    (balancer,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    (association,) = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["ResourceArn"] == {"Ref": "LoadBalancer"}
    assert association["WebACLArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    assert acl["Scope"] == "REGIONAL"
    rate = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate and rate[0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"


def test_containers_run_on_a_read_only_root_without_capabilities(template):
    for name, container in containers(template).items():
        assert container["ReadonlyRootFilesystem"] is True, name
        assert container["LinuxParameters"]["Capabilities"]["Drop"] == ["ALL"], name
    mounts = {m["ContainerPath"] for m in containers(template)["flowscope"]["MountPoints"]}
    assert mounts == {"/home/flowscope", "/tmp", "/var/log/flowscope"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'VOLUME ["/home/flowscope", "/tmp", "/var/log/flowscope"]' in dockerfile


def test_the_audit_trail_has_a_log_group_of_its_own(template):
    app, shipper = containers(template)["flowscope"], containers(template)["audit"]
    assert app["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "LogGroup"}
    assert shipper["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "AuditLogGroup"}
    assert shipper["Essential"] is True
    command = " ".join(shipper["EntryPoint"] + shipper["Command"])
    assert "tail -n +1 -F /var/log/flowscope/audit.jsonl 2>/dev/null" in command
    assert "/dev/stdout" not in TEMPLATE.read_text()
    (mount,) = shipper["MountPoints"]
    assert mount["ReadOnly"] is True and mount["SourceVolume"] == "audit"


def test_the_athena_workgroup_enforces_a_cutoff_and_encryption(template):
    (group,) = resources(template, "AWS::Athena::WorkGroup").values()
    config = group["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
    encryption = config["ResultConfiguration"]["EncryptionConfiguration"]["Fn::If"]
    assert encryption[1]["EncryptionOption"] == "SSE_KMS"
    assert encryption[2]["EncryptionOption"] == "SSE_S3"
    assert template["Parameters"]["AthenaBytesScannedCutoff"]["Default"] == 10 * 2 ** 30


def test_no_wide_default_network_rules(template):
    import re

    client = template["Parameters"]["ClientCidr"]
    assert "Default" not in client  # the operator names their network
    pattern = re.compile(client["AllowedPattern"])
    assert pattern.match("10.20.0.0/16") and not pattern.match("0.0.0.0/0")
    assert not pattern.match("10.0.0.0/4")
    assert "Default" not in template["Parameters"]["TaskEgressCidr"]
    egress = template["Resources"]["ServiceSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert egress[0]["CidrIp"] == {"Ref": "TaskEgressCidr"}
    assert "0.0.0.0/0" not in str(egress)


def test_no_users_file_in_the_image(template):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "users" not in " ".join(line for line in dockerfile.splitlines()
                                   if line.startswith("COPY"))
    environment = {e["Name"]: e["Value"] for e in containers(template)["flowscope"]["Environment"]}
    assert "FLOWSCOPE_USERS_FILE" not in environment  # the entrypoint sets it
    secrets = str(containers(template)["flowscope"]["Secrets"])
    assert "FLOWSCOPE_USERS_YAML" in secrets and "UsersFileSecretArn" in secrets


def test_the_entrypoint_writes_the_users_file_privately(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text('#!/bin/sh\necho "users: $FLOWSCOPE_USERS_FILE"\n'
                    'echo "leaked: ${FLOWSCOPE_USERS_YAML:-no}"\n')
    stub.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    users = "credentials:\n  usernames:\n    alice: {password: '$2b$12$x'}\n"
    out = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh")], capture_output=True, text=True,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(home),
             "FLOWSCOPE_USERS_YAML": users}, timeout=30)
    assert out.returncode == 0, out.stderr
    written = home / ".flowscope" / "users.yaml"
    assert f"users: {written}" in out.stdout and "leaked: no" in out.stdout
    assert written.read_text() == users + "\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def _base_image_guard() -> str:
    text = (ROOT / "Dockerfile").read_text()
    start = text.index('RUN case "${BASE_IMAGE}"')
    end = text.index("esac", start) + len("esac")
    return text[start + len("RUN "):end].replace("\\\n", "\n")


@pytest.mark.parametrize("base, ok", [
    ("python:3.11-slim", False), ("python:3.11-slim@sha256:abc", False), ("", False),
    ("python:3.11-slim@sha256:" + "0" * 64, True),
    ("docker.io/library/python@sha256:" + "a1" * 32, True),
])
def test_the_base_image_must_be_pinned_by_digest(base, ok):
    result = subprocess.run(["sh", "-c", _base_image_guard()], env={"BASE_IMAGE": base},
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode == 0) is ok, result.stderr


def _pins(text: str) -> dict[str, str]:
    import re

    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\#]+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_the_lock_pins_every_wheel_by_hash_and_agrees_with_requirements():
    lock = (ROOT / "deploy" / "requirements.lock").read_text()
    entries = [e for e in lock.split("\n") if e and not e.startswith(("#", " "))]
    hashes = [line for line in lock.splitlines() if line.startswith("    --hash=sha256:")]
    assert len(entries) == len(hashes) > 40
    locked = _pins(lock)
    for name, version in _pins((ROOT / "requirements.txt").read_text()).items():
        assert locked.get(name) == version, f"{name}: requirements.txt {version}, lock " \
                                            f"{locked.get(name)}"


@pytest.mark.parametrize("environment, refused", [
    ({"FLOWSCOPE_AUTH_MODE": "none"}, "auth_mode is `none`"),
    ({"FLOWSCOPE_AUTH_MODE": "alb"}, "alb_signer_arn"),
    ({"FLOWSCOPE_AUTH_MODE": "none", "FLOWSCOPE_AUTH_NONE_ALLOW_NETWORK": "true"}, None),
    ({"FLOWSCOPE_AUTH_MODE": "password"}, None),
])
def test_the_container_refuses_to_start_unsafe_modes(tmp_path, environment, refused):
    """The entrypoint asks lib.auth before Streamlit starts (the stand-in `python` runs the
    real one for that and reports the Streamlit start)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text(f'#!/bin/sh\nif [ "$1 $2" = "-m lib.auth" ]; then exec {sys.executable} '
                    f'"$@"; fi\necho "started: $*"\n')
    stub.chmod(0o755)
    out = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh")], capture_output=True, text=True,
        cwd=ROOT, timeout=60,
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path),
             "FLOWSCOPE_CONFIG": str(tmp_path / "none.toml"), **environment})
    if refused:
        assert out.returncode != 0 and refused in out.stderr and "started" not in out.stdout
    else:
        assert out.returncode == 0 and "started: -m streamlit run app.py" in out.stdout
