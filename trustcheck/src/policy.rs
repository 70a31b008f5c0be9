//! Role trust policies, read from JSON with the path of every element, so
//! that an input error names the place.
//!
//! Grammar: "IAM JSON policy element reference"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>).
//! `Statement`, `Action`, `Principal` values and condition values may each
//! be a scalar or a list. `NotPrincipal` is not allowed in a role trust
//! policy ("IAM JSON policy elements: NotPrincipal": it cannot be used in
//! an IAM role trust policy), so it is an input error.

use serde_json::Value;

use crate::input::InputError;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a statement names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub everyone: bool,
    pub aws: Vec<String>,
    pub federated: Vec<String>,
    pub service: Vec<String>,
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actions {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

/// The set-operator prefix of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    ForAllValues,
    ForAnyValue,
}

/// The base condition operators ("IAM JSON policy elements: Condition
/// operators").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseOp {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    /// Numeric, date, Bool, binary, IP and ARN operators: never on the keys
    /// this tool evaluates, so it reads them only as opaque.
    Other {
        negated: bool,
    },
    Null,
}

impl BaseOp {
    /// Known operators, by their name in lowercase.
    fn parse(name: &str) -> Option<BaseOp> {
        Some(match name.to_ascii_lowercase().as_str() {
            "stringequals" => BaseOp::StringEquals,
            "stringnotequals" => BaseOp::StringNotEquals,
            "stringequalsignorecase" => BaseOp::StringEqualsIgnoreCase,
            "stringnotequalsignorecase" => BaseOp::StringNotEqualsIgnoreCase,
            "stringlike" => BaseOp::StringLike,
            "stringnotlike" => BaseOp::StringNotLike,
            "numericequals"
            | "numericlessthan"
            | "numericlessthanequals"
            | "numericgreaterthan"
            | "numericgreaterthanequals"
            | "dateequals"
            | "datelessthan"
            | "datelessthanequals"
            | "dategreaterthan"
            | "dategreaterthanequals"
            | "bool"
            | "binaryequals"
            | "ipaddress"
            | "arnequals"
            | "arnlike" => BaseOp::Other { negated: false },
            "numericnotequals" | "datenotequals" | "notipaddress" | "arnnotequals"
            | "arnnotlike" => BaseOp::Other { negated: true },
            "null" => BaseOp::Null,
            _ => return None,
        })
    }

    /// The negated operators: true when the key is absent.
    pub fn negated(self) -> bool {
        matches!(
            self,
            BaseOp::StringNotEquals
                | BaseOp::StringNotEqualsIgnoreCase
                | BaseOp::StringNotLike
                | BaseOp::Other { negated: true }
        )
    }
}

/// One operator, key and values of a `Condition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written.
    pub operator: String,
    pub set: Option<SetOp>,
    pub base: BaseOp,
    pub if_exists: bool,
    /// The key as written, and in lowercase (key names ignore case).
    pub key: String,
    pub key_lower: String,
    pub values: Vec<String>,
}

impl Condition {
    /// The condition as written, for messages.
    pub fn written(&self) -> String {
        let values: Vec<String> = self.values.iter().map(|v| format!("{v:?}")).collect();
        let values = if values.len() == 1 {
            values.concat()
        } else {
            format!("[{}]", values.join(", "))
        };
        format!("{} {{{:?}: {values}}}", self.operator, self.key)
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub index: usize,
    /// JSON path of the statement in its file.
    pub path: String,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principals: Principals,
    pub actions: Actions,
    pub conditions: Vec<Condition>,
}

/// A trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub statements: Vec<Statement>,
}

/// A scalar or a list of scalars, as strings.
fn strings(value: &Value, path: &str, file: &str) -> Result<Vec<String>, InputError> {
    let one = |v: &Value, at: String| -> Result<String, InputError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(InputError::new(file, &at, "expected a string")),
        }
    };
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| one(v, format!("{path}[{i}]")))
            .collect(),
        other => Ok(vec![one(other, path.to_owned())?]),
    }
}

/// Reads a trust policy document at `path` of `file`.
pub fn parse(doc: &Value, path: &str, file: &str) -> Result<TrustPolicy, InputError> {
    let Value::Object(doc) = doc else {
        return Err(InputError::new(
            file,
            path,
            "a policy document is an object",
        ));
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{path}.Statement[{i}]"), s))
            .collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![(format!("{path}.Statement"), one)],
        Some(_) => {
            return Err(InputError::new(
                file,
                &format!("{path}.Statement"),
                "expected a statement or a list of statements",
            ));
        }
        None => return Err(InputError::new(file, path, "the policy has no Statement")),
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(index, (at, s))| statement(index, s, &at, file))
        .collect::<Result<_, _>>()?;
    Ok(TrustPolicy { statements })
}

fn statement(index: usize, value: &Value, path: &str, file: &str) -> Result<Statement, InputError> {
    let Value::Object(s) = value else {
        return Err(InputError::new(file, path, "a statement is an object"));
    };
    let at = |field: &str| format!("{path}.{field}");
    if s.contains_key("NotPrincipal") {
        return Err(InputError::new(
            file,
            &at("NotPrincipal"),
            "NotPrincipal is not allowed in a role trust policy",
        ));
    }
    for field in s.keys() {
        if ![
            "Sid",
            "Effect",
            "Principal",
            "Action",
            "NotAction",
            "Condition",
            "Resource",
        ]
        .contains(&field.as_str())
        {
            return Err(InputError::new(
                file,
                &at(field),
                &format!("unknown statement element {field:?}"),
            ));
        }
    }
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => {
            return Err(InputError::new(
                file,
                &at("Effect"),
                "Effect must be \"Allow\" or \"Deny\"",
            ));
        }
    };
    let principals = match s.get("Principal") {
        None => {
            return Err(InputError::new(
                file,
                path,
                "a trust policy statement needs a Principal",
            ));
        }
        Some(Value::String(p)) if p == "*" => Principals {
            everyone: true,
            ..Principals::default()
        },
        Some(Value::Object(map)) => {
            let mut p = Principals::default();
            for (kind, v) in map {
                let field = format!("{path}.Principal.{kind}");
                let names = strings(v, &field, file)?;
                match kind.as_str() {
                    "AWS" => {
                        p.everyone |= names.iter().any(|n| n == "*");
                        p.aws.extend(names);
                    }
                    "Federated" => p.federated.extend(names),
                    "Service" => p.service.extend(names),
                    "CanonicalUser" => {}
                    other => {
                        return Err(InputError::new(
                            file,
                            &field,
                            &format!("unknown principal type {other:?}"),
                        ));
                    }
                }
            }
            p
        }
        Some(_) => {
            return Err(InputError::new(
                file,
                &at("Principal"),
                "expected \"*\" or an object of principal types",
            ));
        }
    };
    let actions = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), None) => Actions::Action(strings(a, &at("Action"), file)?),
        (None, Some(a)) => Actions::NotAction(strings(a, &at("NotAction"), file)?),
        _ => {
            return Err(InputError::new(
                file,
                path,
                "a statement needs exactly one of Action and NotAction",
            ));
        }
    };
    let mut conditions = Vec::new();
    match s.get("Condition") {
        None => {}
        Some(Value::Object(ops)) => {
            for (operator, keys) in ops {
                let op_path = format!("{path}.Condition.{operator}");
                let (set, rest) = if let Some(r) = operator.strip_prefix("ForAllValues:") {
                    (Some(SetOp::ForAllValues), r)
                } else if let Some(r) = operator.strip_prefix("ForAnyValue:") {
                    (Some(SetOp::ForAnyValue), r)
                } else {
                    (None, operator.as_str())
                };
                let (rest, if_exists) = match rest.strip_suffix("IfExists") {
                    Some(r) => (r, true),
                    None => (rest, false),
                };
                let base = BaseOp::parse(rest)
                    .filter(|b| *b != BaseOp::Null || (set.is_none() && !if_exists))
                    .ok_or_else(|| {
                        InputError::new(
                            file,
                            &op_path,
                            &format!("unknown condition operator {operator:?}"),
                        )
                    })?;
                let Value::Object(keys) = keys else {
                    return Err(InputError::new(
                        file,
                        &op_path,
                        "expected an object of condition keys",
                    ));
                };
                for (key, values) in keys {
                    let values = strings(values, &format!("{op_path}.{key}"), file)?;
                    conditions.push(Condition {
                        operator: operator.clone(),
                        set,
                        base,
                        if_exists,
                        key: key.clone(),
                        key_lower: key.to_ascii_lowercase(),
                        values,
                    });
                }
            }
        }
        Some(_) => {
            return Err(InputError::new(
                file,
                &at("Condition"),
                "expected an object of condition operators",
            ));
        }
    }
    Ok(Statement {
        index,
        path: path.to_owned(),
        sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        principals,
        actions,
        conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_and_lists() {
        let doc = json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Principal": {"Federated": "arn:x"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"A:Sub": ["x", "y"]}, "ForAnyValue:StringLikeIfExists": {"k": "v"}}}});
        let p = parse(&doc, "Role.AssumeRolePolicyDocument", "f").unwrap();
        let s = &p.statements[0];
        assert_eq!(s.principals.federated, ["arn:x"]);
        assert_eq!(s.conditions.len(), 2);
        let equals = s
            .conditions
            .iter()
            .find(|c| c.operator == "StringEquals")
            .unwrap();
        assert_eq!(equals.key_lower, "a:sub");
        assert_eq!(equals.values, ["x", "y"]);
        let set = s.conditions.iter().find(|c| c.key == "k").unwrap();
        assert!(set.if_exists);
        assert_eq!(set.set, Some(SetOp::ForAnyValue));
        assert_eq!(set.base, BaseOp::StringLike);
    }

    #[test]
    fn bad_documents_name_the_place() {
        let cases = [
            (
                json!({"Statement": [{"Effect": "Allow", "NotPrincipal": "*", "Action": "x"}]}),
                "P.Statement[0].NotPrincipal",
                "NotPrincipal",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "x", "Condition": {"StringEqualz": {"k": "v"}}}]}),
                "P.Statement[0].Condition.StringEqualz",
                "unknown condition operator",
            ),
            (
                json!({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "x"}]}),
                "P.Statement[0].Effect",
                "Allow",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": [1, {}]}]}),
                "P.Statement[0].Action[1]",
                "string",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "x", "Condition": {"NullIfExists": {"k": "true"}}}]}),
                "NullIfExists",
                "unknown",
            ),
            (json!({}), "P", "no Statement"),
        ];
        for (doc, path, message) in cases {
            let e = parse(&doc, "P", "f").unwrap_err();
            assert!(e.path.contains(path) && e.message.contains(message), "{e}");
        }
    }
}
