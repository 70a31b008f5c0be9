//! `targetRoleArn` in `podIdentity.associations`: the allow-list judges the
//! association's role and its target, and says which one failed; the
//! injection is unchanged (the Pod Identity agent does the chaining).

use irsa_policy::admission::Verdict;
use irsa_policy::evaluate_payload;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::{Value, json};

fn payload(target: &str, inject: bool) -> Vec<u8> {
    let request = json!({
        "uid": "req-1",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "payments",
        "operation": "CREATE",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "batch"},
                   "spec": {"serviceAccountName": "batch", "containers": [{"name": "c", "image": "i"}]}},
    });
    let settings = json!({
        "inject": inject,
        "podIdentity": {"associations": [{
            "namespace": "payments", "serviceAccount": "batch",
            "roleArn": "arn:aws:iam::111122223333:role/payments-batch",
            "targetRoleArn": target}]},
        "allowedRoles": {"payments": ["arn:aws:iam::111122223333:role/payments-*"]},
    });
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap()
}

fn evaluate(target: &str, inject: bool) -> Verdict {
    let mut get = |_: &GetResourceRequest| -> Result<Value, String> {
        Ok(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": "batch", "namespace": "payments"}}))
    };
    evaluate_payload(&payload(target, inject), &mut get).verdict
}

#[test]
fn a_target_role_the_namespace_may_not_use_is_rejected_and_named() {
    let Verdict::Reject { message, code } =
        evaluate("arn:aws:iam::444455556666:role/batch-writer", false)
    else {
        panic!("expected a rejection")
    };
    assert_eq!(code, 403);
    assert!(
        message.contains(
            "\"arn:aws:iam::444455556666:role/batch-writer\" (podIdentity association targetRoleArn) is not allowed"
        ),
        "{message}"
    );
    assert!(
        !message.contains("payments-batch"),
        "the allowed roleArn passes: {message}"
    );
}

#[test]
fn an_allowed_target_role_is_admitted_and_the_injection_is_unchanged() {
    let target = "arn:aws:iam::111122223333:role/payments-writer";
    assert_eq!(evaluate(target, false), Verdict::Accept);
    let Verdict::Mutate(patched) = evaluate(target, true) else {
        panic!("expected the Pod Identity injection")
    };
    let text = format!("{patched:?}");
    assert!(
        text.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        "{text}"
    );
    assert!(
        !text.contains("payments-writer"),
        "the target is not injected: {text}"
    );
}
