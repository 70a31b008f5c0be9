#!/usr/bin/env python3
"""Writes the bad-input cases too large to commit into the directory given:
a Pod with 1 MiB annotation values, a Pod with 1,000 containers of
1,000 env vars each, requests with many violations, and 3 MiB ConfigMaps,
Secrets and custom resources full of role ARNs. Used by tests/bad_input.rs, hardening.bats and the
benchmarks. Same request shape as the committed cases."""
import json
import os
import sys

SETTINGS = {"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]}, "awsDefaultRegion": "eu-west-1"}


def payload(pod, uid, settings=SETTINGS, operation="CREATE", old=None, sub=None,
            kind=("", "Pod", "pods")):
    group, name, resource = kind
    return {
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": "v1", "kind": name},
            "resource": {"group": group, "version": "v1", "resource": resource},
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


def objects(out):
    """ConfigMaps, Secrets and custom resources of about 3 MiB (the API
    server's limit) full of role ARNs: one walk, each value judged once, an
    answer of at most 4 KiB (or five warnings)."""
    import base64
    config_map = ("", "ConfigMap", "configmaps")
    # 60,000 distinct forbidden roles in 100 data keys (3 MB).
    data = {f"config-{k}": "\n".join(f"role_arn = arn:aws:iam::999988887777:role/r{k}-{i}"
                                       for i in range(600)) for k in range(100)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "aws-config", "namespace": "team-a"}, "data": data}
    write(out, "configmap-3mib-distinct-roles", payload(cm, "bad-cm-3mib", kind=config_map))
    warn = dict(SETTINGS, enforcement="warn")
    write(out, "warn-configmap-3mib-distinct-roles",
          payload(cm, "bad-warn-cm-3mib", settings=warn, kind=config_map))
    # One allowed role 28,000 times, and kubectl's copy of it all in an
    # annotation: admitted.
    allowed = {f"config-{k}": "\n".join("role_arn = arn:aws:iam::111122223333:role/s3-reader"
                                          for _ in range(280)) for k in range(100)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "aws-config", "namespace": "team-a"}, "data": allowed}
    cm["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(cm)}
    write(out, "configmap-3mib-allowed-role-and-copy", payload(cm, "bad-cm-copy", kind=config_map))
    # A Secret: 2.1 MB of roles, base64 (2.8 MB).
    text = "\n".join(f"arn:aws:iam::999988887777:role/s{i}" for i in range(60000)).encode()
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "aws", "namespace": "team-a"},
              "data": {"credentials": base64.b64encode(text).decode()}}
    write(out, "secret-3mib-base64-roles", payload(secret, "bad-secret-3mib",
                                                   kind=("", "Secret", "secrets")))
    # A custom resource 100 levels deep with 1 KiB keys, 20,000 roles at the
    # bottom and 20,000 more across (2.7 MB).
    deep = [{"role": f"arn:aws:iam::999988887777:role/deep-{i}"} for i in range(20000)]
    for level in range(100):
        deep = {f"level-{level}-" + "k" * 1000: deep}
    wide = [{"name": f"n{i}", "role": f"arn:aws:iam::999988887777:role/wide-{i}"} for i in range(20000)]
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "team-a"}, "spec": {"deep": deep, "wide": wide}}
    write(out, "custom-resource-deep-wide-roles",
          payload(widget, "bad-cr-deep-wide", kind=("example.com", "Widget", "widgets")))


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
    objects(sys.argv[1])
