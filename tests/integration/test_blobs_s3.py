"""The S3 blob store adapter against moto's S3: SSE-KMS with the deployment key, missing keys, prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nexod.adapters.blobs_s3 import S3BlobStore
from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.ports import BlobNotFound
from nexod.runtime.blobs import OutputBlobs, hydrate
from nexod.services.json_limits import storable

WS = str(uuid.uuid4())
RUN = str(uuid.uuid4())


@dataclass
class Aws:
    s3: Any
    key_arn: str
    bucket: str


@pytest.fixture
def aws() -> Iterator[Aws]:
    # Another suite's moto (the local stack's, for the whole session) may be active, and moto then shares
    # one backend: each test writes to a bucket of its own.
    bucket = f"nexod-payloads-{uuid.uuid4().hex[:12]}"
    with mock_aws(config=MOTO_CONFIG):
        kms = boto3.client("kms", region_name="us-east-1")
        key_arn = kms.create_key(Description="deployment key")["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        yield Aws(s3, key_arn, bucket)


def test_a_large_output_is_written_encrypted_with_the_deployment_key(aws: Aws):
    s3, key_arn, bucket = aws.s3, aws.key_arn, aws.bucket
    # Given the S3 adapter with the deployment's KMS key
    store = S3BlobStore(s3, bucket, key_arn)
    outputs = OutputBlobs(store, storable, threshold=1024)
    # When a large output is offloaded
    value = {"body": "y" * 5000}
    _, ref = outputs.offload(WS, RUN, "fetch", 0, value)
    assert ref is not None
    # Then the object is under the workspace's prefix, SSE-KMS with that key, JSON, and reads back
    head = s3.head_object(Bucket=bucket, Key=ref.key)
    assert ref.key.startswith(f"ws/{WS}/runs/{RUN}/fetch/0/")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    assert head["ContentType"] == "application/json" and head["ContentLength"] == ref.size
    assert hydrate(store, WS, RUN, ref) == value
    # And a retried Task writes the same key again, leaving one object
    assert outputs.offload(WS, RUN, "fetch", 0, value)[1] == ref
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_a_missing_key_is_blob_not_found(aws: Aws):
    s3, bucket = aws.s3, aws.bucket
    store = S3BlobStore(s3, bucket)
    with pytest.raises(BlobNotFound):
        store.get(f"ws/{WS}/runs/{RUN}/n/0/{'a' * 64}.json")


def test_other_s3_errors_are_not_mistaken_for_a_missing_blob(aws: Aws):
    s3 = aws.s3
    store = S3BlobStore(s3, "no-such-bucket-here")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        store.get(f"ws/{WS}/runs/{RUN}/n/0/{'a' * 64}.json")


def test_delete_by_prefix_removes_one_runs_blobs_only(aws: Aws):
    s3, bucket = aws.s3, aws.bucket
    # Given blobs of two runs, more than one listing page of them for the first
    store = S3BlobStore(s3, bucket)
    other = str(uuid.uuid4())
    for i in range(1005):
        store.put(f"ws/{WS}/runs/{RUN}/n/{i}/{'a' * 64}.json", b"1")
    store.put(f"ws/{WS}/runs/{other}/n/0/{'a' * 64}.json", b"2")
    # When the first run's prefix is deleted
    assert store.delete_prefix(f"ws/{WS}/runs/{RUN}/") == 1005
    # Then only the other run's blob is left
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"ws/{WS}/runs/{other}/n/0/{'a' * 64}.json"]
