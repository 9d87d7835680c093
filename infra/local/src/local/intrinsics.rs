//! The CloudFormation intrinsic functions the template builds names with (`!Ref`, `!Sub` in both
//! forms, `!Select`, `!Split`), evaluated the way CloudFormation would against a local stack, so
//! the local stack creates what a deploy would name.

use serde_yaml::Value;
use sha2::{Digest, Sha256};

/// A stack's pseudo parameters (`AWS::StackName`, `AWS::StackId`, …).
#[derive(Clone, Debug)]
pub struct Pseudo {
    pub stack: String,
    pub region: String,
    pub account: String,
}

impl Pseudo {
    /// `arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid}`. CloudFormation's uuid is
    /// random per stack; locally it is derived from the stack name, so any process finds the same
    /// names again.
    pub fn stack_id(&self) -> String {
        let h = hex::encode(Sha256::digest(self.stack.as_bytes()));
        let uuid = format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
        format!("arn:aws:cloudformation:{}:{}:stack/{}/{uuid}", self.region, self.account, self.stack)
    }

    fn get(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(self.stack.clone()),
            "AWS::StackId" => Some(self.stack_id()),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(self.account.clone()),
            "AWS::Partition" => Some("aws".into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            _ => None,
        }
    }
}

/// The value of `v`; `resource` answers `!Ref` of anything not a pseudo parameter (template
/// parameters, resources). `None` for what it cannot evaluate.
pub fn evaluate(v: &Value, pseudo: &Pseudo, resource: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => match t.tag.to_string().trim_start_matches('!') {
            "Ref" => {
                let name = t.value.as_str()?;
                pseudo.get(name).or_else(|| resource(name))
            }
            "Sub" => match &t.value {
                Value::String(text) => substitute(text, &[], pseudo, resource),
                Value::Sequence(parts) => {
                    let text = parts.first()?.as_str()?;
                    let mut vars = Vec::new();
                    if let Some(Value::Mapping(map)) = parts.get(1) {
                        for (k, v) in map {
                            vars.push((k.as_str()?.to_string(), evaluate(v, pseudo, resource)?));
                        }
                    }
                    substitute(text, &vars, pseudo, resource)
                }
                _ => None,
            },
            "Select" => {
                let parts = t.value.as_sequence()?;
                let index: usize = evaluate(parts.first()?, pseudo, resource)?.parse().ok()?;
                let list = list_of(parts.get(1)?, pseudo, resource)?;
                list.into_iter().nth(index)
            }
            _ => None,
        },
        _ => None,
    }
}

fn list_of(v: &Value, pseudo: &Pseudo, resource: &dyn Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    match v {
        Value::Sequence(items) => items.iter().map(|i| evaluate(i, pseudo, resource)).collect(),
        Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "Split" => {
            let parts = t.value.as_sequence()?;
            let delimiter = evaluate(parts.first()?, pseudo, resource)?;
            let text = evaluate(parts.get(1)?, pseudo, resource)?;
            Some(text.split(delimiter.as_str()).map(str::to_string).collect())
        }
        _ => None,
    }
}

/// `${Name}` in `text` replaced from `vars`, the pseudo parameters, then `resource`; `${!x}` is
/// the literal `${x}`.
fn substitute(
    text: &str,
    vars: &[(String, String)],
    pseudo: &Pseudo,
    resource: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 2..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            let value = vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| pseudo.get(name))
                .or_else(|| resource(name.split('.').next().unwrap_or(name)))?;
            out.push_str(&value);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(stack: &str) -> Pseudo {
        Pseudo { stack: stack.into(), region: "ap-south-1".into(), account: "123456789012".into() }
    }

    fn eval(yaml: &str, stack: &str) -> Option<String> {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        evaluate(&v, &pseudo(stack), &|name| (name == "Queue").then(|| "q-url".to_string()))
    }

    #[test]
    fn sub_with_a_variable_from_the_stack_id() {
        let name = eval(
            r#"!Sub ["settlepaisa-uploads-${Id}", {Id: !Select [2, !Split ["/", !Ref "AWS::StackId"]]}]"#,
            "My-Stack",
        )
        .unwrap();
        let uuid = name.strip_prefix("settlepaisa-uploads-").unwrap();
        assert_eq!(uuid.len(), 36);
        assert!(uuid.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || c == '-'), "{uuid}");
        // Stable per stack name, different across stacks.
        assert_eq!(
            Some(name.clone()),
            eval(
                r#"!Sub ["settlepaisa-uploads-${Id}", {Id: !Select [2, !Split ["/", !Ref "AWS::StackId"]]}]"#,
                "My-Stack"
            )
        );
        assert_ne!(
            Some(name),
            eval(
                r#"!Sub ["settlepaisa-uploads-${Id}", {Id: !Select [2, !Split ["/", !Ref "AWS::StackId"]]}]"#,
                "other"
            )
        );
    }

    #[test]
    fn sub_strings_refs_and_literals() {
        assert_eq!(eval(r#"!Sub "${AWS::StackName}-x-${AWS::Region}""#, "s").as_deref(), Some("s-x-ap-south-1"));
        assert_eq!(eval(r#"!Sub "${Queue}/${!Literal}""#, "s").as_deref(), Some("q-url/${Literal}"));
        assert_eq!(eval("!Ref Queue", "s").as_deref(), Some("q-url"));
        assert_eq!(eval("!Ref Unknown", "s"), None);
        assert_eq!(eval(r#"!Sub "${Unknown}""#, "s"), None);
    }
}
