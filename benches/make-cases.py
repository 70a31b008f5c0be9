#!/usr/bin/env python3
"""Writes the benchmark cases into the directory given (make bench uses
target/bench/): requests, settings, replay sessions and cases.tsv for
`kwrun bench --floor ... --cases cases.tsv`."""
import json
import os
import sys

ROLE = "arn:aws:iam::111122223333:role/s3-reader"


def request(obj, kind="Pod", group="", resource="pods", uid="bench"):
    return {"uid": uid, "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
            "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "bench"}, "object": obj}


def pod_spec(containers, sa="app"):
    return {"serviceAccountName": sa,
            "containers": [{"name": f"c{i}", "image": "app:1",
                            "env": [{"name": f"VAR_{j}", "value": f"value-{j}"} for j in range(5)],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            "resources": {"requests": {"cpu": "10m"}}}
                           for i in range(containers)],
            "volumes": [{"name": "data", "emptyDir": {}}]}


def pod(containers, sa="app"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{containers}", "namespace": "team-a", "labels": {"app": "bench"}},
            "spec": pod_spec(containers, sa)}


def session(sa_name, role):
    annotations = {"eks.amazonaws.com/role-arn": role} if role else {}
    payload = json.dumps({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": sa_name, "namespace": "team-a", "annotations": annotations}},
                         separators=(",", ":"))
    return ("- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n"
            f"    kind: ServiceAccount\n    name: {sa_name}\n    namespace: team-a\n"
            "    disable_cache: false\n    field_masks: null\n  response:\n    type: Success\n"
            f"    payload: '{payload}'\n")


def allowed_roles(namespaces, patterns):
    roles = {}
    for n in range(namespaces):
        key = "team-a" if n == 0 else f"team-{n}"
        roles[key] = [f"arn:aws:iam::111122223333:role/{key}-app-{p}-*" for p in range(patterns)]
    roles["team-a"][-1] = "arn:aws:iam::111122223333:role/s3-*"
    return roles


def main(out):
    os.makedirs(out, exist_ok=True)
    def write(name, content):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path
    no_role = write("session-no-role.yml", session("app", None))
    with_role = write("session-role.yml", session("app", ROLE))
    plain = write("settings-plain.json", {"awsDefaultRegion": "eu-west-1"})
    restricted = write("settings-restricted-50x10.json",
                       {"awsDefaultRegion": "eu-west-1", "allowedRoles": allowed_roles(50, 10)})
    # The smallest restriction: one namespace, one pattern, which allows ROLE.
    restricted_1x1 = write("settings-restricted-1x1.json",
                           {"awsDefaultRegion": "eu-west-1", "allowedRoles": allowed_roles(1, 1)})
    # Decision logs on: what the log lines cost (two host calls here).
    logged = write("settings-decision-logs.json",
                   {"awsDefaultRegion": "eu-west-1", "decisionLogs": True})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "team-a"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(3)}}}
    pod_1 = write("pod-1.json", request(pod(1)))
    pod_3 = write("pod-3.json", request(pod(3)))
    pod_100 = write("pod-100.json", request(pod(100)))
    pod_1000 = write("pod-1000.json", request(pod(1000)))
    # Each size with and without allowedRoles, to check both for regressions.
    cases = [
        ("pod-1-container-no-role", pod_1, plain, no_role),
        ("pod-1-container-no-role-allowedRoles-50x10", pod_1, restricted, no_role),
        ("pod-3-containers-irsa", pod_3, plain, with_role),
        ("pod-3-containers-irsa-allowedRoles-1x1", pod_3, restricted_1x1, with_role),
        ("pod-3-containers-irsa-decisionLogs", pod_3, logged, with_role),
        ("pod-3-containers-irsa-allowedRoles-50x10", write("pod-3r.json", request(pod(3))), restricted, with_role),
        ("deployment-allowedRoles-50x10", write("deployment.json", request(deployment, "Deployment", "apps", "deployments")), restricted, with_role),
        ("pod-100-containers-irsa", pod_100, plain, with_role),
        ("pod-100-containers-irsa-allowedRoles-50x10", pod_100, restricted, with_role),
        ("pod-1000-containers-irsa", pod_1000, plain, with_role),
        ("pod-1000-containers-irsa-allowedRoles-50x10", pod_1000, restricted, with_role),
    ]
    write("cases.tsv", "".join(f"{n}\t{r}\t{s}\t{x}\n" for n, r, s, x in cases))


if __name__ == "__main__":
    main(sys.argv[1])
