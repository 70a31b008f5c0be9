//! ServiceAccounts: the role annotation where tenants write it, and
//! TokenRequests (`kubectl create token`) for an STS audience.

use serde::Deserialize;
use serde_json::Value;

use super::judge::{self, Judge};
use super::steps::{self, Old};
use super::{Answer, CODE_BAD_REQUEST, CODE_FORBIDDEN, Outcome, Request};
use crate::constants::NODES_GROUP;
use crate::json;
use crate::names::{self, Shown};
use crate::pod;
use crate::report;
use crate::role::{Role, RoleSource};
use crate::settings::{Enforcement, Settings};
use crate::usage::PodUsage;

/// ServiceAccount CREATE/UPDATE: its role annotation must be well-formed
/// and allowed in its namespace.
pub(super) fn handle(request: Request, settings: &Settings) -> Answer {
    let steps::Opened {
        object,
        old_object,
        name: sa_name,
        namespace,
    } = steps::open(
        &request,
        "ServiceAccount",
        "a ServiceAccount object",
        Old::Parse,
    )?;
    let role_of = |sa: &Value| -> Result<Option<Role>, String> {
        let annotations = pod::annotations(sa)?;
        Ok(json::map_str(annotations, &settings.keys.role_arn)
            .filter(|r| !r.is_empty())
            .map(|raw| {
                Role::new(
                    raw,
                    settings.compose_role_arn.as_ref(),
                    RoleSource::Annotation {
                        key: settings.keys.role_arn.clone(),
                    },
                )
            }))
    };
    let role = role_of(&object).map_err(|e| sa_name.bad(e))?;
    let who = format!("{sa_name} in namespace {}", Shown(&namespace));
    let Some(restriction) = &settings.restriction else {
        let warning = role.and_then(|r| {
            r.arn().as_ref().err().map(|reason| {
                format!(
                    "{who}: {} {} is not a well-formed IAM role ARN ({reason}); Pods using it will get it as written",
                    r.source,
                    Shown(&r.value)
                )
            })
        });
        return Ok(Outcome::accept().with_warnings(warning.into_iter().collect()));
    };
    let judge = Judge::new(settings, restriction, &namespace);
    let check = |role: Option<Role>| judge.violations(&PodUsage::default(), role.as_slice());
    let new = check(role);
    let old = role_of(&old_object).map(check).unwrap_or_default();
    let mut warnings = Vec::new();
    match judge.enforce(&who, &judge::added(new, &old), &mut warnings) {
        Some(rejection) => Err(rejection),
        None => Ok(Outcome::accept().with_warnings(warnings)),
    }
}

/// `userInfo` of a request, as far as trust is concerned.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserInfo {
    username: String,
    groups: Vec<String>,
}

/// TokenRequest (`serviceaccounts/token` CREATE): a token with an STS
/// audience works from anywhere, like a self-mounted one in a Pod. Only
/// kubelet (refreshing a Pod's projected token) and the
/// `trustedTokenRequesters` may mint one under `allowedRoles`.
pub(super) fn token_request(request: &Request, settings: &Settings) -> Answer {
    let Some(restriction) = &settings.restriction else {
        return Ok(Outcome::accept());
    };
    let object = request
        .object()
        .map_err(|e| Outcome::reject(e, CODE_BAD_REQUEST))?;
    let sa_name = Shown(&request.name);
    let bad = |e: String| {
        Outcome::reject(
            format!("TokenRequest for ServiceAccount {sa_name}: {e}"),
            CODE_BAD_REQUEST,
        )
    };
    let audiences = json::array_at(&object, &["spec", "audiences"])
        .map_err(bad)?
        .map(Vec::as_slice)
        .unwrap_or_default();
    let pod_identity = settings
        .pod_identity
        .as_ref()
        .map(|pi| pi.audience.as_str());
    let guarded = |a: &str| restriction.sts_audiences.contains(a) || pod_identity == Some(a);
    let mut asked = None;
    for (i, audience) in audiences.iter().enumerate() {
        match audience.as_str() {
            Some(a) if guarded(a) => {
                asked = Some(a);
                break;
            }
            Some(_) => {}
            None => {
                let field = format!("spec.audiences[{i}]");
                return Err(bad(json::type_error(&field, "a string", audience)));
            }
        }
    }
    let Some(audience) = asked else {
        return Ok(Outcome::accept());
    };
    let user: UserInfo = request
        .user_info
        .as_deref()
        .and_then(|raw| serde_json::from_slice(raw.get().as_bytes()).ok())
        .unwrap_or_default();
    let trusted = user
        .groups
        .iter()
        .any(|g| g == NODES_GROUP || restriction.trusted_groups.contains(g))
        || restriction.trusted_users.contains(&user.username);
    if trusted {
        return Ok(Outcome::accept());
    }
    let text = format!(
        "TokenRequest by user {} for ServiceAccount {sa_name} in namespace {} asks for audience {}, \
         which STS (or EKS Pod Identity) accepts: such a token could assume any role that trusts the \
         ServiceAccount, from anywhere. Under allowedRoles only kubelet (group {NODES_GROUP}) and \
         trustedTokenRequesters may request it",
        Shown(&user.username),
        Shown(&request.namespace),
        Shown(audience)
    );
    Ok(match restriction.enforcement {
        Enforcement::Deny => Outcome::reject(text, CODE_FORBIDDEN),
        Enforcement::Warn => {
            Outcome::accept().with_warnings(vec![names::truncate(text, report::WARNING_LIMIT)])
        }
    })
}
