//! Writes the benchmark's inputs: `list-roles` output with N generated
//! roles (URL-encoded documents, as the IAM API returns them) and settings
//! with a realistic `allowedRoles`. See docs/trustcheck.md, Benchmark.
//!
//! cargo run --release -p irsa-trustcheck --example bench_inputs -- 10000 DIR

use std::fmt::Write as _;

const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn irsa(sub_operator: &str, sub: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"{sub_operator}":{{"{ISSUER}:sub":"{sub}"}},"StringEquals":{{"{ISSUER}:aud":"sts.amazonaws.com"}}}}}},{{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{ISSUER}:sub":"system:serviceaccount:kube-system:default"}}}}}}]}}"#
    )
}

fn pod_identity(namespace: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"pods.eks.amazonaws.com"}},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{{"StringEquals":{{"aws:RequestTag/kubernetes-namespace":"{namespace}"}}}}}}]}}"#
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).ok_or("usage: bench_inputs N DIR")?.parse()?;
    let dir = std::path::PathBuf::from(args.get(2).ok_or("usage: bench_inputs N DIR")?);
    std::fs::create_dir_all(&dir)?;
    let mut roles = Vec::with_capacity(count);
    for i in 0..count {
        let team = format!("team-{}", i % 1000);
        let service = format!("svc-{}", i % 100);
        let (path, document) = match i % 4 {
            0 => (
                format!("{team}/app-{i}"),
                irsa("StringEquals", &format!("system:serviceaccount:{team}:app")),
            ),
            1 => (
                format!("{team}/wide-{i}"),
                irsa("StringLike", &format!("system:serviceaccount:{team}*:*")),
            ),
            2 => (format!("{service}-{i}"), pod_identity(&service)),
            _ => (
                format!("{service}-reader-{i}"),
                irsa(
                    "StringLike",
                    &format!("system:serviceaccount:{service}:reader-?"),
                ),
            ),
        };
        roles.push(serde_json::json!({
            "Path": "/",
            "RoleName": path.rsplit('/').next().unwrap_or(&path),
            "RoleId": format!("AROA{i:017}"),
            "Arn": format!("arn:aws:iam::111122223333:role/{path}"),
            "CreateDate": "2026-01-15T10:00:00+00:00",
            "AssumeRolePolicyDocument": encode(&document),
            "MaxSessionDuration": 3600,
        }));
    }
    let roles = serde_json::json!({ "Roles": roles });
    std::fs::write(
        dir.join("roles.json"),
        serde_json::to_string_pretty(&roles)?,
    )?;
    let mut settings = String::from(
        "allowedRoles:\n  \"team-*\": [\"arn:aws:iam::111122223333:role/{namespace}/*\"]\n  \"*\": [\"arn:aws:iam::111122223333:role/shared-read-only\"]\n",
    );
    for s in 0..100 {
        writeln!(
            settings,
            "  svc-{s}: [\"arn:aws:iam::111122223333:role/svc-{s}-*\"]"
        )?;
    }
    std::fs::write(dir.join("settings.yaml"), settings)?;
    println!("{count} roles in {}", dir.join("roles.json").display());
    Ok(())
}
