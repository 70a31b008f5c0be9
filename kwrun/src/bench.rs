//! `kwrun bench`: evaluation cost through the real engine, warm (one
//! instance, reused) and cold (a fresh instance per evaluation), and peak
//! linear memory. With `--floor`, a floor policy is measured on the same
//! requests, alternating with ours, and the ratio is reported.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::evaluate::{self, AdmissionRequest};
use crate::host::Host;
use crate::policy::{Instance, Policy};

/// min, median, p99 and mean of a set of samples.
#[derive(Debug, Clone, Copy)]
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

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// One policy ready to evaluate one request.
pub struct Subject {
    pub policy: Policy,
    pub host: Arc<Host>,
    pub payload: Vec<u8>,
    pub settings: serde_json::Value,
}

impl Subject {
    pub fn new(
        policy: Policy,
        host: Arc<Host>,
        request: &AdmissionRequest,
        settings: serde_json::Value,
    ) -> Result<Subject> {
        let payload = evaluate::validate_payload(request, &settings)?;
        Ok(Subject {
            policy,
            host,
            payload,
            settings,
        })
    }

    /// A ready instance: instantiated and its settings validated, as
    /// policy-server keeps them.
    pub fn instance(&self) -> Result<Instance> {
        let instance = self.policy.instantiate(&self.host, None)?;
        let validation = instance.validate_settings(&self.settings);
        if !validation.valid {
            return Err(anyhow!(
                "Provided settings are not valid: {}",
                validation.message.unwrap_or_default()
            ));
        }
        Ok(instance)
    }

    /// One `validate` on `instance`; the replay session restarts each time.
    pub fn evaluate(&self, instance: &Instance) -> Result<Duration> {
        self.host.rewind();
        let start = Instant::now();
        let answer = instance.call("validate", &self.payload)?;
        let elapsed = start.elapsed();
        check_answer(&answer)?;
        Ok(elapsed)
    }

    /// A fresh instance (instantiation, `_start`, `wapc_init`) plus one
    /// `validate`.
    pub fn evaluate_cold(&self) -> Result<Duration> {
        self.host.rewind();
        let start = Instant::now();
        let instance = self.policy.instantiate(&self.host, None)?;
        let answer = instance.call("validate", &self.payload)?;
        let elapsed = start.elapsed();
        check_answer(&answer)?;
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

/// Warm and cold samples of one subject.
pub fn measure(
    subject: &Subject,
    iterations: usize,
    cold_iterations: usize,
) -> Result<(Stats, Stats)> {
    let instance = subject.instance()?;
    subject.evaluate(&instance)?; // warm-up
    let warm = (0..iterations)
        .map(|_| subject.evaluate(&instance))
        .collect::<Result<Vec<_>>>()?;
    let cold = (0..cold_iterations)
        .map(|_| subject.evaluate_cold())
        .collect::<Result<Vec<_>>>()?;
    Ok((Stats::of(&warm), Stats::of(&cold)))
}

/// Floor and policy on the same request, sample by sample, so that both
/// see the same machine state.
pub fn compare(
    floor: &Subject,
    policy: &Subject,
    iterations: usize,
    cold_iterations: usize,
) -> Result<[(Stats, Stats); 2]> {
    let (floor_instance, policy_instance) = (floor.instance()?, policy.instance()?);
    floor.evaluate(&floor_instance)?;
    policy.evaluate(&policy_instance)?;
    let (mut fw, mut pw, mut fc, mut pc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations {
        fw.push(floor.evaluate(&floor_instance)?);
        pw.push(policy.evaluate(&policy_instance)?);
    }
    for _ in 0..cold_iterations {
        fc.push(floor.evaluate_cold()?);
        pc.push(policy.evaluate_cold()?);
    }
    Ok([
        (Stats::of(&fw), Stats::of(&fc)),
        (Stats::of(&pw), Stats::of(&pc)),
    ])
}

pub fn stats_line(label: &str, s: &Stats) -> String {
    format!(
        "{label:<6} min {:>10.1} us  median {:>10.1} us  p99 {:>10.1} us  mean {:>10.1} us",
        us(s.min),
        us(s.median),
        us(s.p99),
        us(s.mean)
    )
}

/// One row of the comparison: `case  floor_median_us  policy_median_us  ratio`.
pub struct Row {
    pub case: String,
    pub floor: (Stats, Stats),
    pub policy: (Stats, Stats),
}

impl Row {
    fn ratio(&self) -> f64 {
        us(self.policy.0.median) / us(self.floor.0.median).max(f64::MIN_POSITIVE)
    }
}

/// The table `make bench` prints and writes to `target/bench.tsv`.
pub fn tsv(rows: &[Row]) -> String {
    let mut out = String::from("case\tfloor_median_us\tpolicy_median_us\tratio\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{}\t{:.1}\t{:.1}\t{:.2}",
            r.case,
            us(r.floor.0.median),
            us(r.policy.0.median),
            r.ratio()
        );
    }
    out
}

/// The detailed report: warm and cold, every statistic.
pub fn details(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(out, "{}", r.case);
        for (who, (warm, cold)) in [("floor", r.floor), ("policy", r.policy)] {
            let _ = writeln!(out, "  {who:<6} {}", stats_line("warm", &warm));
            let _ = writeln!(out, "  {who:<6} {}", stats_line("cold", &cold));
        }
        let _ = writeln!(
            out,
            "  ratio  warm {:.2}  cold {:.2}",
            r.ratio(),
            us(r.policy.1.median) / us(r.floor.1.median).max(f64::MIN_POSITIVE)
        );
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
    fn tsv_has_the_documented_header_and_ratio() {
        let s = |us| Stats::of(&[Duration::from_micros(us)]);
        let rows = [Row {
            case: "pod".into(),
            floor: (s(100), s(1000)),
            policy: (s(130), s(1200)),
        }];
        assert_eq!(
            tsv(&rows),
            "case\tfloor_median_us\tpolicy_median_us\tratio\npod\t100.0\t130.0\t1.30\n"
        );
        assert!(details(&rows).contains("ratio  warm 1.30  cold 1.20"));
    }
}
