//! `irsa-trustcheck`: proves that each IAM role's trust policy admits only
//! the namespaces that irsa-policy's `allowedRoles` allows, from the files
//! the AWS CLI prints, offline. See docs/trustcheck.md.

mod allowed;
mod automata;
mod check;
mod iam;
mod input;
mod policy;
mod report;
mod rules;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;

use crate::allowed::AllowList;
use crate::check::Checker;
use crate::input::{InputError, LoadedSettings};
use crate::report::{CheckedRole, Report};
use crate::rules::{Finding, Rule, Severity};

const USAGE: &str = "\
usage: irsa-trustcheck --settings FILE --roles FILE... [--cluster FILE...]
                       [--associations FILE...] [--format text|json|sarif]
                       [--fail-on info|low|medium|high|critical] [--allow-incomplete]
       irsa-trustcheck associations FILE...

Checks that each IAM role's trust policy admits only the namespaces that
allowedRoles allows (exactly, with a shortest witness namespace when not).

  --settings FILE      irsa-enforce's settings (YAML or JSON), or its
                       ClusterAdmissionPolicy / AdmissionPolicy manifest
  --roles FILE...      `aws iam get-role` or `aws iam list-roles` output
  --cluster FILE...    `aws eks describe-cluster` output (IRSA checks)
  --associations FILE...
                       `aws eks describe-pod-identity-association` output
  --format FORMAT      text (default), json or sarif (SARIF 2.1.0)
  --fail-on SEVERITY   lowest severity that makes the exit code 1 (high)
  --allow-incomplete   an allowed role missing from --roles is not exit 3

  associations FILE... prints the podIdentity.associations settings block
                       for `describe-pod-identity-association` outputs

Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 bad input
(the file and the JSON path are named); 3 incomplete input.";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Sarif,
}

/// The parsed command line.
#[derive(Debug)]
struct Options {
    settings: Option<String>,
    clusters: Vec<String>,
    roles: Vec<String>,
    associations: Vec<String>,
    format: Format,
    fail_on: Severity,
    allow_incomplete: bool,
}

/// What went wrong, with its exit code.
enum Failure {
    Usage(String),
    Input(InputError),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::Input(e)
    }
}

fn parse_options(args: &[String]) -> Result<Options, Failure> {
    let mut o = Options {
        settings: None,
        clusters: Vec::new(),
        roles: Vec::new(),
        associations: Vec::new(),
        format: Format::Text,
        fail_on: Severity::High,
        allow_incomplete: false,
    };
    let mut i = 0;
    let usage = |m: String| Failure::Usage(m);
    while let Some(arg) = args.get(i) {
        i += 1;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        // The values of a flag: `--flag=v`, or every argument up to the
        // next flag.
        let mut values = || -> Result<Vec<String>, Failure> {
            let mut found: Vec<String> = inline.clone().into_iter().collect();
            if found.is_empty() {
                while let Some(v) = args.get(i).filter(|v| !v.starts_with("--")) {
                    found.push(v.clone());
                    i += 1;
                }
            }
            if found.is_empty() {
                return Err(usage(format!("{flag} needs a value")));
            }
            Ok(found)
        };
        match flag {
            "--settings" => {
                let v = values()?;
                if v.len() != 1 || o.settings.is_some() {
                    return Err(usage("--settings takes one file".to_owned()));
                }
                o.settings = v.into_iter().next();
            }
            "--cluster" => o.clusters.extend(values()?),
            "--roles" => o.roles.extend(values()?),
            "--associations" => o.associations.extend(values()?),
            "--format" => {
                o.format = match values()?.as_slice() {
                    [f] if f == "text" => Format::Text,
                    [f] if f == "json" => Format::Json,
                    [f] if f == "sarif" => Format::Sarif,
                    other => return Err(usage(format!("unknown --format {other:?}"))),
                }
            }
            "--fail-on" => {
                let v = values()?;
                o.fail_on = match v.as_slice() {
                    [s] => Severity::parse(s),
                    _ => None,
                }
                .ok_or_else(|| usage(format!("unknown --fail-on {v:?}")))?;
            }
            "--allow-incomplete" => o.allow_incomplete = true,
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    if o.settings.is_none() {
        return Err(usage("--settings is required".to_owned()));
    }
    if o.roles.is_empty() {
        return Err(usage("--roles is required".to_owned()));
    }
    Ok(o)
}

/// Runs the check; the report holds the exit code.
fn run(o: &Options) -> Result<Report, Failure> {
    let settings_file = o.settings.clone().unwrap_or_default();
    let LoadedSettings {
        settings,
        allowed_roles,
    } = input::settings(&settings_file)?;
    let clusters = o
        .clusters
        .iter()
        .map(|f| input::cluster(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut roles = Vec::new();
    for f in &o.roles {
        roles.extend(input::roles(f)?);
    }
    let associations = o
        .associations
        .iter()
        .map(|f| input::association(f))
        .collect::<Result<Vec<_>, _>>()?;
    let policy_map = settings.restriction.as_ref().map(|r| r.allowed.clone());
    let allow = AllowList::new(allowed_roles.as_ref(), policy_map);
    let checker = Checker::new(&settings, &settings_file, &clusters, allow);

    let mut seen = HashSet::new();
    roles.retain(|r| seen.insert(r.arn.as_str().to_owned()));
    // Roles are independent: split them over the cores, each part with
    // its own checker (and allow-list cache), and keep their order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = roles.len().div_ceil(threads).max(256);
    let mut findings: Vec<Finding> = std::thread::scope(|scope| -> Result<_, InputError> {
        let parts: Vec<_> = roles
            .chunks(chunk)
            .map(|part| {
                let mut checker = checker.clone();
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for role in part {
                        found.extend(checker.check_role(role)?);
                    }
                    Ok::<_, InputError>(found)
                })
            })
            .collect();
        let mut all = Vec::new();
        for p in parts {
            all.extend(p.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?);
        }
        Ok(all)
    })?;
    let by_arn: HashMap<String, &input::Role> = roles
        .iter()
        .map(|r| (r.arn.as_str().to_owned(), r))
        .collect();
    findings.extend(checker.check_associations(
        &settings,
        &settings_file,
        &associations,
        &by_arn,
    )?);
    findings.extend(checker.unknown_roles(&seen, &settings_file));

    let incomplete = findings.iter().any(|f| f.rule == Rule::UnknownRole);
    let failing = findings
        .iter()
        .any(|f| f.severity() >= o.fail_on && f.rule != Rule::UnknownRole);
    let exit_code = if failing {
        1
    } else if incomplete && !o.allow_incomplete {
        3
    } else {
        0
    };
    Ok(Report {
        roles: roles
            .iter()
            .map(|r| CheckedRole {
                arn: r.arn.as_str().to_owned(),
                file: r.file.clone(),
                path: r.path.clone(),
            })
            .collect(),
        findings,
        fail_on: o.fail_on,
        exit_code,
        incomplete,
    })
}

/// `associations FILE...`: the settings block for these associations.
fn associations_block(files: &[String]) -> Result<String, Failure> {
    if files.is_empty() {
        return Err(Failure::Usage(
            "associations needs at least one file".to_owned(),
        ));
    }
    let mut found: BTreeMap<(String, String), input::Association> = BTreeMap::new();
    for f in files {
        let a = input::association(f)?;
        let key = (a.namespace.clone(), a.service_account.clone());
        if let Some(previous) = found.get(&key)
            && (previous.role_arn != a.role_arn || previous.target_role_arn != a.target_role_arn)
        {
            return Err(Failure::Input(InputError::new(
                f,
                "association",
                &format!(
                    "{}/{} is also described by {} with another role: one settings entry cannot hold both",
                    a.namespace, a.service_account, previous.file
                ),
            )));
        }
        found.insert(key, a);
    }
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = String::from("podIdentity:\n  associations:\n");
    for a in found.values() {
        out.push_str(&format!(
            "    - namespace: {}\n      serviceAccount: {}\n      roleArn: {}\n",
            quote(&a.namespace),
            quote(&a.service_account),
            quote(&a.role_arn)
        ));
        if let Some(target) = &a.target_role_arn {
            out.push_str(&format!("      targetRoleArn: {}\n", quote(target)));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") || args.is_empty() {
        println!("{USAGE}");
        return ExitCode::from(if args.is_empty() { 2 } else { 0 });
    }
    if args.first().map(String::as_str) == Some("--version") {
        println!("irsa-trustcheck {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let outcome = if args.first().map(String::as_str) == Some("associations") {
        associations_block(args.get(1..).unwrap_or(&[])).map(|block| {
            print!("{block}");
            0
        })
    } else {
        parse_options(&args).and_then(|o| {
            let report = run(&o)?;
            match o.format {
                Format::Text => print!("{}", report.text()),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report.json()).unwrap_or_default()
                ),
                Format::Sarif => println!(
                    "{}",
                    serde_json::to_string_pretty(&report.sarif()).unwrap_or_default()
                ),
            }
            Ok(report.exit_code)
        })
    };
    match outcome {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(Failure::Usage(m)) => {
            eprintln!("irsa-trustcheck: {m}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Input(e)) => {
            eprintln!("irsa-trustcheck: error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests;
