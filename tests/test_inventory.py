"""The interface inventory (issue 18, first part): read from EC2 (moto), kept with its history,
looked up by interface and address as of a time; a second account through an assumed role."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from s3kit import isolate_aws, moto_endpoint

from lib import inventory
from lib.config import Settings

OTHER_ACCOUNT = "222233334444"
ROLE = "flowscope-inventory"
T0 = 1_790_000_000
# moto's server keeps one state for the whole process (the shared fake Athena's too): each
# test reads a region of its own, so what one test made is not in another's answer. (Never
# moto's in-process mock_aws here: entering and leaving it wipes that shared state.)
REGIONS = iter(["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
                "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
                "sa-east-1", "ap-south-1", "us-east-2", "ap-northeast-2"])


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture
def aws(monkeypatch, tmp_path, endpoint):
    isolate_aws(monkeypatch, tmp_path)
    region = next(REGIONS)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    return region


def client(endpoint: str, service: str, region: str, session=None):
    return (session or boto3).client(service, region_name=region, endpoint_url=endpoint)


def make_topology(ec2, region: str) -> dict:
    """A VPC with a named instance (its primary interface) and a bare interface."""
    vpc = ec2.create_vpc(CidrBlock="10.73.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.73.32.0/24",
                               AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="db", Description="database",
                                      VpcId=vpc)["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress="10.73.32.98",
        SecurityGroupIds=[group], TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": "db-primary"}]}])["Instances"][0]
    bare = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.73.32.7",
                                        Description="payments-api endpoint", Groups=[group])
    return {"vpc": vpc, "subnet": subnet, "group": group, "instance": instance["InstanceId"],
            "instance_eni": instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
            "bare_eni": bare["NetworkInterface"]["NetworkInterfaceId"]}


def own_account(endpoint: str) -> str:
    return client(endpoint, "sts", "us-east-1").get_caller_identity()["Account"]


def settings(tmp_path, region: str, endpoint: str, **changes) -> Settings:
    return replace(Settings(), cache_dir=str(tmp_path / "cache"), athena_region=region,
                   ec2_endpoint_url=endpoint, athena_endpoint_url=endpoint, **changes)


def test_interfaces_are_read_with_their_instance_name_and_labelled(aws, endpoint, tmp_path):
    region = aws
    made = make_topology(client(endpoint, "ec2", region), region)
    config = settings(tmp_path, region, endpoint)
    account = own_account(endpoint)
    report = inventory.refresh(config, [(account, region)], now=T0)
    assert report.read == [(account, region, 2)] and not report.failed
    store = inventory.inventory_store(config)
    (db,) = store.holders("10.73.32.98")
    assert (db.interface_id, db.instance_id, db.instance_name) == (
        made["instance_eni"], made["instance"], "db-primary")
    assert (db.vpc_id, db.subnet_id, db.az) == (made["vpc"], made["subnet"], f"{region}a")
    assert db.security_groups == ((made["group"], "db"),)
    assert db.label() == f"db-primary ({made['instance']}, instance)"
    bare = store.interface(made["bare_eni"])
    assert bare.label() == f"payments-api endpoint ({made['bare_eni']}, instance)"
    assert store.holders("10.99.0.1") == [] and store.interface("eni-0nothere") is None


def test_a_reading_younger_than_the_ttl_is_not_repeated(aws, endpoint, tmp_path):
    region = aws
    make_topology(client(endpoint, "ec2", region), region)
    config, account = settings(tmp_path, region, endpoint, inventory_ttl_s=3600), own_account(endpoint)
    inventory.refresh(config, [(account, region)], now=T0)
    again = inventory.refresh(config, [(account, region)], now=T0 + 60)
    assert again.fresh == [(account, region)] and again.read == []
    later = inventory.refresh(config, [(account, region)], now=T0 + 3600)
    assert later.read == [(account, region, 2)]
    forced = inventory.refresh(config, [(account, region)], now=T0 + 3601, force=True)
    assert forced.read == [(account, region, 2)]


def test_history_labels_an_old_flow_with_what_the_interface_was_then(aws, endpoint, tmp_path):
    region = aws
    ec2 = client(endpoint, "ec2", region)
    made = make_topology(ec2, region)
    config, account = settings(tmp_path, region, endpoint), own_account(endpoint)
    store = inventory.inventory_store(config)
    inventory.refresh(config, [(account, region)], store, now=T0)
    ec2.modify_network_interface_attribute(NetworkInterfaceId=made["bare_eni"],
                                           Description={"Value": "orders-api endpoint"})
    inventory.refresh(config, [(account, region)], store, now=T0 + 7200, force=True)
    assert store.interface(made["bare_eni"], T0 + 3600).description == "payments-api endpoint"
    assert store.interface(made["bare_eni"], T0 + 7200).description == "orders-api endpoint"
    assert store.interface(made["bare_eni"]).description == "orders-api endpoint"  # now
    # Older than the first reading: the first reading is the best there is.
    assert store.interface(made["bare_eni"], T0 - 86400).description == "payments-api endpoint"
    # Unchanged interfaces keep one version, seen until the last reading.
    (db,) = store.holders("10.73.32.98", T0 + 7200)
    assert db.instance_name == "db-primary"


def test_another_account_is_read_through_its_role(aws, endpoint, tmp_path):
    region = aws
    role_arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/{ROLE}"
    creds = client(endpoint, "sts", region).assume_role(RoleArn=role_arn, RoleSessionName="setup")[
        "Credentials"]
    other = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"], region_name=region)
    made = make_topology(client(endpoint, "ec2", region, other), region)
    config = settings(tmp_path, region, endpoint, inventory_role_name=ROLE)
    report = inventory.refresh(config, [(OTHER_ACCOUNT, region)], now=T0)
    assert report.read == [(OTHER_ACCOUNT, region, 2)]
    (db,) = inventory.inventory_store(config).holders("10.73.32.98", account=OTHER_ACCOUNT)
    assert db.account == OTHER_ACCOUNT and db.instance_id == made["instance"]
    # Without the role the configured credentials see their own account only: nothing there.
    own = inventory.refresh(settings(tmp_path / "b", region, endpoint), [(own_account(endpoint), region)], now=T0)
    assert own.read == [(own_account(endpoint), region, 0)]


def test_a_refused_account_is_reported_and_the_others_go_on(aws, endpoint, tmp_path):
    region = aws
    from botocore.exceptions import ClientError

    make_topology(client(endpoint, "ec2", region), region)
    account = own_account(endpoint)

    def client_for(config, acct, region):
        if acct == OTHER_ACCOUNT:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                              "AssumeRole")
        return inventory.ec2_client(config, acct, region)

    report = inventory.refresh(settings(tmp_path, region, endpoint), [(OTHER_ACCOUNT, region), (account, region)],
                               now=T0, client_for=client_for)
    assert report.read == [(account, region, 2)]
    [(acct, region, why)] = report.failed
    assert acct == OTHER_ACCOUNT and "deploy/inventory-role.yaml" in why


@pytest.mark.parametrize("item, what", [
    ({"InterfaceType": "nat_gateway"}, "NAT gateway"),
    ({"InterfaceType": "vpc_endpoint"}, "VPC endpoint"),
    ({"InterfaceType": "interface", "RequesterId": "amazon-rds"}, "RDS"),
    ({"InterfaceType": "interface", "Description": "ELB app/web/50dc6c495c0c9188"},
     "load balancer"),
    ({"InterfaceType": "lambda"}, "Lambda"),
    ({"InterfaceType": "something_new"}, "something_new"),
])
def test_what_an_interface_is_in_words(item, what):
    found = inventory.interface_from({"NetworkInterfaceId": "eni-0a", **item}, "1", "eu-west-1", {})
    assert found.what == what


def test_the_cli_refreshes_and_shows(aws, endpoint, tmp_path, monkeypatch, capsys):
    region = aws
    from lib import cli

    made = make_topology(client(endpoint, "ec2", region), region)
    monkeypatch.setenv("FLOWSCOPE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLOWSCOPE_ATHENA_region", region)
    monkeypatch.setenv("FLOWSCOPE_EC2_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("FLOWSCOPE_ATHENA_ENDPOINT_URL", endpoint)
    account = own_account(endpoint)
    assert cli.main(["inventory", "refresh", "--accounts", account, "--regions", region]) == 0
    assert json.loads(capsys.readouterr().out)["read"] == [[account, region, 2]]
    assert cli.main(["inventory", "show", "--address", "10.73.32.98"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    shown = json.loads(line)
    assert shown["interface_id"] == made["instance_eni"]
    assert shown["label"] == f"db-primary ({made['instance']}, instance)"
    assert cli.main(["inventory", "show", "--at", "yesterday"]) == 1
    assert "--at" in capsys.readouterr().err


def test_the_inventory_role_template_is_read_only_and_trusts_one_role():
    from pathlib import Path

    from cfnlint.api import lint_file
    from cfnlint.decode import cfn_yaml

    template = Path(__file__).resolve().parent.parent / "deploy" / "inventory-role.yaml"
    assert not lint_file(template), [str(p) for p in lint_file(template)]
    role = cfn_yaml.load(str(template))["Resources"]["InventoryRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "FlowscopeRoleArn"}}
    actions = [a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
               for a in s["Action"]]
    assert "ec2:DescribeNetworkInterfaces" in actions
    assert all(a.startswith("ec2:Describe") for a in actions)  # reads, never changes
