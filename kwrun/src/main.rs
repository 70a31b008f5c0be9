//! kwrun: runs Kubewarden policies the way `kwctl` does, for machines where
//! kwctl cannot be installed. Same engine stack (wapc + wasmtime-provider),
//! same flags, same output, so `e2e.bats` runs unchanged against either.

mod artifacthub;
mod bench;
mod evaluate;
mod host;
mod metadata;
mod policy;
mod registry;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand};

use evaluate::AdmissionResponse;
use host::Host;
use metadata::Metadata;
use policy::Policy;

#[derive(Parser)]
#[command(
    name = "kwrun",
    version,
    about = "Run Kubewarden policies like kwctl does"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a request against a policy and print kwctl's AdmissionResponse line.
    Run(RunArgs),
    /// Embed metadata.yml (and the README) into a module, as `kwctl annotate`.
    Annotate(AnnotateArgs),
    /// Push a policy to an OCI registry, as `kwctl push`.
    Push(PushArgs),
    /// Pull a policy from an OCI registry, as `kwctl pull`.
    Pull(PullArgs),
    /// Generate files, as `kwctl scaffold`.
    #[command(subcommand)]
    Scaffold(Scaffold),
    /// Measure evaluations as policy-server makes them (a fresh instance per
    /// request) and on a reused instance, and peak memory; or compare with a
    /// floor policy over a table of cases.
    Bench(BenchArgs),
    /// Call one waPC operation with a raw payload and print the raw answer
    /// (not a kwctl command: for hardening tests and fuzz reproductions).
    Call(CallArgs),
}

/// Settings flags shared by `run` and `bench`, as kwctl spells them.
#[derive(Args)]
struct SettingsArgs {
    /// Settings file, YAML or JSON. Wins over --settings-json.
    #[arg(short = 's', long = "settings-path")]
    settings_path: Option<String>,
    /// Settings as a JSON string.
    #[arg(long = "settings-json")]
    settings_json: Option<String>,
}

impl SettingsArgs {
    fn read(&self) -> Result<serde_json::Value> {
        evaluate::read_settings(self.settings_path.as_deref(), self.settings_json.as_deref())
    }
}

/// Host flags shared by `run`, `bench` and `call`.
#[derive(Args)]
struct HostArgs {
    /// Grant the Kubernetes resources listed in the module's contextAwareResources.
    #[arg(long = "allow-context-aware")]
    allow_context_aware: bool,
    /// Answer host calls from a kwctl session file.
    #[arg(long = "replay-host-capabilities-interactions")]
    replay: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    /// One request to measure (with the run flags below).
    #[arg(short = 'r', long = "request-path")]
    request_path: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    host: HostArgs,
    /// Evaluations per round and mode (policy-server mode and reused
    /// instance), for each of the floor and the policy.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Rounds; a reported median is the median of the rounds' medians.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Compile without policy-server's timeout protection (epoch
    /// interruption, on by default in policy-server and here).
    #[arg(long = "disable-timeout-protection")]
    disable_timeout_protection: bool,
    /// Also find the peak linear memory of one evaluation.
    #[arg(long)]
    measure_memory: bool,
    /// A floor policy to compare with, over `--cases`.
    #[arg(long)]
    floor: Option<PathBuf>,
    /// Cases: `name<TAB>request<TAB>settings|-<TAB>session|-` per line.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Where to write the comparison table (tab-separated).
    #[arg(long)]
    output: Option<PathBuf>,
    policy: PathBuf,
}

#[derive(Args)]
struct CallArgs {
    #[command(flatten)]
    host: HostArgs,
    #[arg(long = "disable-wasmtime-cache")]
    disable_wasmtime_cache: bool,
    policy: PathBuf,
    /// `validate`, `validate_settings` or `protocol_version`.
    operation: String,
    /// File holding the exact payload bytes; `-` reads stdin.
    payload: PathBuf,
}

#[derive(Args)]
struct PushArgs {
    /// Push a module that is not annotated.
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// `text` or `json` (`{"immutable_ref": ...}`).
    #[arg(short = 'o', long = "output", default_value = "text")]
    output: String,
    /// The policy module.
    policy: PathBuf,
    /// Destination, e.g. `registry://127.0.0.1:5000/policies/irsa-policy:v0.1.0`.
    uri: String,
}

#[derive(Args)]
struct PullArgs {
    /// Where to write the module; default: kwctl's store under ~/.cache/kubewarden.
    #[arg(short = 'o', long = "output-path")]
    output_path: Option<PathBuf>,
    uri: String,
}

#[derive(Subcommand)]
enum Scaffold {
    /// Print artifacthub-pkg.yml, as `kwctl scaffold artifacthub`.
    Artifacthub(ArtifacthubArgs),
}

#[derive(Args)]
struct ArtifacthubArgs {
    #[arg(short = 'm', long = "metadata-path", default_value = "metadata.yml")]
    metadata_path: PathBuf,
    /// Default: questions-ui.yml if it exists.
    #[arg(short = 'q', long = "questions-path")]
    questions_path: Option<PathBuf>,
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Fixed creation time (RFC 3339), for reproducible output.
    #[arg(long = "created-at")]
    created_at: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// AdmissionRequest or AdmissionReview JSON file; `-` reads stdin.
    #[arg(short = 'r', long = "request-path")]
    request_path: String,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    host: HostArgs,
    /// Compile the module afresh instead of using wasmtime's on-disk cache.
    #[arg(long = "disable-wasmtime-cache")]
    disable_wasmtime_cache: bool,
    /// The policy module.
    policy: PathBuf,
}

#[derive(Args)]
struct AnnotateArgs {
    #[arg(short = 'm', long = "metadata-path")]
    metadata_path: PathBuf,
    #[arg(short = 'u', long = "usage-path")]
    usage_path: Option<PathBuf>,
    #[arg(short = 'o', long = "output-path")]
    output_path: PathBuf,
    wasm_path: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Annotate(args) => annotate(args),
        Command::Push(args) => push(args),
        Command::Pull(args) => pull(args),
        Command::Scaffold(Scaffold::Artifacthub(args)) => scaffold_artifacthub(args),
        Command::Call(args) => call(args),
        Command::Bench(args) => bench_command(args),
    };
    if let Err(e) = result {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

/// Builds the host for a module: kwctl grants the module's own
/// contextAwareResources only with --allow-context-aware.
fn host_for(policy: &Policy, flags: &HostArgs) -> Result<Arc<Host>> {
    let (allow_context_aware, replay) = (flags.allow_context_aware, flags.replay.as_ref());
    let metadata = metadata::read_from_module(&policy.bytes)?;
    let wanted = metadata
        .as_ref()
        .map(|m| m.context_aware_resources.clone())
        .unwrap_or_default();
    let allowed = match (allow_context_aware, &metadata) {
        (true, Some(_)) => wanted,
        (true, None) => {
            eprintln!(
                "kwrun: Policy is not annotated, access to Kubernetes resources is not allowed"
            );
            Default::default()
        }
        (false, _) => {
            if !wanted.is_empty() {
                eprintln!(
                    "kwrun: Policy requires access to Kubernetes resources at evaluation time. During this \
                     execution the access to Kubernetes resources is denied. This can cause the policy to not \
                     behave properly"
                );
                eprintln!(
                    "kwrun: Carefully review which types of Kubernetes resources the policy needs via the \
                     `inspect` command, then run the policy using the `--allow-context-aware` flag."
                );
            }
            Default::default()
        }
    };
    // kwctl builds a Kubernetes client for a context-aware run without a
    // replay session, and fails when it finds no configuration. kwrun has
    // no client, but fails the same way, so a suite that passes here
    // cannot need a cluster under kwctl.
    if !allowed.is_empty() && replay.is_none() {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(error) = kube_config_error(env, |p| p.is_file()) {
            return Err(anyhow::anyhow!("{error}"));
        }
    }
    let recorded = match replay {
        Some(path) => host::load_session(path)?,
        None => Vec::new(),
    };
    let session = replay.map(|_| Mutex::new(recorded.iter().cloned().collect()));
    Ok(Arc::new(Host {
        allowed,
        session,
        recorded,
        calls: Mutex::new(0),
    }))
}

/// Why kwctl's `kube::Config::infer` would fail here, if it would: no
/// in-cluster environment, and no readable kubeconfig (`KUBECONFIG`, else
/// `~/.kube/config`).
fn kube_config_error(
    env: impl Fn(&str) -> Option<String>,
    is_file: impl Fn(&std::path::Path) -> bool,
) -> Option<String> {
    const TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    let in_cluster = env("KUBERNETES_SERVICE_HOST").is_some()
        && env("KUBERNETES_SERVICE_PORT").is_some()
        && is_file(std::path::Path::new(TOKEN));
    if in_cluster {
        return None;
    }
    let paths: Vec<PathBuf> = match env("KUBECONFIG") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => env("HOME")
            .map(|home| vec![PathBuf::from(home).join(".kube/config")])
            .unwrap_or_default(),
    };
    if paths.iter().any(|p| is_file(p)) {
        return None;
    }
    let tried: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    Some(format!(
        "failed to infer config: in-cluster: (no KUBERNETES_SERVICE_HOST/PORT and token), \
         kubeconfig: (failed to read kubeconfig from {}: No such file or directory). \
         Give a replay session (--replay-host-capabilities-interactions) to run without a cluster",
        if tried.is_empty() {
            "(none)".to_owned()
        } else {
            tried.join(", ")
        }
    ))
}

fn run(args: RunArgs) -> Result<()> {
    let request = evaluate::read_request(&args.request_path)?;
    let settings = args.settings.read()?;
    let policy = Policy::load(&args.policy, !args.disable_wasmtime_cache)?;
    let host = host_for(&policy, &args.host)?;
    let instance = policy.instantiate(&host, None)?;

    let validation = instance.validate_settings(&settings);
    if !validation.valid {
        return Err(anyhow!(
            "Provided settings are not valid: {}",
            validation.message.unwrap_or_default()
        ));
    }
    let payload = evaluate::validate_payload(&request, &settings)?;
    let response = match instance.call("validate", &payload) {
        Ok(raw) => AdmissionResponse::from_guest(&request, &raw),
        Err(e) => AdmissionResponse::internal_error(&request.uid, &e.to_string()),
    };
    println!("{}", serde_json::to_string(&response)?);
    let leftovers = host.leftovers();
    if leftovers > 0 {
        eprintln!("kwrun: Some of the recorded exchanges have not been replayed: {leftovers} left");
    }
    Ok(())
}

fn annotate(args: AnnotateArgs) -> Result<()> {
    let usage = args
        .usage_path
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p).with_context(|| format!("Error reading usage file {p:?}"))
        })
        .transpose()?;
    let policy = Policy::load(&args.wasm_path, false)?;
    let text = std::fs::read_to_string(&args.metadata_path)
        .with_context(|| format!("Error opening metadata file {:?}", args.metadata_path))?;
    let mut metadata = Metadata::from_yaml(&text)?;
    metadata.protocol_version = Some(match metadata.execution_mode.as_str() {
        "kubewarden-wapc" => {
            // Like kwctl's detector: no capabilities granted while asking.
            let host = Arc::new(Host::default());
            policy.instantiate(&host, None)?.protocol_version()?
        }
        _ => "Unknown".to_owned(),
    });
    if let Some(usage) = usage {
        metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(metadata::USAGE_ANNOTATION.to_owned(), usage);
    }
    metadata.validate()?;
    let annotated = metadata::write_to_module(&policy.bytes, &metadata)?;
    std::fs::write(&args.output_path, annotated)
        .with_context(|| format!("cannot write {:?}", args.output_path))?;
    Ok(())
}

fn push(args: PushArgs) -> Result<()> {
    let wasm = std::fs::read(&args.policy)
        .with_context(|| format!("Error reading wasm file {:?}", args.policy))?;
    let immutable_ref = registry::push(&wasm, &args.uri, args.force)?;
    match args.output.as_str() {
        "json" => print!("{}", serde_json::json!({ "immutable_ref": immutable_ref })),
        "text" => println!("Policy successfully pushed: {immutable_ref}"),
        other => return Err(anyhow!("unknown output format {other:?}: use text or json")),
    }
    Ok(())
}

fn pull(args: PullArgs) -> Result<()> {
    eprintln!("Pulling policy from {}", args.uri);
    let (wasm, digest) = registry::pull(&args.uri)?;
    let path = match args.output_path {
        Some(p) => p,
        None => registry::store_path(&args.uri)?,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {parent:?}"))?;
    }
    std::fs::write(&path, wasm).with_context(|| format!("cannot write {path:?}"))?;
    eprintln!(
        "Successfully pulled policy from {} ({digest}) to {}",
        args.uri,
        path.display()
    );
    Ok(())
}

fn scaffold_artifacthub(args: ArtifacthubArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.metadata_path)
        .with_context(|| format!("Error opening metadata file {:?}", args.metadata_path))?;
    let metadata = Metadata::from_yaml(&text)?;
    let questions_path = args.questions_path.or_else(|| {
        [
            "questions-ui.yml",
            "questions-ui.yaml",
            "questions.yml",
            "questions.yaml",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    });
    let questions = questions_path
        .map(|p| std::fs::read_to_string(&p).with_context(|| format!("cannot read {p:?}")))
        .transpose()?;
    let created_at = args.created_at.unwrap_or_else(artifacthub::now_rfc3339);
    let package = artifacthub::render(&metadata, questions.as_deref(), &created_at)?;
    match args.output {
        Some(path) => {
            std::fs::write(&path, package).with_context(|| format!("cannot write {path:?}"))?
        }
        None => print!("{package}"),
    }
    Ok(())
}

/// Exit status of `call` when the guest failed (trap or waPC error)
/// instead of answering.
const GUEST_FAILURE: i32 = 2;

fn call(args: CallArgs) -> Result<()> {
    let payload = if args.payload.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("cannot read stdin")?;
        bytes
    } else {
        std::fs::read(&args.payload).with_context(|| format!("cannot read {:?}", args.payload))?
    };
    let policy = Policy::load(&args.policy, !args.disable_wasmtime_cache)?;
    let host = host_for(&policy, &args.host)?;
    let instance = policy.instantiate(&host, None)?;
    match instance.call(&args.operation, &payload) {
        Ok(answer) => {
            println!("{}", String::from_utf8_lossy(&answer));
            Ok(())
        }
        Err(e) => {
            eprintln!("guest failure: {e}");
            std::process::exit(GUEST_FAILURE);
        }
    }
}

fn bench_command(args: BenchArgs) -> Result<()> {
    let policy_path = args.policy.clone();
    let timeout = (!args.disable_timeout_protection).then_some(policy::POLICY_SERVER_TIMEOUT_TICKS);
    let subject = |path: &PathBuf,
                   request: &str,
                   settings: serde_json::Value,
                   replay: Option<&PathBuf>|
     -> Result<bench::Subject> {
        let policy = Policy::load_with_timeout(path, true, timeout)?;
        let flags = HostArgs {
            allow_context_aware: true,
            replay: replay.cloned(),
        };
        let host = host_for(&policy, &flags)?;
        let request = bench::read_request_text(request)?;
        bench::Subject::new(policy, host, &request, settings)
    };
    if let (Some(floor), Some(cases)) = (&args.floor, &args.cases) {
        let text =
            std::fs::read_to_string(cases).with_context(|| format!("cannot read {cases:?}"))?;
        let mut names = Vec::new();
        let mut subjects = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, request, settings, session] = fields.as_slice() else {
                return Err(anyhow!(
                    "bad case line {line:?}: want name, request, settings, session"
                ));
            };
            let settings = evaluate::read_settings((*settings != "-").then_some(*settings), None)?;
            let session = (*session != "-").then(|| PathBuf::from(session));
            let floor_subject = subject(floor, request, settings.clone(), None)
                .with_context(|| format!("case {name}"))?;
            let policy_subject = subject(&policy_path, request, settings, session.as_ref())
                .with_context(|| format!("case {name}"))?;
            names.push((*name).to_owned());
            subjects.push((floor_subject, policy_subject));
        }
        eprintln!(
            "bench: {} cases, {} rounds, each round through every case",
            names.len(),
            args.rounds
        );
        let measured = bench::compare(&subjects, args.iterations, args.rounds)?;
        let rows: Vec<bench::Row> = names
            .into_iter()
            .zip(measured)
            .map(|(case, [floor, policy])| bench::Row {
                case,
                floor,
                policy,
            })
            .collect();
        let table = bench::tsv(&rows);
        print!("{table}\n{}", bench::details(&rows));
        if let Some(out) = &args.output {
            std::fs::write(out, &table).with_context(|| format!("cannot write {out:?}"))?;
        }
        return Ok(());
    }
    let request = args
        .request_path
        .as_deref()
        .ok_or_else(|| anyhow!("bench needs --request-path, or --floor with --cases"))?;
    let settings = args.settings.read()?;
    let policy = Policy::load_with_timeout(&policy_path, true, timeout)?;
    let host = host_for(&policy, &args.host)?;
    let request = bench::read_request_text(request)?;
    let subject = bench::Subject::new(policy, host, &request, settings)?;
    let modes = bench::measure(&subject, args.iterations, args.rounds)?;
    println!("{}", bench::SERVER_MODE);
    println!("  {}", bench::stats_line("server", &modes.server));
    println!("{}", bench::REUSED_MODE);
    println!("  {}", bench::stats_line("reused", &modes.reused));
    let settings = bench::measure_settings(&subject, args.iterations, args.rounds)?;
    println!("{}", bench::SETTINGS_MODE);
    println!("  {}", bench::stats_line("server", &settings));
    if args.measure_memory {
        let bytes = subject.peak_memory()?;
        println!(
            "peak linear memory: {} KiB ({:.1} MiB)",
            bytes / 1024,
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn error_with(vars: &[(&str, &str)], files: &[&str]) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        kube_config_error(
            |name| vars.get(name).cloned(),
            |p: &Path| files.iter().any(|f| Path::new(f) == p),
        )
    }

    #[test]
    fn a_context_aware_run_without_a_session_needs_a_kube_config() {
        let no_config = error_with(&[("HOME", "/home/u")], &[]).unwrap();
        assert!(
            no_config.starts_with("failed to infer config"),
            "{no_config}"
        );
        assert!(no_config.contains("/home/u/.kube/config"));
        assert!(error_with(&[("HOME", "/home/u")], &["/home/u/.kube/config"]).is_none());
        // KUBECONFIG wins over the home directory, as in kube-rs.
        assert!(
            error_with(
                &[("HOME", "/home/u"), ("KUBECONFIG", "/nowhere")],
                &["/home/u/.kube/config"]
            )
            .is_some()
        );
        assert!(error_with(&[("KUBECONFIG", "/a:/b")], &["/b"]).is_none());
        assert!(
            error_with(
                &[
                    ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
                    ("KUBERNETES_SERVICE_PORT", "443")
                ],
                &["/var/run/secrets/kubernetes.io/serviceaccount/token"]
            )
            .is_none()
        );
    }
}
