//! How the core's cost grows: with containers, with env vars per container
//! (on the parsed Pod and on the request text), with allow-list patterns and
//! with the size of the annotations it parses.
//! Run with `make bench` (or `cargo bench -p native-bench`); compare time
//! per element across sizes.

use std::collections::BTreeSet;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use irsa_policy::allowlist;
use irsa_policy::mutation::{self, Injection};
use irsa_policy::pod_text::PodText;
use irsa_policy::role::{Role, RoleSource};
use irsa_policy::settings;
use irsa_policy::usage;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use native_bench::*;
use serde_json::{Value, json};

/// A Pod built for a size `n`.
type PodOfSize = fn(usize) -> Value;

fn injection(c: &mut Criterion) {
    let settings = settings::parse(&json!({"awsDefaultRegion": "eu-west-1"}))
        .unwrap_or_else(|e| panic!("{e}"));
    let identity = irsa_policy::identity::Identity::Irsa {
        role: Role::new(
            ROLE,
            settings.compose_role_arn.as_ref(),
            RoleSource::Annotation { key: "k".into() },
        ),
        audience: "sts.amazonaws.com".into(),
        regional_sts: true,
        expiration: 86400,
    };
    let injection =
        Injection::for_identity(&identity, &settings).unwrap_or_else(|| panic!("injection"));
    let skip = BTreeSet::new();
    let mut group = c.benchmark_group("inject/containers");
    for n in [1usize, 10, 100, 1000] {
        let pod = pod(n, 5);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &pod, |b, pod| {
            b.iter_batched(
                || pod.clone(),
                |mut p| mutation::inject(&mut p, &injection, &skip),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    let mut group = c.benchmark_group("inject/env-per-container");
    for n in [10usize, 100, 1000] {
        let pod = pod(1, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &pod, |b, pod| {
            b.iter_batched(
                || pod.clone(),
                |mut p| mutation::inject(&mut p, &injection, &skip),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    // The fast path of a Pod CREATE: read the text, plan, splice.
    let read_plan_splice = |text: &str| {
        let pod = PodText::read(text).unwrap_or_else(|at| panic!("the text reads: {at}"));
        mutation::plan(&pod.shape, &injection, &skip).splice(text, &pod.places)
    };
    let shapes: [(&str, PodOfSize); 2] = [
        ("text/containers", |n| pod(n, 5)),
        ("text/env-per-container", |n| pod(1, n)),
    ];
    for (name, shape) in shapes {
        let mut group = c.benchmark_group(name);
        for n in [1usize, 10, 100, 1000] {
            let text = shape(n).to_string();
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
                b.iter(|| read_plan_splice(text))
            });
        }
        group.finish();
    }
}

fn allow_list(c: &mut Criterion) {
    let mut group = c.benchmark_group("allowlist/namespaces-x10-patterns");
    let role = Role::new(ROLE, None, RoleSource::Annotation { key: "k".into() });
    for namespaces in [5usize, 50, 500] {
        let settings = settings::parse(&json!({"allowedRoles": allowed_roles(namespaces, 10)}))
            .unwrap_or_else(|e| panic!("{e}"));
        let restriction = settings
            .restriction
            .clone()
            .unwrap_or_else(|| panic!("restriction"));
        group.throughput(Throughput::Elements((namespaces * 10) as u64));
        group.bench_function(BenchmarkId::from_parameter(namespaces * 10), |b| {
            b.iter(|| {
                let allowance = restriction.allowed.for_namespace("team-a");
                allowlist::check(
                    &allowance,
                    std::slice::from_ref(&role),
                    &usage::PodUsage::default(),
                )
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("settings/parse-allowedRoles");
    for namespaces in [5usize, 50, 500] {
        let doc = json!({"allowedRoles": allowed_roles(namespaces, 10)});
        group.throughput(Throughput::Elements((namespaces * 10) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(namespaces * 10),
            &doc,
            |b, doc| b.iter(|| settings::parse(doc)),
        );
    }
    group.finish();
}

/// One evaluation, the ServiceAccount lookup answered with `sa`.
fn evaluate(payload: &[u8], sa: &Value) -> irsa_policy::admission::Outcome {
    let mut host = |_: &GetResourceRequest| -> Result<Value, String> { Ok(sa.clone()) };
    irsa_policy::evaluate_payload(payload, &mut host)
}

fn whole_evaluation(c: &mut Criterion) {
    let sa = service_account();
    let mut group = c.benchmark_group("evaluate/containers");
    for (n, settings) in [
        (1usize, json!({})),
        (3, json!({})),
        (3, json!({"allowedRoles": allowed_roles(50, 10)})),
        (100, json!({})),
        (1000, json!({})),
    ] {
        let payload = payload(&pod(n, 5), &settings);
        let label = if settings.get("allowedRoles").is_some() {
            format!("{n}-restricted-50x10")
        } else {
            n.to_string()
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(label),
            &payload,
            |b, payload| b.iter(|| irsa_policy::response(evaluate(payload, &sa)).to_json()),
        );
    }
    group.finish();
}

/// `skip-containers` is read from a Pod annotation, so its size is the
/// user's: 1 KiB to 1 MiB of `sidecar,` fields (once quadratic).
fn annotations(c: &mut Criterion) {
    let mut group = c.benchmark_group("annotations/skip-containers-bytes");
    for bytes in [1usize << 10, 1 << 16, 1 << 20] {
        let value = "sidecar,".repeat(bytes / 8);
        let annotations = json!({ "eks.amazonaws.com/skip-containers": value });
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(bytes),
            &annotations,
            |b, annotations| {
                b.iter(|| {
                    mutation::skipped_containers(
                        annotations.as_object(),
                        "eks.amazonaws.com/skip-containers",
                    )
                })
            },
        );
    }
    group.finish();
}

/// Roles a Pod names itself, one forbidden literal per container: every
/// one is judged and reported (CREATE), and an update is judged by what it
/// adds to the old object's violations. Both were once quadratic.
fn violations(c: &mut Criterion) {
    let settings = json!({"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]}});
    let sa = json!({"metadata": {"name": "app", "namespace": "team-a"}});
    let mut group = c.benchmark_group("violations/containers");
    for n in [100usize, 1000, 10000] {
        let mut old = pod(n, 0);
        for (i, container) in old["spec"]["containers"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .enumerate()
        {
            container["env"] = json!([{"name": "AWS_ROLE_ARN",
                                       "value": format!("arn:aws:iam::999999999999:role/r{i}")}]);
        }
        let mut new = old.clone();
        new["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
        let create = payload(&old, &settings);
        let mut update: Value =
            serde_json::from_slice(&payload(&new, &settings)).unwrap_or_default();
        update["request"]["operation"] = json!("UPDATE");
        update["request"]["subResource"] = json!("ephemeralcontainers");
        update["request"]["oldObject"] = old;
        let update = serde_json::to_vec(&update).unwrap_or_default();
        group.throughput(Throughput::Elements(n as u64));
        for (label, payload) in [("create", &create), ("update", &update)] {
            group.bench_with_input(BenchmarkId::new(label, n), payload, |b, payload| {
                b.iter(|| evaluate(payload, &sa))
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    injection,
    allow_list,
    annotations,
    violations,
    whole_evaluation
);
criterion_main!(benches);
