"""``ray101 bucket create BUCKET [--bucket-user]``: Tune's bucket, and the S3
identity the Ray pods write Tune's results as: read and write on one bucket,
nothing else (no other bucket, no bucket creation, no IAM).

The chart's bucket Job runs it with the store's admin keys, which only that
Job and the store's pod hold.
The store is SeaweedFS: its S3 gateway serves an IAM API on the same port
(``-s3.iam.readOnly=false``), which the calls here use, signed with AWS
Signature V4. SeaweedFS turns the inline policy into the identity's actions
(``Read:<bucket>``, ``Write:<bucket>``, ``List:<bucket>``, ...), which is all
its S3 gateway then lets the identity do.

Every step converges, so a re-run of the Job (an upgrade, a changed key) brings
the identity up to date: CreateUser (kept when it exists), PutUserPolicy
(replaces the policy) and the removal of any other inline policy, then the
access key: kept when it is the identity's only key and signs a request to the
bucket, otherwise every key of the identity is deleted and this one created
with the given secret (SeaweedFS's CreateAccessKey takes a caller's key pair).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jobs.runtime import flags
from jobs.runtime.command import EXIT_FAILED, EXIT_OK
from jobs.runtime.errors import UsageError, first_line

# The S3 endpoint of pyarrow's client (what Tune and `ray101 wait bucket` use)
# and of the store's IAM API alike.
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
ACCESS_KEY_ENV = "BUCKET_USER_ACCESS_KEY"
SECRET_KEY_ENV = "BUCKET_USER_SECRET_KEY"
# SeaweedFS takes a caller's access key of 4..128 letters and digits and a
# secret key of 8..128 characters (weed/iam/validation.go).
ACCESS_KEY_LENGTH = (4, 128)
SECRET_KEY_LENGTH = (8, 128)
DEFAULT_REGION = "us-east-1"
IAM_VERSION = "2010-05-08"
TIMEOUT_S = 30.0
# `bucket create`: how long the store may take to answer, and how often to ask.
DEFAULT_STORE_WAIT_S = 120.0
STORE_POLL_S = 2.0

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


class StoreError(Exception):
    """The store refused an IAM call (its error code and message, no secret)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def identity_name(bucket: str) -> str:
    return f"{bucket}-user"


def policy_name(bucket: str) -> str:
    return f"{bucket}-readwrite"


def bucket_policy(bucket: str) -> dict[str, Any]:
    """An IAM policy document allowing read and write in ``bucket`` and
    nothing outside it."""
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
    """The identity's access and secret key, from the environment (never a
    flag: a pod's arguments are readable by anyone who can get the pod)."""
    access_key = os.environ.get(ACCESS_KEY_ENV, "")
    secret_key = os.environ.get(SECRET_KEY_ENV, "")
    if not access_key or not secret_key:
        raise UsageError(f"--bucket-user needs {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} set")
    low, high = ACCESS_KEY_LENGTH
    if not (low <= len(access_key) <= high and access_key.isascii() and access_key.isalnum()):
        raise UsageError(
            f"{ACCESS_KEY_ENV} must be {low} to {high} letters and digits (SeaweedFS's limit)"
        )
    low, high = SECRET_KEY_LENGTH
    if not low <= len(secret_key) <= high:
        raise UsageError(
            f"{SECRET_KEY_ENV} must have {low} to {high} characters (SeaweedFS's limit)"
        )
    return access_key, secret_key


# --- AWS Signature V4 (what SeaweedFS verifies, weed/s3api/auth_signature_v4.go)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_v4(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    keys: tuple[str, str],
    region: str,
    service: str,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Content-Sha256 and the
    Authorization of a Signature V4 request."""
    now = now or datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parts = urlsplit(url)
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed |= {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    names = sorted(signed)
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{keys[1]}".encode(), day), region), service), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={keys[0]}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {
        **headers,
        **{n: signed[n] for n in names if n != "host"},
        "Authorization": authorization,
    }


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _texts(root: ET.Element, name: str) -> list[str]:
    return [e.text or "" for e in root.iter() if _local(e.tag) == name]


@dataclass
class Store:
    """The store's S3 endpoint, and the keys its calls are signed with."""

    endpoint: str
    keys: tuple[str, str]
    region: str = DEFAULT_REGION

    def request(
        self, method: str, path: str, body: bytes = b"", service: str = "s3", **headers: str
    ) -> tuple[int, bytes]:
        """One signed request: its status and body (an HTTP error status too)."""
        url = self.endpoint.rstrip("/") + path
        headers = sign_v4(method, url, body, headers, self.keys, self.region, service)
        req = urllib.request.Request(url, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()

    def iam(self, action: str, **params: str) -> ET.Element:
        """An IAM call (form-encoded POST, service "iam"); StoreError when refused."""
        body = urllib.parse.urlencode({"Action": action, "Version": IAM_VERSION, **params}).encode()
        status, reply = self.request(
            "POST",
            "/",
            body,
            service="iam",
            **{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            root = ET.fromstring(reply) if reply.strip() else ET.Element("Empty")
        except ET.ParseError:
            root = ET.Element("Unparsed")
        if status >= 300:
            code = next(iter(_texts(root, "Code")), "") or f"HTTP {status}"
            message = next(iter(_texts(root, "Message")), "")
            raise StoreError(f"{action} {code}", message)
        return root


def admin_from_env() -> Store:
    """The store at AWS_ENDPOINT_URL, signed with the admin keys in
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (what the bucket Job is given), for
    AWS_REGION (us-east-1 when unset)."""
    endpoint = os.environ.get(ENDPOINT_ENV, "")
    if not endpoint:
        raise UsageError(f"--bucket-user needs {ENDPOINT_ENV} (the store's S3 endpoint)")
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"{ENDPOINT_ENV} must be an http(s) URL, not {endpoint!r}")
    keys = (os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
    if not all(keys):
        raise UsageError(
            "--bucket-user needs the store's admin keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    return Store(endpoint, keys, os.environ.get("AWS_REGION") or DEFAULT_REGION)


# What a refused or unreachable call raises (urllib's errors are OSErrors).
def admin_errors() -> tuple[type[Exception], ...]:
    return (StoreError, OSError)


def _ensure_user(admin: Store, user: str) -> None:
    try:
        admin.iam("CreateUser", UserName=user)
    except StoreError as exc:
        if "EntityAlreadyExists" not in exc.code:
            raise


def _key_works(admin: Store, bucket: str, keys: tuple[str, str]) -> bool:
    """Whether ``keys`` sign a HeadBucket on ``bucket`` that the store accepts."""
    status, _ = Store(admin.endpoint, keys, admin.region).request("HEAD", f"/{bucket}")
    return status == 200


def grant(admin: Store, bucket: str, access_key: str, secret_key: str) -> None:
    """Make (or update) the identity ``identity_name(bucket)`` with read and
    write on ``bucket`` only, and ``access_key``/``secret_key`` as its only key."""
    user = identity_name(bucket)
    _ensure_user(admin, user)
    policy = policy_name(bucket)
    admin.iam(
        "PutUserPolicy",
        UserName=user,
        PolicyName=policy,
        PolicyDocument=json.dumps(bucket_policy(bucket)),
    )
    for other in _texts(admin.iam("ListUserPolicies", UserName=user), "member"):
        if other != policy:
            admin.iam("DeleteUserPolicy", UserName=user, PolicyName=other)
    have = _texts(admin.iam("ListAccessKeys", UserName=user), "AccessKeyId")
    if have == [access_key] and _key_works(admin, bucket, (access_key, secret_key)):
        return
    for key in have:
        admin.iam("DeleteAccessKey", UserName=user, AccessKeyId=key)
    admin.iam("CreateAccessKey", UserName=user, AccessKeyId=access_key, SecretAccessKey=secret_key)


def s3(create: bool = False) -> Any:
    """pyarrow's S3 client (the one Tune writes with), at AWS_ENDPOINT_URL if set."""
    import pyarrow.fs as pafs

    endpoint = os.environ.get(ENDPOINT_ENV) or None
    return pafs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=create)


def bucket_state(fs: Any, bucket: str) -> str:
    import pyarrow.fs as pafs

    try:
        if fs.get_file_info(bucket).type == pafs.FileType.Directory:
            return ""
        return "not created yet"
    except OSError as exc:
        return str(exc).splitlines()[0]


def wait_for_store(fs: Any, bucket: str, timeout_s: float) -> str:
    """Until the store answers (the bucket there or not), at most ``timeout_s``;
    "" when it answered, else why it did not. On an install the store's pod
    starts beside the bucket Job: without this its first pod fails and counts
    against the Job's retries."""
    endpoint = os.environ.get(ENDPOINT_ENV) or "AWS"
    deadline = time.monotonic() + timeout_s
    while (state := bucket_state(fs, bucket)) not in ("", "not created yet"):
        if time.monotonic() >= deadline:
            return f"the S3 store at {endpoint} did not answer within {timeout_s:g} s: {state}"
        print(f"waiting for the S3 store at {endpoint}: {state}", flush=True)
        time.sleep(STORE_POLL_S)
    return ""


def add_create_bucket_arguments(parser: argparse.ArgumentParser) -> None:
    """``ray101 bucket create``'s flags, and :func:`create_bucket`."""
    parser.description = "Create an S3 bucket."
    parser.set_defaults(func=create_bucket)
    parser.add_argument("bucket", help="the bucket's name (one that exists is kept)")
    parser.add_argument(
        "--bucket-user",
        action="store_true",
        help=(
            "also make the store's identity whose keys are in "
            f"{ACCESS_KEY_ENV}/{SECRET_KEY_ENV}, with read and "
            "write on this bucket only, through the store's IAM API (needs its admin keys "
            f"as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and {ENDPOINT_ENV})"
        ),
    )
    parser.add_argument(
        "--wait",
        type=flags.non_negative_float,
        default=DEFAULT_STORE_WAIT_S,
        metavar="SECONDS",
        help=(
            "how long to wait for the store to answer (it starts beside this Job "
            f"on an install; default {DEFAULT_STORE_WAIT_S:g})"
        ),
    )


def create_bucket(args: argparse.Namespace) -> int:
    """``ray101 bucket create BUCKET [--bucket-user]``: create it (a bucket that
    exists is kept) and, with --bucket-user, the S3 identity limited to it."""
    if args.bucket_user:  # every usage error before anything is created
        access_key, secret_key = user_keys()
        admin = admin_from_env()
    fs = s3(create=True)
    if problem := wait_for_store(fs, args.bucket, args.wait):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    try:
        fs.create_dir(args.bucket)
    except OSError as exc:
        print(f"error: cannot create the bucket {args.bucket}: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"the bucket {args.bucket} is there", flush=True)
    if args.bucket_user:
        user = identity_name(args.bucket)
        try:
            grant(admin, args.bucket, access_key, secret_key)
        except admin_errors() as exc:
            print(f"error: cannot make the identity {user}: {first_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"the identity {user} (access key {access_key}) may read and write "
            f"{args.bucket} only (policy {policy_name(args.bucket)})",
            flush=True,
        )
    return EXIT_OK
