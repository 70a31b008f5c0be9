#!/usr/bin/env python3
"""The worst shapes a tenant can give a Pod CREATE, at any size: products of
env entries, mounts, volumes, containers and references, each filled up to
a target request size. Used by large.py (the bad-input matrix, at about the
API server's 3 MiB limit) and `make bench-shapes` (the same shapes from
10 KB to 3 MiB, to show the time per MiB stays flat)."""
import json
import os
import sys

ADMIN = "arn:aws:iam::111122223333:role/cluster-admin"
SETTINGS = {"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]},
            "awsDefaultRegion": "eu-west-1"}


def request(spec, uid):
    return {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "tenant-a"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "shape", "namespace": "team-a"},
                       "spec": dict({"serviceAccountName": "app"}, **spec)}}


def config_mounts(n):
    """n AWS_CONFIG_FILE entries x n ConfigMap mounts in one container (the
    quadratic path comparison)."""
    return {"containers": [{"name": "app", "image": "app:1",
                            "env": [{"name": "AWS_CONFIG_FILE", "value": f"/cfg/{i}/config"} for i in range(n)],
                            "volumeMounts": [{"name": f"v{i}", "mountPath": f"/m/{i}"} for i in range(n)]}],
            "volumes": [{"name": f"v{i}", "configMap": {"name": f"c{i}"}} for i in range(n)]}


def containers(n):
    """n small containers, each injected."""
    return {"containers": [{"name": f"c{i}", "image": "a"} for i in range(n)]}


def references(n):
    """n env entries, each referring to the one before: kubelet's
    expansion, growing quadratically without a budget."""
    env = [{"name": "V0", "value": "x" * 64}]
    env += [{"name": f"V{i}", "value": f"$(V{i - 1})$(V{i - 1})"} for i in range(1, n)]
    return {"containers": [{"name": "app", "image": "app:1", "env": env}]}


def arn_runs(n):
    """n role ARN candidates that fail late, and n distinct forbidden ARNs,
    in env values, command and args of a container with the token."""
    starts = "arn:aws:iam::111122223333:" * n
    many = " ".join(f"{ADMIN}-{i}" for i in range(n))
    return {"containers": [{"name": "app", "image": "app:1", "command": [starts],
                            "args": [many], "env": [{"name": "OPTS", "value": f"'{starts}'"}]}]}


def env_from_by_env(n):
    """n envFrom sources x n env entries in one container."""
    return {"containers": [{"name": "app", "image": "app:1",
                            "envFrom": [{"configMapRef": {"name": f"c{i}"}, "prefix": f"P{i}_"} for i in range(n)],
                            "env": [{"name": f"E{i}", "value": f"$(P{i}_X)"} for i in range(n)]}]}


SHAPES = {"config-mounts": config_mounts, "containers": containers, "references": references,
          "arn-runs": arn_runs, "envfrom-by-env": env_from_by_env}


def sized(shape, target_bytes):
    """The request of `shape` whose size is closest below `target_bytes`."""
    make = SHAPES[shape]
    lo, hi = 1, 2
    while len(json.dumps(request(make(hi), "x"))) < target_bytes:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(json.dumps(request(make(mid), "x"))) < target_bytes:
            lo = mid
        else:
            hi = mid
    return request(make(lo), f"shape-{shape}-{target_bytes}"), lo


SESSION = ("- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n"
           "    kind: ServiceAccount\n    name: app\n    namespace: team-a\n"
           "    disable_cache: false\n    field_masks: null\n  response:\n    type: Success\n"
           "    payload: '{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"app\","
           "\"namespace\":\"team-a\",\"annotations\":{\"eks.amazonaws.com/role-arn\":"
           "\"arn:aws:iam::111122223333:role/s3-reader\"}}}'\n")


def bench_cases(out, sizes=(10_000, 100_000, 1 << 20, 3 << 20)):
    """Requests, settings and session for `kwrun bench`, one per shape and size."""
    os.makedirs(out, exist_ok=True)
    with open(f"{out}/settings.json", "w") as f:
        json.dump(SETTINGS, f)
    with open(f"{out}/session.yml", "w") as f:
        f.write(SESSION)
    rows = []
    for shape in SHAPES:
        for size in sizes:
            req, n = sized(shape, size)
            path = f"{out}/{shape}-{size}.json"
            with open(path, "w") as f:
                json.dump(req, f)
            rows.append(f"{shape}\t{size}\t{n}\t{path}\n")
    with open(f"{out}/shapes.tsv", "w") as f:
        f.writelines(rows)


if __name__ == "__main__":
    bench_cases(sys.argv[1])
