//! `kwrun bench`: evaluation cost through the real engine, and peak linear
//! memory. With `--floor`, a floor policy is measured on the same requests,
//! alternating with ours sample by sample, and the ratio is reported.
//!
//! Two modes are measured:
//!
//! - **policy-server mode** (the headline): what policy-server does for
//!   every request. The module is prepared once (a
//!   `WasmtimeEngineProviderPre`, as at policy-server's bootstrap); one
//!   timed evaluation starts from the AdmissionReview text, parses it,
//!   builds the `validate` payload, rehydrates a fresh instance
//!   (`rehydrate` + `WapcHost::new`: new store, instantiation, `_start`,
//!   `wapc_init`), calls `validate` (host calls answered from the replay
//!   session in memory), builds the AdmissionResponse (JSON patch diff,
//!   base64), drops the instance and serialises the AdmissionReview
//!   response.
//! - **reused instance**: the guest `validate` call alone, on one instance
//!   kept for the whole run (payload built beforehand).
//!
//! Samples are taken in `rounds`; a reported median is the median of the
//! rounds' medians, which damps a round disturbed by the machine.

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::evaluate::{self, AdmissionRequest, AdmissionResponse};
use crate::host::Host;
use crate::policy::{Instance, Policy, Prepared};

/// min, median, p99 and mean of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub min: Duration,
    pub median: Duration,
    pub p99: Duration,
    pub mean: Duration,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let at = |q: f64| {
            let idx = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
            sorted.get(idx).copied().unwrap_or_default()
        };
        let total: Duration = sorted.iter().sum();
        let mean = total
            .checked_div(sorted.len().max(1) as u32)
            .unwrap_or_default();
        Stats {
            min: sorted.first().copied().unwrap_or_default(),
            median: at(0.5),
            p99: at(0.99),
            mean,
        }
    }
}

/// The samples of one mode over several rounds.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// min, p99 and mean of all samples (their median is not reported).
    pub pooled: Stats,
    /// Each round's median, in round order.
    pub round_medians: Vec<Duration>,
    /// The median of the round medians: the reported median.
    pub median: Duration,
}

impl Measured {
    pub fn of(rounds: &[Vec<Duration>]) -> Measured {
        let round_medians: Vec<Duration> = rounds.iter().map(|r| Stats::of(r).median).collect();
        Measured {
            pooled: Stats::of(&rounds.concat()),
            median: Stats::of(&round_medians).median,
            round_medians,
        }
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ratio(policy: Duration, floor: Duration) -> f64 {
    us(policy) / us(floor).max(f64::MIN_POSITIVE)
}

/// What policy-server receives: an AdmissionReview (its `request` only is
/// read; unknown fields are dropped).
#[derive(Deserialize)]
struct AdmissionReviewIn {
    request: AdmissionRequest,
}

/// What policy-server answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdmissionReviewOut<'a> {
    api_version: &'static str,
    kind: &'static str,
    response: &'a AdmissionResponse,
}

/// The AdmissionReview text for a request file's text: itself when it is
/// an AdmissionReview, else the bare AdmissionRequest wrapped in one.
pub fn admission_review_text(text: &str) -> Result<String> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    if value.get("kind").and_then(serde_json::Value::as_str) == Some("AdmissionReview") {
        Ok(text.to_owned())
    } else {
        Ok(format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}}"#,
            text.trim()
        ))
    }
}

/// The text of a request file (`-` for stdin).
pub fn read_request_text(path: &str) -> Result<String> {
    if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("Error reading request from stdin")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("Error opening request file {path}"))
    }
}

/// One policy ready to evaluate one request.
pub struct Subject {
    pub policy: Policy,
    /// Built once, as policy-server does at bootstrap.
    pub prepared: Prepared,
    pub host: Arc<Host>,
    /// The AdmissionReview text policy-server would receive.
    pub review: String,
    /// The `validate` payload, for the reused-instance mode.
    pub payload: Vec<u8>,
    pub settings: serde_json::Value,
}

impl Subject {
    /// `request` is the text of an AdmissionReview or of a bare
    /// AdmissionRequest, read as kwctl reads it.
    pub fn new(
        policy: Policy,
        host: Arc<Host>,
        request: &str,
        settings: serde_json::Value,
    ) -> Result<Subject> {
        let parsed = evaluate::parse_request(request)?;
        let payload = evaluate::validate_payload(&parsed, &settings)?;
        let review = admission_review_text(request)?;
        let prepared = policy.prepare(None)?;
        Ok(Subject {
            policy,
            prepared,
            host,
            review,
            payload,
            settings,
        })
    }

    /// A ready instance: instantiated and its settings validated, as
    /// policy-server validates them at bootstrap.
    pub fn instance(&self) -> Result<Instance> {
        let instance = self.prepared.instantiate(&self.host)?;
        let validation = instance.validate_settings(&self.settings);
        if !validation.valid {
            return Err(anyhow!(
                "Provided settings are not valid: {}",
                validation.message.unwrap_or_default()
            ));
        }
        Ok(instance)
    }

    /// Reused-instance mode: one `validate` on `instance`; the replay
    /// session restarts each time.
    pub fn evaluate(&self, instance: &Instance) -> Result<Duration> {
        self.host.rewind();
        let start = Instant::now();
        let answer = instance.call("validate", &self.payload)?;
        let elapsed = start.elapsed();
        check_answer(&answer)?;
        Ok(elapsed)
    }

    /// One request as policy-server serves it, from the AdmissionReview
    /// text to the serialised AdmissionReview response. Returns the
    /// guest's raw answer and the response text.
    pub fn serve(&self) -> Result<(Vec<u8>, String)> {
        let review: AdmissionReviewIn = serde_json::from_str(&self.review)
            .map_err(|e| anyhow!("cannot parse the AdmissionReview: {e}"))?;
        let request = review.request;
        let payload = evaluate::validate_payload(&request, &self.settings)?;
        let instance = self.prepared.instantiate(&self.host)?;
        let raw = instance.call("validate", &payload)?;
        let response = AdmissionResponse::from_guest(&request, &raw);
        // The evaluator goes away before policy-server answers.
        drop(instance);
        let text = serde_json::to_string(&AdmissionReviewOut {
            api_version: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: &response,
        })?;
        Ok((raw, text))
    }

    /// Policy-server mode: one timed [`Subject::serve`]; the replay session
    /// restarts before it, untimed.
    pub fn evaluate_server(&self) -> Result<Duration> {
        self.host.rewind();
        let start = Instant::now();
        let (answer, response) = self.serve()?;
        let elapsed = start.elapsed();
        black_box(response);
        check_answer(&answer)?;
        Ok(elapsed)
    }

    /// `validate_settings` on a fresh instance, as policy-server runs it
    /// for each policy at bootstrap: instantiation included.
    pub fn validate_settings_server(&self) -> Result<Duration> {
        let start = Instant::now();
        let instance = self.prepared.instantiate(&self.host)?;
        let validation = instance.validate_settings(&self.settings);
        let elapsed = start.elapsed();
        if !validation.valid {
            return Err(anyhow!(
                "Provided settings are not valid: {}",
                validation.message.unwrap_or_default()
            ));
        }
        Ok(elapsed)
    }

    /// Smallest linear memory (to 64 KiB) with which `validate` still
    /// answers, found by bisection on wasmtime's memory limit.
    pub fn peak_memory(&self) -> Result<usize> {
        const PAGE: usize = 64 * 1024;
        let works = |pages: usize| -> bool {
            self.host.rewind();
            self.policy
                .instantiate(&self.host, Some(pages * PAGE))
                .and_then(|i| i.call("validate", &self.payload))
                .map(|answer| check_answer(&answer).is_ok())
                .unwrap_or(false)
        };
        let (mut low, mut high) = (0usize, 65536usize);
        if !works(high) {
            return Err(anyhow!("the evaluation fails even with 4 GiB of memory"));
        }
        while high - low > 1 {
            let mid = (low + high) / 2;
            if works(mid) {
                high = mid;
            } else {
                low = mid;
            }
        }
        Ok(high * PAGE)
    }
}

/// A benchmark must measure answers, not failures.
fn check_answer(answer: &[u8]) -> Result<()> {
    let value: serde_json::Value =
        serde_json::from_slice(answer).context("the policy's answer is not JSON")?;
    if value.get("accepted").is_some() {
        Ok(())
    } else {
        Err(anyhow!("the policy's answer has no `accepted`"))
    }
}

/// Evaluations before any sample, in each mode.
const WARM_UP: usize = 3;

/// Both modes of one subject.
#[derive(Debug, Clone, Default)]
pub struct Modes {
    /// A fresh instance per evaluation, host work included.
    pub server: Measured,
    /// The guest call alone on one instance.
    pub reused: Measured,
}

/// One subject alone: per round, `iterations` policy-server evaluations
/// then `iterations` reused-instance ones.
pub fn measure(subject: &Subject, iterations: usize, rounds: usize) -> Result<Modes> {
    let instance = subject.instance()?;
    for _ in 0..WARM_UP {
        subject.evaluate_server()?;
        subject.evaluate(&instance)?;
    }
    let (mut server, mut reused) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        server.push(
            (0..iterations)
                .map(|_| subject.evaluate_server())
                .collect::<Result<Vec<_>>>()?,
        );
        reused.push(
            (0..iterations)
                .map(|_| subject.evaluate(&instance))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok(Modes {
        server: Measured::of(&server),
        reused: Measured::of(&reused),
    })
}

/// [`Subject::validate_settings_server`], `iterations` per round.
pub fn measure_settings(subject: &Subject, iterations: usize, rounds: usize) -> Result<Measured> {
    let rounds: Vec<Vec<Duration>> = (0..rounds.max(1))
        .map(|_| {
            (0..iterations)
                .map(|_| subject.validate_settings_server())
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    Ok(Measured::of(&rounds))
}

/// What [`measure_settings`] measures, for the report.
pub const SETTINGS_MODE: &str =
    "settings (validate_settings on a fresh instance, as policy-server at bootstrap)";

/// Floor and policy on the same request, sample by sample alternating, so
/// that both see the same machine state; per round, policy-server mode
/// then reused-instance mode. Each round goes through every case in turn,
/// so a slow spell of the machine falls on all cases alike and ratios
/// between cases (such as allowedRoles over the plain Pod) hold up.
/// Returns `[floor, policy]` per case, in order.
pub fn compare(
    cases: &[(Subject, Subject)],
    iterations: usize,
    rounds: usize,
) -> Result<Vec<[Modes; 2]>> {
    let instances = cases
        .iter()
        .map(|(floor, policy)| Ok((floor.instance()?, policy.instance()?)))
        .collect::<Result<Vec<_>>>()?;
    for ((floor, policy), (floor_instance, policy_instance)) in cases.iter().zip(&instances) {
        for _ in 0..WARM_UP {
            floor.evaluate_server()?;
            policy.evaluate_server()?;
            floor.evaluate(floor_instance)?;
            policy.evaluate(policy_instance)?;
        }
    }
    // Per case: floor server, policy server, floor reused, policy reused;
    // one Vec of samples per round in each.
    let mut samples: Vec<[Vec<Vec<Duration>>; 4]> =
        cases.iter().map(|_| Default::default()).collect();
    for _ in 0..rounds.max(1) {
        for (((floor, policy), (floor_instance, policy_instance)), [fs, ps, fr, pr]) in
            cases.iter().zip(&instances).zip(&mut samples)
        {
            let (mut f, mut p) = (
                Vec::with_capacity(iterations),
                Vec::with_capacity(iterations),
            );
            for _ in 0..iterations {
                f.push(floor.evaluate_server()?);
                p.push(policy.evaluate_server()?);
            }
            fs.push(f);
            ps.push(p);
            let (mut f, mut p) = (
                Vec::with_capacity(iterations),
                Vec::with_capacity(iterations),
            );
            for _ in 0..iterations {
                f.push(floor.evaluate(floor_instance)?);
                p.push(policy.evaluate(policy_instance)?);
            }
            fr.push(f);
            pr.push(p);
        }
    }
    Ok(samples
        .iter()
        .map(|[fs, ps, fr, pr]| {
            [
                Modes {
                    server: Measured::of(fs),
                    reused: Measured::of(fr),
                },
                Modes {
                    server: Measured::of(ps),
                    reused: Measured::of(pr),
                },
            ]
        })
        .collect())
}

/// One line of statistics: min, p99 and mean of all samples, the median
/// of the round medians, and the range of the round medians.
pub fn stats_line(label: &str, m: &Measured) -> String {
    let range = match (m.round_medians.iter().min(), m.round_medians.iter().max()) {
        (Some(lo), Some(hi)) => format!("{:.1}..{:.1}", us(*lo), us(*hi)),
        _ => "-".to_owned(),
    };
    format!(
        "{label:<6} min {:>10.1} us  median {:>10.1} us  p99 {:>10.1} us  mean {:>10.1} us  round medians {range} us",
        us(m.pooled.min),
        us(m.median),
        us(m.pooled.p99),
        us(m.pooled.mean),
    )
}

/// What the policy-server mode's timed region holds, for the reports.
pub const SERVER_MODE: &str = "policy-server mode (fresh instance per request: parse the AdmissionReview, build the payload, rehydrate + instantiate, validate, AdmissionResponse with patch, serialise)";
pub const REUSED_MODE: &str =
    "reused instance (guest `validate` call only, one instance for the whole run)";

/// One row of the comparison.
pub struct Row {
    pub case: String,
    pub floor: Modes,
    pub policy: Modes,
}

impl Row {
    /// The headline: policy-server mode, ours over the floor.
    fn ratio(&self) -> f64 {
        paired_ratio(&self.policy.server, &self.floor.server)
    }

    fn reused_ratio(&self) -> f64 {
        paired_ratio(&self.policy.reused, &self.floor.reused)
    }
}

/// The median over rounds of ours over the floor in the same round. The
/// speed of a shared machine moves by half from round to round; the two
/// medians of round medians may come from different rounds, and their
/// ratio moves with it.
pub fn paired_ratio(policy: &Measured, floor: &Measured) -> f64 {
    let mut ratios: Vec<f64> = policy
        .round_medians
        .iter()
        .zip(&floor.round_medians)
        .map(|(p, f)| ratio(*p, *f))
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The table `make bench` prints and writes to `target/bench.tsv`: first
/// policy-server mode (the headline), then the reused instance.
pub fn tsv(rows: &[Row]) -> String {
    let mut out = String::from(
        "case\tfloor_median_us\tpolicy_median_us\tratio\treused_floor_median_us\treused_policy_median_us\treused_ratio\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{}\t{:.1}\t{:.1}\t{:.2}\t{:.1}\t{:.1}\t{:.2}",
            r.case,
            us(r.floor.server.median),
            us(r.policy.server.median),
            r.ratio(),
            us(r.floor.reused.median),
            us(r.policy.reused.median),
            r.reused_ratio()
        );
    }
    out
}

/// The detailed report: both modes, every statistic.
pub fn details(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "medians are medians of the round medians; a ratio is the median over rounds of ours over the floor in \
         the same round; min, p99 and mean are over all samples\n\
         server: {SERVER_MODE}\nreused: {REUSED_MODE}"
    );
    for r in rows {
        let _ = writeln!(out, "{}", r.case);
        for (mode, floor, policy, ratio) in [
            ("server", &r.floor.server, &r.policy.server, r.ratio()),
            (
                "reused",
                &r.floor.reused,
                &r.policy.reused,
                r.reused_ratio(),
            ),
        ] {
            let _ = writeln!(out, "  {mode} {}", stats_line("floor", floor));
            let _ = writeln!(out, "  {mode} {}", stats_line("policy", policy));
            let _ = writeln!(out, "  {mode} ratio  {ratio:.2}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_pick_order_statistics() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let s = Stats::of(&samples);
        assert_eq!(s.min, Duration::from_micros(1));
        assert_eq!(s.median, Duration::from_micros(51));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.mean, Duration::from_nanos(50_500));
        let empty = Stats::of(&[]);
        assert_eq!(empty.median, Duration::ZERO);
    }

    #[test]
    fn ratios_pair_the_rounds() {
        let rounds = |medians: &[u64]| {
            Measured::of(
                &medians
                    .iter()
                    .map(|&u| vec![Duration::from_micros(u)])
                    .collect::<Vec<_>>(),
            )
        };
        // The second round was slow for both. Unpaired, the medians (205
        // and 200) come from different rounds: 1.025.
        let floor = rounds(&[100, 300, 200]);
        let policy = rounds(&[200, 310, 205]);
        let paired = paired_ratio(&policy, &floor);
        assert!((paired - 310.0 / 300.0).abs() < 1e-9, "{paired}");
    }

    #[test]
    fn the_median_is_the_median_of_the_round_medians() {
        let us = |v: &[u64]| {
            v.iter()
                .map(|&u| Duration::from_micros(u))
                .collect::<Vec<_>>()
        };
        // Pooled, the median would be 10 (six samples of 10 out of eleven);
        // by rounds it is 20, the middle round's.
        let m = Measured::of(&[
            us(&[10, 10, 10]),
            us(&[20, 20, 20]),
            us(&[30, 30, 30]),
            us(&[10, 10]),
        ]);
        assert_eq!(
            m.round_medians,
            us(&[10, 20, 30, 10]),
            "one median per round, in order"
        );
        assert_eq!(m.median, Duration::from_micros(20));
        assert_eq!(m.pooled.min, Duration::from_micros(10));
        assert_eq!(m.pooled.p99, Duration::from_micros(30));
    }

    fn modes(server: u64, reused: u64) -> Modes {
        let one = |us| Measured::of(&[vec![Duration::from_micros(us)]]);
        Modes {
            server: one(server),
            reused: one(reused),
        }
    }

    #[test]
    fn tsv_has_the_documented_header_and_ratios() {
        let rows = [Row {
            case: "pod".into(),
            floor: modes(1000, 100),
            policy: modes(1200, 130),
        }];
        assert_eq!(
            tsv(&rows),
            "case\tfloor_median_us\tpolicy_median_us\tratio\treused_floor_median_us\treused_policy_median_us\treused_ratio\n\
             pod\t1000.0\t1200.0\t1.20\t100.0\t130.0\t1.30\n"
        );
        let details = details(&rows);
        assert!(details.contains("  server ratio  1.20"), "{details}");
        assert!(details.contains("  reused ratio  1.30"), "{details}");
        assert!(details.contains("policy-server mode"), "{details}");
    }

    #[test]
    fn bare_requests_are_wrapped_in_an_admission_review() {
        let bare = r#"{"uid":"u"}"#;
        let wrapped = admission_review_text(bare).unwrap();
        assert_eq!(
            wrapped,
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}"#
        );
        assert_eq!(admission_review_text(&wrapped).unwrap(), wrapped);
    }

    /// A waPC guest whose `__guest_call` reads the request and answers
    /// `answer`, whatever the operation (so `answer` carries `valid` for
    /// `validate_settings` too).
    fn guest(answer: &[u8]) -> Vec<u8> {
        use wasm_encoder::{
            CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function,
            FunctionSection, ImportSection, MemorySection, MemoryType, Module, TypeSection,
            ValType,
        };
        const ANSWER_AT: i32 = 65536;
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32, ValType::I32], []);
        types
            .ty()
            .function([ValType::I32, ValType::I32], [ValType::I32]);
        let mut imports = ImportSection::new();
        imports.import("wapc", "__guest_request", EntityType::Function(0));
        imports.import("wapc", "__guest_response", EntityType::Function(0));
        let mut functions = FunctionSection::new();
        functions.function(1);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: 2,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0);
        exports.export("__guest_call", ExportKind::Func, 2);
        let mut body = Function::new([]);
        body.instructions()
            .i32_const(0)
            .i32_const(4096)
            .call(0)
            .i32_const(ANSWER_AT)
            .i32_const(answer.len() as i32)
            .call(1)
            .i32_const(1)
            .end();
        let mut code = CodeSection::new();
        code.function(&body);
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(ANSWER_AT), answer.iter().copied());
        let mut module = Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&memories)
            .section(&exports)
            .section(&code)
            .section(&data);
        module.finish()
    }

    const REQUEST: &str = r#"{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},
        "resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE",
        "userInfo":{"username":"me"},"namespace":"ns","object":{"a":1}}"#;

    fn subject(answer: &[u8], timeout: Option<u64>) -> Subject {
        let policy = Policy::from_bytes_with_timeout(guest(answer), false, timeout).unwrap();
        Subject::new(
            policy,
            Arc::new(Host::default()),
            REQUEST,
            serde_json::json!({}),
        )
        .unwrap()
    }

    #[test]
    fn policy_server_mode_answers_an_admission_review_with_the_patch() {
        // With policy-server's timeout protection: instances must get their
        // epoch deadlines, or the first call would be interrupted.
        let mutating = subject(
            br#"{"valid":true,"accepted":true,"mutated_object":{"a":1,"b":2}}"#,
            Some(crate::policy::POLICY_SERVER_TIMEOUT_TICKS),
        );
        let (raw, text) = mutating.serve().unwrap();
        assert!(raw.starts_with(br#"{"valid":true,"accepted":true"#));
        let review: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(review["kind"], "AdmissionReview");
        assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(review["response"]["uid"], "u1");
        assert_eq!(review["response"]["allowed"], true);
        assert_eq!(review["response"]["patchType"], "JSONPatch");
        assert!(mutating.evaluate_server().unwrap() > Duration::ZERO);
        let instance = mutating.instance().unwrap();
        assert!(mutating.evaluate(&instance).is_ok());
    }

    #[test]
    fn answers_without_accepted_are_not_measured() {
        let broken = subject(br#"{"valid":true}"#, None);
        assert!(
            broken
                .evaluate_server()
                .unwrap_err()
                .to_string()
                .contains("no `accepted`")
        );
    }

    #[test]
    fn compare_alternates_both_modes_over_rounds() {
        let floor = subject(br#"{"valid":true,"accepted":true}"#, None);
        let policy = subject(
            br#"{"valid":true,"accepted":true,"mutated_object":{"a":2}}"#,
            None,
        );
        let other = subject(br#"{"valid":true,"accepted":false}"#, None);
        let again = subject(br#"{"valid":true,"accepted":true}"#, None);
        let rows = compare(&[(floor, policy), (again, other)], 4, 3).unwrap();
        assert_eq!(rows.len(), 2);
        for [f, p] in &rows {
            for m in [&f.server, &f.reused, &p.server, &p.reused] {
                assert_eq!(m.round_medians.len(), 3);
                assert!(m.median > Duration::ZERO);
            }
        }
        let policy = subject(br#"{"valid":true,"accepted":true}"#, None);
        let single = measure(&policy, 2, 2).unwrap();
        assert_eq!(single.server.round_medians.len(), 2);
        assert_eq!(single.reused.round_medians.len(), 2);
    }
}
