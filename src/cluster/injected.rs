//! What sidecar injectors add to pods on purpose, so `status` and `diff` do not call it drift:
//! Istio's `istio-proxy`, Linkerd's `linkerd-proxy`, the Vault Agent, Dapr's `daprd`, their
//! init containers, volumes and volume mounts, and the annotations and labels they mark a pod
//! with.
//!
//! The rule is by name, not by field manager. A mutating webhook changes the request it is
//! called on, so `managedFields` credits what it injected to the manager of that request: the
//! controller that applied Git (`kustomize-controller`, `argocd-controller`), or
//! `kube-controller-manager` for the Pods of a ReplicaSet. That is the manager of Git's own
//! fields too, so managers cannot tell them apart (and `live.expectedManagers` cannot help).
//! The names can: each injector's template gives what it adds fixed names (Istio's
//! `injection-template.yaml`, Linkerd's proxy partials, vault-k8s's agent, Dapr's
//! `sidecar_patcher.go`).
//!
//! - A container, init container or volume with an injected name is left out of the live
//!   side only when Git does not declare one of that name: Git's own `istio-proxy` (Istio's way
//!   of overriding the injected proxy's settings) is compared as usual. The same for a volume
//!   mount of an injected volume in an app container (Vault and Dapr mount theirs there).
//! - Annotation and label keys the injectors write are theirs: they are left out on both
//!   sides, since a value in Git is a request to the injector (Vault's
//!   `agent-inject-status: update`) and the value live is its answer (`injected`).
//!
//! Pods are where injectors work; a workload's pod template carries injected fields when a
//! webhook also matches workloads, or when the objects were written back from live pods.
//! `.gitops.yaml` `live.injected` adds names and can turn the known ones off; `--no-ignore`
//! compares everything.

use serde_json::Value;

use crate::config::InjectedConfig;

/// One injector's fixed names.
struct Injector {
    name: &'static str,
    /// Containers and init containers.
    containers: &'static [&'static str],
    volumes: &'static [&'static str],
    annotations: &'static [&'static str],
    labels: &'static [&'static str],
}

const KNOWN: &[Injector] = &[
    Injector {
        name: "Istio",
        containers: &["istio-proxy", "istio-init", "istio-validation"],
        volumes: &[
            "istio-envoy",
            "istio-data",
            "istio-podinfo",
            "istio-token",
            "istiod-ca-cert",
            "istio-certs",
        ],
        annotations: &["sidecar.istio.io/status"],
        labels: &[
            "security.istio.io/tlsMode",
            "service.istio.io/canonical-name",
            "service.istio.io/canonical-revision",
        ],
    },
    Injector {
        name: "Linkerd",
        containers: &["linkerd-proxy", "linkerd-init", "linkerd-network-validator"],
        volumes: &[
            "linkerd-identity-end-entity",
            "linkerd-identity-token",
            "linkerd-proxy-init-xtables-lock",
        ],
        annotations: &[
            "linkerd.io/created-by",
            "linkerd.io/proxy-version",
            "linkerd.io/trust-root-sha256",
            "linkerd.io/identity-mode",
        ],
        labels: &[
            "linkerd.io/control-plane-ns",
            "linkerd.io/proxy-deployment",
            "linkerd.io/workload-ns",
        ],
    },
    Injector {
        name: "the Vault Agent injector",
        containers: &["vault-agent", "vault-agent-init"],
        volumes: &["vault-secrets", "home-init", "home-sidecar"],
        annotations: &["vault.hashicorp.com/agent-inject-status"],
        labels: &[],
    },
    Injector {
        name: "Dapr",
        containers: &["daprd"],
        volumes: &["dapr-identity-token", "dapr-unix-domain-socket"],
        annotations: &[],
        labels: &[
            "dapr.io/sidecar-injected",
            "dapr.io/app-id",
            "dapr.io/metrics-enabled",
        ],
    },
];

/// What `.gitops.yaml` adds is named after where it comes from.
const CONFIGURED: &str = "live.injected";

/// The names in force for one comparison, each with the injector it belongs to.
#[derive(Clone, Debug, Default)]
pub struct Injected {
    containers: Vec<(String, &'static str)>,
    volumes: Vec<(String, &'static str)>,
    annotations: Vec<(String, &'static str)>,
    labels: Vec<(String, &'static str)>,
}

/// Where pod templates sit: a Pod is one itself; workloads (Deployment, StatefulSet,
/// DaemonSet, ReplicaSet, Job, and custom ones like Argo Rollouts) hold one at
/// `spec.template`, a CronJob deeper, a PodTemplate at `template`.
const TEMPLATES: &[&[&str]] = &[
    &["spec", "template"],
    &["spec", "jobTemplate", "spec", "template"],
    &["template"],
];

impl Injected {
    /// The known injectors (unless `defaults: false`) and the configured names.
    pub fn from_config(config: &InjectedConfig) -> Injected {
        let mut injected = Injected::default();
        if config.defaults {
            for i in KNOWN {
                let add = |to: &mut Vec<(String, &'static str)>, names: &[&str]| {
                    to.extend(names.iter().map(|n| (n.to_string(), i.name)));
                };
                add(&mut injected.containers, i.containers);
                add(&mut injected.volumes, i.volumes);
                add(&mut injected.annotations, i.annotations);
                add(&mut injected.labels, i.labels);
            }
        }
        let add = |to: &mut Vec<(String, &'static str)>, names: &[String]| {
            to.extend(names.iter().map(|n| (n.clone(), CONFIGURED)));
        };
        add(&mut injected.containers, &config.containers);
        add(&mut injected.volumes, &config.volumes);
        add(&mut injected.annotations, &config.annotations);
        add(&mut injected.labels, &config.labels);
        injected
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.volumes.is_empty()
            && self.annotations.is_empty()
            && self.labels.is_empty()
    }

    /// Leaves out of `live` (and, for annotation and label keys, of `desired` too) what the
    /// injectors added to its pod templates, and says what: `.spec.template.spec.containers
    /// [name=istio-proxy] (injected by Istio)`.
    pub fn strip(&self, desired: &mut Value, live: &mut Value) -> Vec<String> {
        let mut shown = Vec::new();
        if self.is_empty() {
            return shown;
        }
        let is_pod = live.get("kind").and_then(Value::as_str) == Some("Pod")
            && live.get("apiVersion").and_then(Value::as_str) == Some("v1");
        let pod: &[&str] = &[];
        let places = TEMPLATES
            .iter()
            .copied()
            .chain(is_pod.then_some(pod))
            .collect::<Vec<_>>();
        for place in places {
            let Some(live_template) = at_mut(live, place) else {
                continue;
            };
            let prefix: String = place.iter().map(|p| format!(".{p}")).collect();
            let mut empty = Value::Null;
            let desired_template = at_mut(desired, place).unwrap_or(&mut empty);
            self.strip_template(desired_template, live_template, &prefix, &mut shown);
        }
        shown
    }

    fn strip_template(
        &self,
        desired: &mut Value,
        live: &mut Value,
        prefix: &str,
        shown: &mut Vec<String>,
    ) {
        for (field, keys) in [("annotations", &self.annotations), ("labels", &self.labels)] {
            for (key, by) in keys {
                let mut hit = false;
                for side in [&mut *desired, &mut *live] {
                    if let Some(Value::Object(map)) = at_mut(side, &["metadata", field]) {
                        hit |= map.remove(key).is_some();
                    }
                }
                if hit {
                    shown.push(format!(
                        "{prefix}.metadata.{field}.{key} (injected by {by})"
                    ));
                }
            }
        }
        for side in [&mut *desired, &mut *live] {
            for field in ["annotations", "labels"] {
                drop_if_emptied(side, &["metadata", field]);
            }
        }
        let spec = format!("{prefix}.spec");
        for list in ["containers", "initContainers"] {
            let declared = names(desired.pointer(&format!("/spec/{list}")));
            if let Some(Value::Array(items)) = at_mut(live, &["spec", list]) {
                items.retain(
                    |item| match self.injector(&self.containers, item, &declared) {
                        Some((name, by)) => {
                            shown.push(format!("{spec}.{list}[name={name}] (injected by {by})"));
                            false
                        }
                        None => true,
                    },
                );
                // What an injector mounts into the app's own containers.
                for item in items.iter_mut() {
                    let container = item.get("name").and_then(Value::as_str).unwrap_or("");
                    let theirs = desired
                        .pointer(&format!("/spec/{list}"))
                        .and_then(Value::as_array)
                        .and_then(|c| {
                            c.iter()
                                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
                        })
                        .and_then(|c| c.get("volumeMounts"));
                    let declared = names(theirs);
                    let path = format!("{spec}.{list}[name={container}].volumeMounts");
                    if let Some(Value::Array(mounts)) = item.get_mut("volumeMounts") {
                        mounts.retain(|m| match self.injector(&self.volumes, m, &declared) {
                            Some((name, by)) => {
                                shown.push(format!("{path}[name={name}] (injected by {by})"));
                                false
                            }
                            None => true,
                        });
                    }
                }
            }
        }
        let declared = names(desired.pointer("/spec/volumes"));
        if let Some(Value::Array(volumes)) = at_mut(live, &["spec", "volumes"]) {
            volumes.retain(|v| match self.injector(&self.volumes, v, &declared) {
                Some((name, by)) => {
                    shown.push(format!("{spec}.volumes[name={name}] (injected by {by})"));
                    false
                }
                None => true,
            });
        }
        // A list or map that held only injected entries goes, as it would be absent had
        // nothing been injected (an empty one would still show in a diff).
        for list in ["initContainers", "volumes"] {
            drop_if_emptied(live, &["spec", list]);
        }
        if let Some(Value::Array(containers)) = at_mut(live, &["spec", "containers"]) {
            for c in containers {
                drop_if_emptied(c, &["volumeMounts"]);
            }
        }
    }

    /// The injected name of a live list item and who injects it, when Git does not declare
    /// an item of that name.
    fn injector<'a>(
        &self,
        known: &'a [(String, &'static str)],
        item: &Value,
        declared: &[&str],
    ) -> Option<(&'a str, &'static str)> {
        let name = item.get("name").and_then(Value::as_str)?;
        if declared.contains(&name) {
            return None;
        }
        known
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, by)| (n.as_str(), *by))
    }
}

/// The `name`s of a list's items.
fn names(list: Option<&Value>) -> Vec<&str> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the map or list at `path` when it is empty.
fn drop_if_emptied(value: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if let Some(Value::Object(parent)) = at_mut(value, parents) {
        let empty = match parent.get(*last) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty {
            parent.remove(*last);
        }
    }
}

fn at_mut<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut at = value;
    for key in path {
        at = match at {
            Value::Object(map) => map.get_mut(*key)?,
            _ => return None,
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn injected_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {
                "metadata": {
                    "labels": {"app": "web", "security.istio.io/tlsMode": "istio"},
                    "annotations": {"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}"}
                },
                "spec": {
                    "initContainers": [{"name": "istio-init", "image": "proxyv2"}],
                    "containers": [
                        {"name": "web", "image": "web:1", "volumeMounts": [
                            {"name": "config", "mountPath": "/etc/web"},
                            {"name": "vault-secrets", "mountPath": "/vault/secrets"}]},
                        {"name": "istio-proxy", "image": "proxyv2"}
                    ],
                    "volumes": [{"name": "config"}, {"name": "istio-envoy"}, {"name": "vault-secrets"}]
                }
            }}
        })
    }

    fn git_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "web:1", "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/web"}]}],
                    "volumes": [{"name": "config"}]
                }
            }}
        })
    }

    #[test]
    fn the_known_injectors_additions_are_left_out_of_the_live_side() {
        let injected = Injected::from_config(&InjectedConfig::default());
        let mut git = git_deployment();
        let mut live = injected_deployment();
        let shown = injected.strip(&mut git, &mut live);
        assert_eq!(git, git_deployment(), "Git keeps what it declares");
        assert_eq!(live, git_deployment(), "{shown:?}");
        for field in [
            ".spec.template.spec.containers[name=istio-proxy] (injected by Istio)",
            ".spec.template.spec.initContainers[name=istio-init] (injected by Istio)",
            ".spec.template.spec.volumes[name=istio-envoy] (injected by Istio)",
            ".spec.template.spec.containers[name=web].volumeMounts[name=vault-secrets] (injected by the Vault Agent injector)",
            ".spec.template.metadata.annotations.sidecar.istio.io/status (injected by Istio)",
            ".spec.template.metadata.labels.security.istio.io/tlsMode (injected by Istio)",
        ] {
            assert!(shown.iter().any(|s| s == field), "{field} in {shown:?}");
        }
    }

    #[test]
    fn what_git_declares_itself_is_compared() {
        let injected = Injected::from_config(&InjectedConfig::default());
        let mut git = git_deployment();
        git["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .push(json!({"name": "istio-proxy", "image": "custom"}));
        let mut live = injected_deployment();
        injected.strip(&mut git, &mut live);
        let containers = &live["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[1]["name"], "istio-proxy", "{containers}");
    }

    #[test]
    fn defaults_can_be_turned_off_and_names_added() {
        let none = Injected::from_config(&InjectedConfig {
            defaults: false,
            ..InjectedConfig::default()
        });
        assert!(none.is_empty());
        let mut live = injected_deployment();
        assert!(none.strip(&mut git_deployment(), &mut live).is_empty());
        assert_eq!(live, injected_deployment());

        let own = Injected::from_config(&InjectedConfig {
            defaults: false,
            containers: vec!["otel-agent".into()],
            ..InjectedConfig::default()
        });
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app"}, {"name": "otel-agent"}]}});
        let shown = own.strip(
            &mut json!({"spec": {"containers": [{"name": "app"}]}}),
            &mut pod,
        );
        assert_eq!(
            shown,
            vec![".spec.containers[name=otel-agent] (injected by live.injected)"]
        );
        assert_eq!(pod["spec"]["containers"], json!([{"name": "app"}]));
    }
}
