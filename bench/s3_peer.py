#!/usr/bin/env python3
"""S3 helper of bench/run.py: the botocore baseline rows and the untimed bucket chores.

Runs with any Python that has boto3 (moto depends on it). Every command takes the
endpoint (``http://127.0.0.1:PORT``) and the bucket; credentials come from the
environment (bench/run.py sets moto's ``testing`` ones).

    get ENDPOINT BUCKET KEYLIST OUTDIR    GET every key of KEYLIST ("key<TAB>file name"
                                          lines) into OUTDIR, 8 threads, no hashing
    put ENDPOINT BUCKET PREFIX DIR        PUT every file of DIR as PREFIX/<name>, 8 threads
    mkbucket ENDPOINT BUCKET              create the bucket (no error if it exists)
    clear ENDPOINT BUCKET PREFIX          delete every object under PREFIX/
    verify ENDPOINT BUCKET PREFIX EXPECT  check that every key of EXPECT (a JSON object
                                          {key: [size, md5, sha1]}) is under PREFIX/ with
                                          that size and content (ETag = MD5 of a single-part
                                          upload; otherwise the object is read and SHA1'd)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

THREADS = 8


def client(endpoint: str) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        config=Config(max_pool_connections=THREADS * 2, retries={"max_attempts": 3}))


def get(s3: Any, bucket: str, keylist: str, outdir: str) -> None:
    jobs = [line.split("\t") for line in Path(keylist).read_text().splitlines() if line]
    out = Path(outdir)

    def one(job: list[str]) -> None:
        key, name = job
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(out / name, "wb") as f:
            shutil.copyfileobj(body, f, 1 << 20)

    with ThreadPoolExecutor(THREADS) as pool:
        for _ in pool.map(one, jobs):
            pass
    print(f"{len(jobs)} objects downloaded")


def put(s3: Any, bucket: str, prefix: str, folder: str) -> None:
    files = sorted(os.scandir(folder), key=lambda e: e.name)

    def one(entry: os.DirEntry[str]) -> None:
        with open(entry.path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{entry.name}", Body=f)

    with ThreadPoolExecutor(THREADS) as pool:
        for _ in pool.map(one, files):
            pass
    print(f"{len(files)} objects uploaded")


def listing(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


def clear(s3: Any, bucket: str, prefix: str) -> None:
    keys = list(listing(s3, bucket, prefix))
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
    if listing(s3, bucket, prefix):
        sys.exit(f"s3://{bucket}/{prefix}/ is not empty after deleting {len(keys)} objects")


def verify(s3: Any, bucket: str, prefix: str, expect_file: str) -> None:
    expect: dict[str, list[Any]] = json.loads(Path(expect_file).read_text())
    found = listing(s3, bucket, prefix)
    errors = []
    for key, (size, md5, sha1) in expect.items():
        obj = found.get(key)
        if obj is None:
            errors.append(f"{key}: missing")
            continue
        if obj["Size"] != size:
            errors.append(f"{key}: {obj['Size']} bytes, expected {size}")
            continue
        etag = obj["ETag"].strip('"')
        if "-" not in etag:
            if etag != md5:
                errors.append(f"{key}: MD5 {etag}, expected {md5}")
            continue
        h = hashlib.sha1()  # multipart upload: the ETag is not the MD5; read it back
        for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
            h.update(chunk)
        if h.hexdigest() != sha1:
            errors.append(f"{key}: SHA1 {h.hexdigest()}, expected {sha1}")
    if errors:
        sys.exit(f"{len(errors)} of {len(expect)} objects wrong under s3://{bucket}/{prefix}/: "
                 + "; ".join(errors[:5]))
    print(f"{len(expect)} objects ok ({len(found)} under the prefix)")


def main(argv: list[str]) -> None:
    command, endpoint, bucket, *rest = argv
    s3 = client(endpoint)
    if command == "get":
        get(s3, bucket, *rest)
    elif command == "put":
        put(s3, bucket, *rest)
    elif command == "mkbucket":
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
    elif command == "clear":
        clear(s3, bucket, *rest)
    elif command == "verify":
        verify(s3, bucket, *rest)
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
