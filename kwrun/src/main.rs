//! kwrun: runs Kubewarden policies the way `kwctl` does, for machines where
//! kwctl cannot be installed. Same engine stack (wapc + wasmtime-provider),
//! same flags, same output, so `e2e.bats` runs unchanged against either.

mod evaluate;
mod host;
mod metadata;
mod policy;

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
}

#[derive(Args)]
struct RunArgs {
    /// AdmissionRequest or AdmissionReview JSON file; `-` reads stdin.
    #[arg(short = 'r', long = "request-path")]
    request_path: String,
    /// Settings file, YAML or JSON. Wins over --settings-json.
    #[arg(short = 's', long = "settings-path")]
    settings_path: Option<String>,
    /// Settings as a JSON string.
    #[arg(long = "settings-json")]
    settings_json: Option<String>,
    /// Grant the Kubernetes resources listed in the module's contextAwareResources.
    #[arg(long = "allow-context-aware")]
    allow_context_aware: bool,
    /// Answer host calls from a kwctl session file.
    #[arg(long = "replay-host-capabilities-interactions")]
    replay: Option<PathBuf>,
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
    };
    if let Err(e) = result {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

/// Builds the host for a module: kwctl grants the module's own
/// contextAwareResources only with --allow-context-aware.
fn host_for(
    policy: &Policy,
    allow_context_aware: bool,
    replay: Option<&PathBuf>,
) -> Result<Arc<Host>> {
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
    let session = match replay {
        Some(path) => Some(Mutex::new(host::load_session(path)?)),
        None => None,
    };
    Ok(Arc::new(Host {
        allowed,
        session,
        calls: Mutex::new(0),
    }))
}

fn run(args: RunArgs) -> Result<()> {
    let request = evaluate::read_request(&args.request_path)?;
    let settings =
        evaluate::read_settings(args.settings_path.as_deref(), args.settings_json.as_deref())?;
    let policy = Policy::load(&args.policy)?;
    let host = host_for(&policy, args.allow_context_aware, args.replay.as_ref())?;
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
    let policy = Policy::load(&args.wasm_path)?;
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
