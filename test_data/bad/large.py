#!/usr/bin/env python3
"""Writes the bad-input cases too large to commit into the directory given:
a Pod with 1 MiB annotation values, and a Pod with 1,000 containers of
1,000 env vars each. Used by tests/bad_input.rs, hardening.bats and the
benchmarks. Same request shape as the committed cases."""
import json
import os
import sys

SETTINGS = {"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]}, "awsDefaultRegion": "eu-west-1"}


def payload(pod, uid, settings=SETTINGS, operation="CREATE", old=None, sub=None):
    return {
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team-a",
            "operation": operation,
            "userInfo": {"username": "tenant-a"},
            "object": pod,
            **({"oldObject": old} if old else {}),
            **({"subResource": sub} if sub else {}),
        },
        "settings": settings,
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


def violations(out):
    """Requests with many violations (issue: one request trapped the
    module): the answer must stay bounded whatever the input."""
    mib = 1 << 20
    secret = {"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    # A 1 MiB name (not validated yet in mutating admission) and 2,000
    # identical valueFrom entries: 1.2 MB.
    p = pod("n" * mib, [{"name": "app", "image": "app:1", "env": [secret] * 2000}])
    write(out, "huge-name-2000-valuefrom", payload(p, "bad-huge-name-2000-valuefrom"))
    # The same in warn mode, with a 64 KiB name and 5,000 entries.
    warn = dict(SETTINGS, enforcement="warn")
    p = pod("w" * (64 << 10), [{"name": "app", "image": "app:1", "env": [secret] * 5000}])
    write(out, "warn-64kib-name-5000-valuefrom", payload(p, "bad-warn-5000", settings=warn))
    # Valid fields only: a 253-character name and 90,000 distinct envFrom
    # Secrets next to the injected token (3 MB, about the API server's limit).
    env_from = [{"secretRef": {"name": f"s{i}"}} for i in range(90000)]
    p = pod("v" * 253, [{"name": "app", "image": "app:1", "envFrom": env_from,
                         "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t/token"}]}])
    write(out, "envfrom-90000-distinct", payload(p, "bad-envfrom-90000"))
    # The same in warn mode: a few short warnings.
    write(out, "warn-envfrom-90000-distinct", payload(p, "bad-warn-envfrom-90000", settings=warn))
    # kubectl debug on a Pod of 1 MB: both objects, 11,000 distinct new
    # valueFrom entries in the ephemeral container (3 MB in all).
    distinct = [{"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": f"s{i}", "key": "k"}}}
                for i in range(11000)]
    old = pod("debugged", [{"name": "app", "image": "app:1", "env": distinct}])
    new = json.loads(json.dumps(old))
    new["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "busybox", "env": distinct}]
    write(out, "update-3mb-ephemeral-valuefrom", payload(new, "bad-update-3mb", operation="UPDATE",
                                                         old=old, sub="ephemeralcontainers"))


def write(out, name, doc):
    with open(f"{out}/{name}.payload.json", "w") as f:
        json.dump(doc, f)


def worst_shapes(out):
    """The worst shapes of shapes.py at about the API server's 3 MiB limit:
    each must be answered in linear time (docs/hardening.md)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import shapes
    for shape in shapes.SHAPES:
        req, _ = shapes.sized(shape, 3 << 20)
        write(out, f"shape-{shape}-3mib", {"request": req, "settings": shapes.SETTINGS})


if __name__ == "__main__":
    main(sys.argv[1])
    violations(sys.argv[1])
    worst_shapes(sys.argv[1])
