"""Deployment files: the CloudFormation template passes cfn-lint and keeps Flowscope private;
the container runs as a non-root user with a health check; Streamlit's config suits a load
balancer."""

import os
import stat
import subprocess
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
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


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
    assert "table/${GlueDatabase}/${GlueTable}" in str(by_sid["GlueOneTable"]["Resource"])
    assert by_sid["ReadTheFlowLogs"]["Action"] == "s3:GetObject"  # logs: read only
    assert "${LogBucket}/${LogPrefix}AWSLogs/*" in str(by_sid["ReadTheFlowLogs"]["Resource"])
    writes = [s for s in statements if "s3:PutObject" in str(s["Action"])]
    assert [str(s["Resource"]) for s in writes] == [
        str({"Fn::Sub": "arn:${AWS::Partition}:s3:::${ResultsBucket}/${ResultsPrefix}*"})]


def test_the_cookie_secret_comes_from_secrets_manager(template):
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["ContainerDefinitions"]
    secrets = {s["Name"] for s in container["Secrets"] if "Name" in s}
    assert {"STREAMLIT_SERVER_COOKIE_SECRET", "FLOWSCOPE_COOKIE_KEY"} <= secrets
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert "STREAMLIT_SERVER_COOKIE_SECRET" not in environment
    assert environment["FLOWSCOPE_ALB_SIGNER_ARN"] == {"Ref": "LoadBalancer"}
    assert environment["FLOWSCOPE_AUDIT_FILE"] == "/dev/stdout"


def test_the_dockerfile_runs_as_a_non_root_user_with_a_health_check():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("requirements.txt" in line and "pip install" in line for line in lines)
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
