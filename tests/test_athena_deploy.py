"""The hourly rollup schedule (deploy/rollup-schedule.yaml) passes cfn-lint, runs the CLI the
README names, and its role writes only the rollup (and Athena's results)."""

from pathlib import Path

from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "rollup-schedule.yaml"


def test_the_schedule_template_passes_cfn_lint():
    problems = lint_file(TEMPLATE)
    assert not problems, "\n".join(str(p) for p in problems)


def test_an_hourly_fargate_task_runs_the_rollup_cli():
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    schedule = resources["RollupSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["Target"]["EcsParameters"]["LaunchType"] == "FARGATE"
    network = schedule["Target"]["EcsParameters"]["NetworkConfiguration"]
    assert network["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    (container,) = resources["RollupTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] + container["Command"] == [
        "python", "-m", "lib.cli", "athena", "rollup", "--since", "3d", "--only-missing"]


def test_the_rollup_role_deletes_only_in_the_rollup_and_results_prefixes():
    role = cfn_yaml.load(str(TEMPLATE))["Resources"]["RollupTaskRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    deleting = [s for s in statements if "s3:DeleteObject" in s["Action"]]
    assert [s["Sid"] for s in deleting] == ["WriteTheRollup"]
    assert "${RollupBucket}/${RollupPrefix}*" in str(deleting[0]["Resource"])
    logs = next(s for s in statements if s["Sid"] == "ReadTheFlowLogs")
    assert logs["Action"] == "s3:GetObject"
