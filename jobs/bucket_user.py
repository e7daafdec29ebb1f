"""The MinIO user the Ray pods write Tune's results as: read and write on one
bucket, nothing else (no other bucket, no bucket creation, no admin API).

``ray101 bucket create BUCKET --minio-user`` (the chart's bucket Job) runs this
with MinIO's root keys, which only that Job and the MinIO pod hold. It goes
through MinIO's admin API with the ``minio`` SDK, and each call is idempotent,
so a re-run of the Job (an upgrade, a changed password) converges:
``add-canned-policy`` replaces the policy, ``add-user`` sets the secret key,
and ``set-user-or-group-policy`` makes this policy the user's only one.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from jobs.errors import UsageError

# The S3 endpoint of pyarrow's client (what Tune and `ray101 wait bucket` use)
# and of MinIO's admin API alike.
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
ACCESS_KEY_ENV = "MINIO_USER_ACCESS_KEY"
SECRET_KEY_ENV = "MINIO_USER_SECRET_KEY"
# MinIO refuses secret keys outside 8..40 characters.
SECRET_KEY_LENGTH = (8, 40)
DEFAULT_REGION = "us-east-1"

# What Tune's storage (pyarrow's S3 client) does in the bucket: HeadBucket and
# ListObjects, object reads and writes, multipart uploads of large
# checkpoints, and deletes when a trial's checkpoints are pruned.
BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def policy_name(bucket: str) -> str:
    return f"{bucket}-readwrite"


def bucket_policy(bucket: str) -> dict[str, Any]:
    """An IAM policy document (MinIO's policy language is AWS IAM's) allowing
    read and write in ``bucket`` and nothing outside it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": BUCKET_ACTIONS,
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Effect": "Allow",
                "Action": OBJECT_ACTIONS,
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


def user_keys() -> tuple[str, str]:
    """The user's access and secret key, from the environment (never a flag: a
    pod's arguments are readable by anyone who can get the pod)."""
    access_key = os.environ.get(ACCESS_KEY_ENV, "")
    secret_key = os.environ.get(SECRET_KEY_ENV, "")
    if not access_key or not secret_key:
        raise UsageError(f"--minio-user needs {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} set")
    low, high = SECRET_KEY_LENGTH
    if not low <= len(secret_key) <= high:
        raise UsageError(f"{SECRET_KEY_ENV} must have {low} to {high} characters (MinIO's limit)")
    return access_key, secret_key


def admin_from_env() -> Any:
    """MinIO's admin API at AWS_ENDPOINT_URL, signed with the root keys in
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (what the bucket Job is given).
    Requests are signed for AWS_REGION (MinIO's default, us-east-1, when
    unset): MinIO accepts any region when it has none configured, and its own
    otherwise."""
    from minio import MinioAdmin
    from minio.credentials import StaticProvider

    endpoint = os.environ.get(ENDPOINT_ENV, "")
    if not endpoint:
        raise UsageError(f"--minio-user needs {ENDPOINT_ENV} (MinIO's S3 endpoint)")
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"{ENDPOINT_ENV} must be an http(s) URL, not {endpoint!r}")
    return MinioAdmin(
        endpoint=url.netloc,
        credentials=StaticProvider(
            os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        ),
        region=os.environ.get("AWS_REGION") or DEFAULT_REGION,
        secure=url.scheme == "https",
    )


# What a refused or unreachable admin call raises (the SDK's own, urllib3's).
def admin_errors() -> tuple[type[Exception], ...]:
    from minio.error import MinioAdminException
    from urllib3.exceptions import HTTPError

    return (MinioAdminException, HTTPError, OSError)


def grant(admin: Any, bucket: str, access_key: str, secret_key: str) -> None:
    """Make (or update) the user ``access_key`` with read and write on ``bucket`` only."""
    admin.policy_add(policy_name(bucket), policy=bucket_policy(bucket))
    admin.user_add(access_key, secret_key)
    admin.policy_set(policy_name(bucket), user=access_key)
