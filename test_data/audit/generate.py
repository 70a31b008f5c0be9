"""Writes test_data/audit/*.json and their sessions: existing objects as
Kubewarden's audit scanner sends them to policy-server's /audit endpoint
(audit-scanner internal/scanner/admission_request.go: operation CREATE,
resource.resource set to the Kind, uid the object's UID, no userInfo, no
oldObject). Run from test_data/audit: python3 generate.py"""
import json, copy

ALLOWED = "arn:aws:iam::111122223333:role/s3-reader"
FORBIDDEN = "arn:aws:iam::111122223333:role/cluster-admin"
TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"

def review(obj, group, version):
    kind = obj["kind"]
    m = obj["metadata"]
    # Go's json.Marshal of admission/v1 AdmissionRequest: userInfo is not
    # omitempty (an empty struct), oldObject and options are null
    # RawExtensions; resource.resource is the Kind.
    # The scanner's AdmissionReview has no TypeMeta; kwctl reads a request
    # file as an AdmissionReview only when its kind says so.
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": m["uid"],
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": kind},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": m["name"],
        "namespace": m["namespace"],
        "operation": "CREATE",
        "userInfo": {},
        "object": obj,
        "oldObject": None,
        "options": None,
    }}

def managed(manager, op, api="v1"):
    return [{"manager": manager, "operation": op, "apiVersion": api,
             "time": "2026-11-20T09:13:02Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]

def irsa_env(role):
    return [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
            {"name": "AWS_REGION", "value": "eu-west-1"},
            {"name": "AWS_ROLE_ARN", "value": role},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_DIR + "/token"}]

API_MOUNT = {"name": "kube-api-access-7xk2p", "readOnly": True,
             "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
IRSA_MOUNT = {"name": "aws-iam-token", "readOnly": True, "mountPath": TOKEN_DIR}

def stored_pod(name, uid, sa, role):
    """A running Pod as the API server stores it after irsa-inject: the
    injection, the ServiceAccount admission plugin's kube-api-access volume
    and the API server's defaults (defaultMode 420 included)."""
    container_defaults = {"imagePullPolicy": "IfNotPresent",
                          "terminationMessagePath": "/dev/termination-log",
                          "terminationMessagePolicy": "File", "resources": {}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "team-a", "uid": uid,
            "resourceVersion": "48377", "creationTimestamp": "2026-11-20T09:13:02Z",
            "labels": {"app": name},
            "managedFields": managed("kubectl-client-side-apply", "Update"),
        },
        "spec": {
            "serviceAccountName": sa, "serviceAccount": sa,
            "containers": [dict(container_defaults, **{
                "name": "app", "image": "public.ecr.aws/aws-cli/aws-cli:2.17.0",
                "command": ["sleep", "infinity"],
                "env": [{"name": "LOG_LEVEL", "value": "info"}] + irsa_env(role),
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, API_MOUNT, IRSA_MOUNT],
            })],
            "initContainers": [dict(container_defaults, **{
                "name": "envoy", "image": "envoyproxy/envoy:v1.31.0", "restartPolicy": "Always",
                "env": irsa_env(role),
                "volumeMounts": [API_MOUNT, IRSA_MOUNT],
            })],
            "volumes": [
                {"name": "aws-iam-token", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"audience": "sts.amazonaws.com",
                                             "expirationSeconds": 86400, "path": "token"}}]}},
                {"name": "data", "emptyDir": {}},
                {"name": "kube-api-access-7xk2p", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}},
            ],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
            "nodeName": "ip-10-0-1-17.eu-west-1.compute.internal",
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
            "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "securityContext": {}, "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300}],
        },
        "status": {"phase": "Running", "podIP": "10.0.1.45", "qosClass": "Burstable",
                   "startTime": "2026-11-20T09:13:02Z",
                   "conditions": [{"type": "Ready", "status": "True",
                                   "lastTransitionTime": "2026-11-20T09:13:09Z"}]},
    }

def with_debug_container(pod):
    pod["spec"]["ephemeralContainers"] = [{
        "name": "debugger", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
        "stdin": True, "tty": True, "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "env": [{"name": "AWS_ROLE_ARN", "value": FORBIDDEN}],
        "volumeMounts": [IRSA_MOUNT]}]
    return pod

def service_account(name, uid, role):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": name, "namespace": "team-a", "uid": uid, "resourceVersion": "48213",
        "creationTimestamp": "2026-11-20T09:12:44Z",
        "annotations": {"eks.amazonaws.com/role-arn": role},
        "managedFields": managed("kubectl-client-side-apply", "Update")}}

def deployment(name, uid, sa):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": name, "namespace": "team-a", "uid": uid, "resourceVersion": "48411",
        "generation": 1, "creationTimestamp": "2026-11-20T09:13:00Z",
        "annotations": {"deployment.kubernetes.io/revision": "1"},
        "managedFields": managed("kube-controller-manager", "Update", "apps/v1")},
        "spec": {"replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                 "selector": {"matchLabels": {"app": name}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"serviceAccountName": sa, "serviceAccount": sa,
                                       "containers": [{"name": "worker", "image": "busybox:1.36",
                                                       "imagePullPolicy": "IfNotPresent",
                                                       "resources": {},
                                                       "terminationMessagePath": "/dev/termination-log",
                                                       "terminationMessagePolicy": "File"}],
                                       "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                                       "schedulerName": "default-scheduler", "securityContext": {},
                                       "terminationGracePeriodSeconds": 30}}},
        "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                   "updatedReplicas": 2, "observedGeneration": 1}}

def config_map(name, uid, config):
    """A ConfigMap as stored after `kubectl apply`: kubectl's copy of it in
    last-applied-configuration repeats every role it names."""
    applied = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "team-a"}, "data": {"config": config}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": "team-a", "uid": uid, "resourceVersion": "48102",
        "creationTimestamp": "2026-11-20T09:12:40Z",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                        json.dumps(applied, separators=(",", ":")) + "\n"},
        "managedFields": managed("kubectl-client-side-apply", "Update")},
        "data": {"config": config}}

def session(sa, role, uid, case):
    payload = json.dumps(service_account(sa, uid, role), separators=(",", ":"))
    # The lookup's answer carries no managedFields in these fixtures' sessions.
    obj = json.loads(payload); del obj["metadata"]["managedFields"]
    payload = json.dumps(obj, separators=(",", ":"))
    return f"""# Host answers for {case}.json: ServiceAccount team-a/{sa}.
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: {sa}
    namespace: team-a
    disable_cache: false
    field_masks: null
  response:
    type: Success
    payload: '{payload}'
"""

cases = {
    "pod-injected-allowed": (review(stored_pod("web", "5f0c2a8e-1d3b-4c6a-9e7f-0a1b2c3d4e01", "s3-reader", ALLOWED), "", "v1"),
                             ("s3-reader", ALLOWED, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c11")),
    "pod-injected-forbidden": (review(stored_pod("admin-shell", "5f0c2a8e-1d3b-4c6a-9e7f-0a1b2c3d4e02", "deployer", FORBIDDEN), "", "v1"),
                               ("deployer", FORBIDDEN, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c12")),
    # The ServiceAccount's role was switched to an allowed one after the
    # Pod started: the running Pod still holds the old, forbidden role.
    "pod-injected-stale-role": (review(stored_pod("legacy", "5f0c2a8e-1d3b-4c6a-9e7f-0a1b2c3d4e03", "s3-reader", FORBIDDEN), "", "v1"),
                                ("s3-reader", ALLOWED, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c11")),
    # kubectl debug added a container with a forbidden role before the
    # allow-list was tightened.
    "pod-debug-container-forbidden": (review(with_debug_container(stored_pod("web", "5f0c2a8e-1d3b-4c6a-9e7f-0a1b2c3d4e04", "s3-reader", ALLOWED)), "", "v1"),
                                      ("s3-reader", ALLOWED, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c11")),
    "serviceaccount-allowed": (review(service_account("s3-reader", "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c11", ALLOWED), "", "v1"), None),
    "serviceaccount-forbidden": (review(service_account("deployer", "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c12", FORBIDDEN), "", "v1"), None),
    "deployment-allowed": (review(deployment("reader", "7a8b9c0d-0000-4000-8000-00000000d001", "s3-reader"), "apps", "v1"),
                           ("s3-reader", ALLOWED, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c11")),
    "deployment-forbidden": (review(deployment("ops", "7a8b9c0d-0000-4000-8000-00000000d002", "deployer"), "apps", "v1"),
                             ("deployer", FORBIDDEN, "6f1f9d0e-77b1-4f7e-8f55-2d2d2b1a9c12")),
    "configmap-allowed": (review(config_map("aws-config", "8c9d0e1f-0000-4000-8000-00000000c001",
                                            "[default]\nregion = eu-west-1\nretry_mode = adaptive\n"), "", "v1"), None),
    # An AWS config file that existed before ConfigMaps were judged.
    "configmap-forbidden": (review(config_map("admin-profile", "8c9d0e1f-0000-4000-8000-00000000c002",
                                              f"[profile admin]\nrole_arn = {FORBIDDEN}\n"
                                              f"web_identity_token_file = {TOKEN_DIR}/token\n"), "", "v1"), None),
}
for case, (doc, sess) in cases.items():
    with open(case + ".json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    if sess:
        with open(case + ".session.yml", "w") as f:
            f.write(session(sess[0], sess[1], sess[2], case))
