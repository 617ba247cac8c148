"""boto3 sessions made one way: the Athena credential settings (profile, region, role) and,
where given, a role to assume in another account.

Why one place: the Records page's bucket, the DDL's Glue check and the interface inventory
all need "the configured credentials, maybe through a role"; each writing it out again is how
one of them forgets the region or the endpoint.
"""

from __future__ import annotations


def base_session(settings, region: str | None = None):
    """The configured profile and region (``athena_profile``, ``athena_region``)."""
    import boto3

    return boto3.Session(profile_name=settings.athena_profile or None,
                         region_name=region or settings.athena_region or None)


def assumed_session(session, role_arn: str, session_name: str, region: str | None = None,
                    sts_endpoint: str | None = None):
    """A session with the temporary credentials of ``role_arn`` (sts:AssumeRole)."""
    import boto3

    creds = session.client("sts", endpoint_url=sts_endpoint or None).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"],
                         region_name=region or session.region_name)


def settings_session(settings, session_name: str, region: str | None = None):
    """The configured credentials, through ``athena_role_arn`` when it is set."""
    session = base_session(settings, region)
    if settings.athena_role_arn:
        session = assumed_session(session, settings.athena_role_arn, session_name, region,
                                  settings.athena_endpoint_url or None)
    return session
