//! Every name and default the policy shares with AWS's
//! `amazon-eks-pod-identity-webhook`, in one place.
//!
//! References are to upstream at commit `3bf80a34` (see
//! `upstream-webhook-spec.md`).

// ---- ServiceAccount and Pod annotations (`pkg/annotations.go:17-29`) ----

/// Default for `--annotation-prefix` (`main.go:78`).
pub const DEFAULT_ANNOTATION_PREFIX: &str = "eks.amazonaws.com";
/// `<prefix>/role-arn` on a ServiceAccount: the IAM role to assume.
pub const ROLE_ARN_ANNOTATION: &str = "role-arn";
/// `<prefix>/audience` on a ServiceAccount; present-but-empty means "no audience key".
pub const AUDIENCE_ANNOTATION: &str = "audience";
/// `<prefix>/sts-regional-endpoints` on a ServiceAccount (Go `ParseBool`).
pub const STS_REGIONAL_ENDPOINTS_ANNOTATION: &str = "sts-regional-endpoints";
/// `<prefix>/token-expiration` on a ServiceAccount or a Pod (Go `ParseInt`, clamped to 600).
pub const TOKEN_EXPIRATION_ANNOTATION: &str = "token-expiration";
/// `<prefix>/skip-containers` on a Pod: a CSV record of container names to leave alone.
pub const SKIP_CONTAINERS_ANNOTATION: &str = "skip-containers";

/// Label written in Pod Identity mode. Fixed: it does not follow the
/// annotation prefix (`handler.go:373,379`).
pub const POD_IDENTITY_LABEL: &str = "eks.amazonaws.com/pod-identity";
/// Value of [`POD_IDENTITY_LABEL`].
pub const POD_IDENTITY_LABEL_VALUE: &str = "enabled";

// ---- IRSA defaults (`main.go:79-83`, `handler.go:97-98`) ----

/// Default for `--token-audience`.
pub const DEFAULT_TOKEN_AUDIENCE: &str = "sts.amazonaws.com";
/// Default for `--token-mount-path`.
pub const DEFAULT_TOKEN_MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
/// Hard-coded IRSA volume name (`handler.go:97`).
pub const IRSA_VOLUME_NAME: &str = "aws-iam-token";
/// Hard-coded IRSA token file name inside the volume (`handler.go:98`).
pub const IRSA_TOKEN_PATH: &str = "token";
/// Default for `--token-expiration` (`pkg.DefaultTokenExpiration`).
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86400;
/// Floor applied to every expiration (`pkg/validation.go:68-73`; the API
/// server rejects shorter projected tokens too).
pub const MIN_TOKEN_EXPIRATION: i64 = 600;
/// Longest `expirationSeconds` the API server accepts (2^32, its
/// `ValidateProjectedVolumeSource`). Upstream has no cap; settings above this
/// would make every Pod fail API validation, so they are a settings error.
pub const MAX_TOKEN_EXPIRATION: i64 = 1 << 32;

// ---- EKS Pod Identity defaults (`main.go:87-91`, `pkg/constants.go:19-25`) ----

/// Default for `--container-credentials-audience`.
pub const DEFAULT_POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";
/// Default for `--container-credentials-token-mount-path`.
pub const DEFAULT_POD_IDENTITY_MOUNT_PATH: &str =
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount";
/// Default for `--container-credentials-token-volume-name`.
pub const DEFAULT_POD_IDENTITY_VOLUME_NAME: &str = "eks-pod-identity-token";
/// Default for `--container-credentials-token-path`.
pub const DEFAULT_POD_IDENTITY_TOKEN_PATH: &str = "eks-pod-identity-token";
/// Default for `--container-credentials-full-uri`.
pub const DEFAULT_POD_IDENTITY_FULL_URI: &str = "http://169.254.170.23/v1/credentials";
/// Pod Identity jitters a lifetime of exactly 86400 into this inclusive range
/// (`handler.go:510-517`). IRSA never jitters (PR #260).
pub const POD_IDENTITY_JITTER_MIN: i64 = 79200;
/// Upper end of the Pod Identity jitter range, inclusive.
pub const POD_IDENTITY_JITTER_MAX: i64 = 86400;

// ---- Environment variables (`handler.go:172-285`, `pkg/constants.go:28-29`) ----

pub const ENV_ROLE_ARN: &str = "AWS_ROLE_ARN";
pub const ENV_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub const ENV_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
pub const ENV_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const ENV_REGION: &str = "AWS_REGION";
pub const ENV_STS_REGIONAL_ENDPOINTS: &str = "AWS_STS_REGIONAL_ENDPOINTS";
/// Value written to [`ENV_STS_REGIONAL_ENDPOINTS`].
pub const STS_REGIONAL_ENDPOINTS_VALUE: &str = "regional";

// ---- Windows detection (`handler.go:312-321`) ----

/// Either node selector key equal to exactly `windows` switches the token
/// path to `C:\...` form (env value only; the mount path stays unix).
pub const WINDOWS_NODE_SELECTORS: [&str; 2] = ["kubernetes.io/os", "beta.kubernetes.io/os"];
pub const WINDOWS_OS_VALUE: &str = "windows";

/// ServiceAccount name Kubernetes assigns when a Pod names none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// Label that makes upstream skip a Pod: its `MutatingWebhookConfiguration`
/// has `objectSelector: <this> DoesNotExist` (`deploy/mutatingwebhook.yaml`).
/// Here it skips injection only: a tenant may set it on their own objects,
/// so it must never switch the allow-list off.
pub const SKIP_WEBHOOK_LABEL: &str = "eks.amazonaws.com/skip-pod-identity-webhook";

/// `spec.os.name` of a Pod that runs on Windows (Kubernetes `PodOS`).
pub const POD_OS_WINDOWS: &str = "windows";

// ---- Role routes other than `AWS_ROLE_ARN` (issue: role literals) ----

/// Variables whose value reaches the JVM as options: `JAVA_TOOL_OPTIONS`
/// (every JVM), `JDK_JAVA_OPTIONS` (the `java` launcher, which also reads
/// `@argfiles` there), `_JAVA_OPTIONS` (HotSpot), and `JAVA_OPTS`, which
/// Tomcat's `catalina.sh` and many images' start scripts pass to `java`.
/// The AWS SDK for Java v2 reads the system property `aws.roleArn` before
/// `AWS_ROLE_ARN`.
pub const JAVA_OPTIONS_ENV: [&str; 4] = [
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "JAVA_OPTS",
];
/// The system property the Java SDK v2 reads the role from.
pub const JAVA_ROLE_PROPERTY: &str = "-Daws.roleArn";
/// JVM options that read further options from a file (HotSpot's
/// `-XX:VMOptionsFile` and `-XX:Flags`; `@argfile` is the launcher's).
pub const JAVA_OPTIONS_FILE_PREFIXES: [&str; 3] = ["@", "-XX:VMOptionsFile", "-XX:Flags"];
/// System properties that point the Java SDK v2 at a config or
/// credentials file (`ProfileFileSystemSetting`).
pub const JAVA_CONFIG_FILE_PROPERTIES: [&str; 2] = ["aws.configFile", "aws.sharedCredentialsFile"];
/// Variables that point the SDKs at a shared config or credentials file,
/// which can name any `role_arn` with `web_identity_token_file`:
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` (every SDK) and
/// `AWS_CREDENTIAL_PROFILES_FILE` (the Java SDK v1).
pub const AWS_CONFIG_FILE_ENV: [&str; 3] = [
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CREDENTIAL_PROFILES_FILE",
];
/// The SDKs read `$HOME/.aws/config` and `$HOME/.aws/credentials`, on
/// Windows `%USERPROFILE%\\.aws\\...` (where names ignore case).
pub const HOME_ENV: [&str; 2] = ["HOME", "USERPROFILE"];
/// The ConfigMap every Pod's `kube-api-access-*` volume projects (the
/// cluster's CA bundle), published into each namespace by
/// kube-controller-manager.
pub const KUBE_ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// The directory in `HOME` where the SDKs look for those files.
pub const AWS_CONFIG_DIR: &str = ".aws";

// ---- TokenRequest (`serviceaccounts/token`) ----

/// Group of every kubelet; kubelet refreshes projected tokens through
/// TokenRequests, which must never be blocked.
pub const NODES_GROUP: &str = "system:nodes";
