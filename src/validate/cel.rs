//! CEL validation rules of CRDs (`x-kubernetes-validations`), evaluated as the API server
//! evaluates them on create: `self` is the value at the schema node after defaulting, rules
//! that read `oldSelf` are transition rules the server skips on create, and a rule is only
//! an error when it evaluates to false. A rule this evaluator cannot run (a function of a
//! Kubernetes extension library the `cel` crate lacks, a parse it does not accept) is never
//! reported as the object's fault: it is marked skipped and named once per CRD.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, Program, Value};
use serde_json::Value as Json;

/// How the server phrases a failed rule (`reason` in the CRD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Invalid,
    Forbidden,
    Required,
    Duplicate,
}

/// One `x-kubernetes-validations` entry.
#[derive(Debug)]
pub struct Rule {
    pub source: String,
    /// `None` for a transition rule (reads `oldSelf`) or one that did not compile.
    program: Option<Program>,
    message: Option<String>,
    message_expression: Option<Program>,
    /// `fieldPath` as segments below the node the rule is on.
    pub field_path: Vec<String>,
    pub reason: Reason,
    /// Why the rule could not be evaluated, set on the first failure.
    pub skipped: OnceLock<String>,
}

/// The outcome of a rule on one value.
pub enum Verdict {
    Pass,
    /// The rule evaluated to false: the server's detail message.
    Fail(String),
}

fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Kubernetes enables the strings extension library (v2) for CRD rules.
        env.add_extension(cel::extensions::strings)
            .expect("the strings extension declares no standard name twice");
        // cel-go's lists extension (slice, flatten, distinct, sort, sortBy, lists.range),
        // which newer servers enable, and the regex, URL, quantity and IP predicates of
        // Kubernetes' own library.
        env.add_extension(cel::extensions::lists)
            .expect("the lists extension declares no standard name twice");
        env.add_extension(super::cel_k8s::extension)
            .expect("the Kubernetes functions declare no name twice");
        Arc::new(env)
    })
}

impl Rule {
    /// Compiles one entry of `x-kubernetes-validations`; `None` when it has no `rule`.
    pub fn compile(entry: &Json) -> Option<Rule> {
        let text = |k: &str| entry.get(k).and_then(Json::as_str);
        let source = text("rule")?.to_string();
        let skipped = OnceLock::new();
        let program = if mentions_old_self(&source) {
            None
        } else {
            match env().compile(&source) {
                Ok(p) => Some(p),
                Err(e) => {
                    let first = e.to_string();
                    let _ = skipped.set(format!(
                        "it does not parse here ({})",
                        first.lines().next().unwrap_or("parse error")
                    ));
                    None
                }
            }
        };
        Some(Rule {
            program,
            message: text("message")
                .filter(|m| !m.trim().is_empty())
                .map(str::to_string),
            message_expression: text("messageExpression").and_then(|m| env().compile(m).ok()),
            field_path: text("fieldPath").map(field_path).unwrap_or_default(),
            reason: match text("reason") {
                Some("FieldValueForbidden") => Reason::Forbidden,
                Some("FieldValueRequired") => Reason::Required,
                Some("FieldValueDuplicate") => Reason::Duplicate,
                _ => Reason::Invalid,
            },
            skipped,
            source,
        })
    }

    /// Evaluates the rule with `self` bound to `value`. A rule that cannot be evaluated
    /// passes and is marked skipped.
    pub fn check(&self, value: &Value) -> Verdict {
        let Some(program) = &self.program else {
            return Verdict::Pass;
        };
        let mut context = Context::with_env(env().clone());
        context.add_variable_from_value("self", value.clone());
        match program.execute(&context) {
            Ok(Value::Bool(true)) => Verdict::Pass,
            Ok(Value::Bool(false)) => Verdict::Fail(self.detail(&context)),
            Ok(other) => {
                let _ = self
                    .skipped
                    .set(format!("it yields {other:?}, not a boolean"));
                Verdict::Pass
            }
            Err(e) => {
                // A missing key is how an unguarded rule meets an omitted optional field,
                // and the server's own verdict then depends on defaults this evaluator may
                // not model exactly: the rule is not judged on this object, nor marked.
                if !matches!(e, ExecutionError::NoSuchKey(_)) {
                    let _ = self.skipped.set(unsupported(&e));
                }
                Verdict::Pass
            }
        }
    }

    /// The server's detail: `messageExpression` when it yields a non-empty string, else
    /// `message`, else `failed rule: RULE`.
    fn detail(&self, context: &Context) -> String {
        if let Some(expr) = &self.message_expression
            && let Ok(Value::String(s)) = expr.execute(context)
            && !s.trim().is_empty()
        {
            return s.to_string();
        }
        match &self.message {
            Some(m) => m.clone(),
            None => format!("failed rule: {}", self.source.trim()),
        }
    }
}

fn unsupported(e: &ExecutionError) -> String {
    match e {
        ExecutionError::UndeclaredReference(name) => {
            format!("it uses {name}, which this evaluator does not provide")
        }
        other => format!("it fails here: {other}"),
    }
}

/// True when the rule reads `oldSelf` as an identifier (not inside a word like `boldSelf`).
fn mentions_old_self(rule: &str) -> bool {
    rule.match_indices("oldSelf").any(|(i, _)| {
        let before = rule[..i].chars().next_back();
        let after = rule[i + "oldSelf".len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// Splits a `fieldPath` (`.spec.ports`, `.labels['app.kubernetes.io/name']`) into keys.
fn field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(r[..end].to_string());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let Some(end) = r.find("']") else { break };
            out.push(r[..end].to_string());
            rest = &r[end + 2..];
        } else {
            break;
        }
    }
    out
}

/// A CEL value from JSON (for schema defaults).
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(from_json).collect())),
        Json::Object(entries) => map(entries
            .iter()
            .map(|(k, v)| (k.clone(), from_json(v)))
            .collect()),
    }
}

/// A CEL map with string keys.
pub fn map(entries: HashMap<String, Value>) -> Value {
    Value::Map(Map {
        map: Arc::new(
            entries
                .into_iter()
                .map(|(k, v)| (Key::String(Arc::new(k)), v))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(r: &str) -> Rule {
        Rule::compile(&json!({"rule": r, "message": "no"})).expect("has a rule")
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        map(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect())
    }

    fn s(v: &str) -> Value {
        Value::String(Arc::new(v.into()))
    }

    /// Whether the rule passes on `value`; it must have been evaluated, not skipped.
    fn passes(source: &str, value: &Value) -> bool {
        let r = rule(source);
        let verdict = r.check(value);
        assert!(
            r.skipped.get().is_none(),
            "{source} skipped: {:?}",
            r.skipped.get()
        );
        matches!(verdict, Verdict::Pass)
    }

    // Rules from kubernetes-sigs/gateway-api config/crd/standard/gateway.networking.k8s.io_gateways.yaml
    #[test]
    fn gateway_rules() {
        let unique = rule("self.all(l1, self.exists_one(l2, l1.name == l2.name))");
        let a = obj(&[("name", s("a"))]);
        let b = obj(&[("name", s("b"))]);
        assert!(matches!(
            unique.check(&list(vec![a.clone(), b])),
            Verdict::Pass
        ));
        assert!(matches!(
            unique.check(&list(vec![a.clone(), a])),
            Verdict::Fail(m) if m == "no"
        ));
        let split = rule(r#"self.all(key, key.split("/")[0].size() < 253)"#);
        assert!(matches!(
            split.check(&obj(&[("example.com/x", s("1"))])),
            Verdict::Pass
        ));
        assert!(split.skipped.get().is_none());
        let regex = rule(r#"self.matches(r"""^(\*\.)?[a-z0-9]+$""")"#);
        assert!(matches!(regex.check(&s("*.example")), Verdict::Pass));
        assert!(matches!(regex.check(&s("Bad_Host")), Verdict::Fail(_)));
        let ci =
            rule("self.all(l, l.protocol.matches('(?i)^(HTTP|TCP|UDP)$') ? !has(l.tls) : true)");
        let http_tls = obj(&[("protocol", s("http")), ("tls", obj(&[]))]);
        assert!(matches!(ci.check(&list(vec![http_tls])), Verdict::Fail(_)));
    }

    #[test]
    fn transition_rules_are_not_run_on_create() {
        let r = rule("self == oldSelf");
        assert!(matches!(r.check(&s("x")), Verdict::Pass));
        assert!(r.skipped.get().is_none());
        assert!(!mentions_old_self("self.boldSelf == 1"));
    }

    #[test]
    fn unknown_functions_are_skipped_not_failed() {
        // getQuery() returns a map of lists, which is not modelled here.
        let r = rule("url(self).getQuery().size() == 0");
        assert!(matches!(
            r.check(&s("http://example.com/?a=b")),
            Verdict::Pass
        ));
        assert!(r.skipped.get().is_some());
    }

    /// The predicates of Kubernetes' CEL library, in rules as real CRDs write them.
    #[test]
    fn kubernetes_library_predicates() {
        let cases: &[(&str, &str, bool)] = &[
            // kubebuilder markers of network operators (XValidation:rule=isIP(self))
            ("isIP(self)", "10.1.2.3", true),
            ("isIP(self)", "fd00::1", true),
            ("isIP(self)", "10.1.2", false),
            ("isIP(self)", "010.1.2.3", false),
            ("isIP(self)", "::ffff:10.1.2.3", false),
            ("isIP(self)", "fe80::1%eth0", false),
            ("isCIDR(self)", "10.0.0.0/8", true),
            ("isCIDR(self)", "fd00::/64", true),
            ("isCIDR(self)", "10.0.0.0/33", false),
            ("isCIDR(self)", "10.0.0.0", false),
            ("isCIDR(self)", "10.0.0.0/08", false),
            ("isURL(self)", "https://example.com:8443/path?q=1", true),
            ("isURL(self)", "/relative/path", true),
            ("isURL(self)", "example.com/no-scheme", false),
            ("isURL(self)", "https://exa mple.com", false),
            ("isURL(self)", "http://host:port/", false),
            ("isQuantity(self)", "500m", true),
            ("isQuantity(self)", "1.5Gi", true),
            ("isQuantity(self)", "1.5GiB", false),
            ("self.find('[0-9]+') == '123'", "abc123def456", true),
            ("self.findAll('[0-9]+').size() == 2", "abc123def456", true),
            ("self.findAll('[0-9]+', 1) == ['123']", "abc123def456", true),
            ("self.find('[0-9]+') == ''", "no digits", true),
            // the strings extension's indexOf still answers beside the list one
            (
                "self.indexOf('c') == 2 && self.lastIndexOf('a') == 3",
                "abca",
                true,
            ),
        ];
        for (source, value, ok) in cases {
            assert_eq!(passes(source, &s(value)), *ok, "{source} on {value:?}");
        }
        // The values of the IP, CIDR and quantity libraries, with their methods.
        let values: &[(&str, &str, bool)] = &[
            // a network operator's CRD: self == '' || (isIP(self) && ip(self).family() == 6)
            (
                "self == '' || (isIP(self) && ip(self).family() == 6)",
                "fd00::1",
                true,
            ),
            (
                "self == '' || (isIP(self) && ip(self).family() == 6)",
                "10.0.0.1",
                false,
            ),
            ("ip(self).isLoopback()", "127.0.0.1", true),
            ("ip(self).isGlobalUnicast()", "8.8.8.8", true),
            ("ip(self).isGlobalUnicast()", "169.254.1.1", false),
            ("ip(self).isLinkLocalMulticast()", "ff02::1", true),
            ("ip(self).isUnspecified()", "::", true),
            ("ip.isCanonical(self)", "2001:db8::1", true),
            ("ip.isCanonical(self)", "2001:DB8:0::1", false),
            ("ip(self) == ip('10.0.0.1')", "10.0.0.1", true),
            ("cidr(self).containsIP('10.1.2.3')", "10.0.0.0/8", true),
            ("cidr(self).containsIP(ip('11.0.0.1'))", "10.0.0.0/8", false),
            ("cidr(self).containsCIDR('10.1.0.0/16')", "10.0.0.0/8", true),
            ("cidr(self).containsCIDR('10.0.0.0/7')", "10.0.0.0/8", false),
            ("cidr(self).prefixLength() <= 24", "10.0.0.0/16", true),
            (
                "cidr(self).masked() == cidr('10.0.0.0/8')",
                "10.1.2.3/8",
                true,
            ),
            ("cidr(self).ip() == ip('10.1.2.3')", "10.1.2.3/8", true),
            ("quantity(self).isLessThan(quantity('1Gi'))", "500Mi", true),
            ("quantity(self).isGreaterThan(quantity('1'))", "500m", false),
            (
                "quantity(self).compareTo(quantity('1000m')) == 0",
                "1",
                true,
            ),
            (
                "quantity(self).add(quantity('500m')).isInteger()",
                "1.5",
                true,
            ),
            ("quantity(self).sub(1).sign() == -1", "500m", true),
            ("quantity(self).asInteger() == 2048", "2Ki", true),
            ("quantity(self).asApproximateFloat() < 0.6", "500m", true),
            (
                "url(self).getScheme() == 'https'",
                "https://example.com:8443/a/b?q=1",
                true,
            ),
            (
                "url(self).getHost() == 'example.com:8443'",
                "https://example.com:8443/a",
                true,
            ),
            (
                "url(self).getHostname() == 'example.com'",
                "https://example.com:8443/a",
                true,
            ),
            (
                "url(self).getPort() == '8443'",
                "https://example.com:8443/a",
                true,
            ),
            ("url(self).getPort() == ''", "https://example.com/a", true),
            ("url(self).getHostname() == '::1'", "http://[::1]:80/", true),
            (
                "url(self).getHost() == '[::1]:80'",
                "http://[::1]:80/",
                true,
            ),
            (
                "url(self).getEscapedPath() == '/a/b'",
                "https://example.com/a/b?q=1",
                true,
            ),
            (
                "url(self).getEscapedPath() == '/only/path'",
                "/only/path",
                true,
            ),
            (
                "url(self).getScheme() == 'https'",
                "http://example.com",
                false,
            ),
        ];
        for (source, value, ok) in values {
            assert_eq!(passes(source, &s(value)), *ok, "{source} on {value:?}");
        }
        // A value the library cannot read is an evaluation error, as on the server: the
        // rule is not judged here and is named as not evaluated.
        let r = rule("quantity(self).isInteger()");
        assert!(matches!(r.check(&s("lots")), Verdict::Pass));
        assert!(r.skipped.get().is_some());

        // Kubernetes' list functions.
        let ints = |v: &[i64]| list(v.iter().map(|i| Value::Int(*i)).collect());
        for (source, value, ok) in [
            ("self.isSorted()", ints(&[1, 2, 2, 5]), true),
            ("self.isSorted()", ints(&[3, 1]), false),
            ("self.min() == 1 && self.max() == 5", ints(&[3, 1, 5]), true),
            ("self.sum() == 9", ints(&[3, 1, 5]), true),
            ("self.sum() == 0", ints(&[]), true),
            (
                "self.indexOf(5) == 2 && self.lastIndexOf(3) == 3",
                ints(&[3, 1, 5, 3]),
                true,
            ),
            ("self.indexOf(7) == -1", ints(&[3]), true),
            ("self.isSorted()", list(vec![s("a"), s("b"), s("c")]), true),
        ] {
            assert_eq!(passes(source, &value), ok, "{source}");
        }
        // The minimum of nothing is an error on the server too: not judged here.
        let r = rule("self.min() > 0");
        assert!(matches!(r.check(&ints(&[])), Verdict::Pass));
        assert!(r.skipped.get().is_some());

        // cel-go's lists extension, which the same environment has.
        let sorted = rule("self == self.sort() && self.distinct().size() == self.size()");
        assert!(matches!(sorted.check(&ints(&[1, 2, 3])), Verdict::Pass));
        assert!(matches!(sorted.check(&ints(&[2, 1])), Verdict::Fail(_)));
        assert!(matches!(sorted.check(&ints(&[1, 1])), Verdict::Fail(_)));
    }

    #[test]
    fn messages() {
        let r = Rule::compile(
            &json!({"rule": "self > 1", "messageExpression": "'got ' + string(self)"}),
        )
        .expect("rule");
        assert!(matches!(r.check(&Value::Int(0)), Verdict::Fail(m) if m == "got 0"));
        let r = Rule::compile(&json!({"rule": "self > 1"})).expect("rule");
        assert!(
            matches!(r.check(&Value::Int(0)), Verdict::Fail(m) if m == "failed rule: self > 1")
        );
        assert_eq!(
            field_path(".spec.labels['app.kubernetes.io/name']"),
            ["spec", "labels", "app.kubernetes.io/name"]
        );
    }
}
