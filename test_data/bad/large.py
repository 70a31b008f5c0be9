#!/usr/bin/env python3
"""Writes the bad-input cases too large to commit into the directory given:
a Pod with 1 MiB annotation values, and a Pod with 1,000 containers of
1,000 env vars each. Used by tests/bad_input.rs, hardening.bats and the
benchmarks. Same request shape as the committed cases."""
import json
import os
import sys

SETTINGS = {"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]}, "awsDefaultRegion": "eu-west-1"}


def payload(pod, uid):
    return {
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {"username": "tenant-a"},
            "object": pod,
        },
        "settings": SETTINGS,
    }


def pod(name, containers, annotations=None):
    meta = {"name": name, "namespace": "team-a"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"serviceAccountName": "app", "containers": containers}}


def main(out):
    os.makedirs(out, exist_ok=True)
    mib = 1 << 20
    big = pod("huge-annotations", [{"name": "app", "image": "app:1"}], {
        "example.com/blob": "x" * mib,
        "eks.amazonaws.com/skip-containers": ",".join(["sidecar"] * (mib // 8)),
        "eks.amazonaws.com/token-expiration": "9" * mib,
    })
    with open(f"{out}/annotations-1mib.payload.json", "w") as f:
        json.dump(payload(big, "bad-annotations-1mib"), f)
    containers = [{"name": f"c{i}", "image": "app:1",
                   "env": [{"name": f"VAR_{j}", "value": f"value-{j}"} for j in range(1000)]}
                  for i in range(1000)]
    with open(f"{out}/containers-1000x1000.payload.json", "w") as f:
        json.dump(payload(pod("wide", containers), "bad-containers-1000x1000"), f)


if __name__ == "__main__":
    main(sys.argv[1])
