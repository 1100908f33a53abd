"""The `BlobStore` port on Amazon S3 (boto3 client injected): the deployment's payload bucket."""

from __future__ import annotations

from typing import Any

from ..ports import BlobNotFound

_MISSING = ("NoSuchKey", "404", "NotFound")


class S3BlobStore:
    """Objects under `ws/...` in one bucket, encrypted with the deployment's KMS key when one is given
    (SSE-KMS with an S3 Bucket Key, so S3 asks KMS for a data key per bucket and hour, not per object)."""

    def __init__(self, client: Any, bucket: str, kms_key_arn: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.kms_key_arn = kms_key_arn

    def put(self, key: str, data: bytes) -> None:
        extra: dict[str, Any] = {}
        if self.kms_key_arn:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_arn, "BucketKeyEnabled": True}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **extra)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(key) from None
        except self.client.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                raise BlobNotFound(key) from None
            raise
        body: bytes = response["Body"].read()
        return body

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.startswith("ws/") or not prefix.endswith("/"):
            raise ValueError("delete_prefix takes a whole `ws/.../` folder")
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted
