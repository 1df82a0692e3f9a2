//! Health of live workloads, read from their status the way `kubectl rollout status` and
//! kstatus read it: observed generation, replica counts, conditions. And the images they run.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    /// Rolled out and available.
    Healthy,
    /// A rollout or job is under way (or the controller has not seen the change yet).
    Progressing,
    /// Failed: a deadline exceeded, a failed job, a lost volume.
    Degraded,
    /// Paused or suspended on purpose.
    Suspended,
}

/// A workload's health and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    pub state: State,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

fn health(state: State, message: impl Into<String>) -> Option<Health> {
    Some(Health {
        state,
        message: message.into(),
    })
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_i64()
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn is_true(condition: Option<&Value>) -> bool {
    condition
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

/// True when the controller has not yet seen the latest spec.
fn not_observed(object: &Value) -> bool {
    match (
        int(object, &["metadata", "generation"]),
        int(object, &["status", "observedGeneration"]),
    ) {
        (Some(generation), Some(observed)) => observed < generation,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The health of a workload, or `None` for kinds that have none.
pub fn of(object: &Value) -> Option<Health> {
    let kind = object.get("kind")?.as_str()?;
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" => {
            replicated(kind, object)
        }
        "Job" => job(object),
        "CronJob" => {
            if object.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
                health(State::Suspended, "suspended")
            } else {
                health(State::Healthy, "")
            }
        }
        "PersistentVolumeClaim" => match text(object, &["status", "phase"]) {
            Some("Bound") => health(State::Healthy, ""),
            Some("Lost") => health(State::Degraded, "volume lost"),
            _ => health(State::Progressing, "waiting for a volume"),
        },
        "Pod" => match text(object, &["status", "phase"]) {
            Some("Running") if is_true(condition(object, "Ready")) => health(State::Healthy, ""),
            Some("Succeeded") => health(State::Healthy, "completed"),
            Some("Failed") => health(State::Degraded, "failed"),
            _ => health(State::Progressing, "not ready"),
        },
        _ => None,
    }
}

/// Workloads whose controller reports the spec it has acted on in `observedGeneration`:
/// until it catches up, their replica counts describe the previous spec.
fn replicated(kind: &str, object: &Value) -> Option<Health> {
    if kind == "Deployment" && object.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        return health(State::Suspended, "rollout paused");
    }
    if not_observed(object) {
        return health(
            State::Progressing,
            "waiting for the controller to see the change",
        );
    }
    match kind {
        "Deployment" => deployment(object),
        "StatefulSet" => statefulset(object),
        "DaemonSet" => daemonset(object),
        _ => replicaset(object),
    }
}

fn deployment(d: &Value) -> Option<Health> {
    if let Some(c) = condition(d, "Progressing")
        && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
    {
        return health(State::Degraded, "progress deadline exceeded");
    }
    let wanted = int(d, &["spec", "replicas"]).unwrap_or(1);
    let updated = int(d, &["status", "updatedReplicas"]).unwrap_or(0);
    let total = int(d, &["status", "replicas"]).unwrap_or(0);
    let available = int(d, &["status", "availableReplicas"]).unwrap_or(0);
    if updated < wanted {
        return health(
            State::Progressing,
            format!("{updated} of {wanted} replicas updated"),
        );
    }
    if total > updated {
        return health(
            State::Progressing,
            format!("{} old replicas pending termination", total - updated),
        );
    }
    if available < updated {
        return health(
            State::Progressing,
            format!("{available} of {updated} updated replicas available"),
        );
    }
    health(State::Healthy, format!("{available}/{wanted} available"))
}

fn statefulset(s: &Value) -> Option<Health> {
    let wanted = int(s, &["spec", "replicas"]).unwrap_or(1);
    let ready = int(s, &["status", "readyReplicas"]).unwrap_or(0);
    if ready < wanted {
        return health(
            State::Progressing,
            format!("{ready} of {wanted} replicas ready"),
        );
    }
    let rolling = s
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        != Some("OnDelete");
    let (current, update) = (
        text(s, &["status", "currentRevision"]),
        text(s, &["status", "updateRevision"]),
    );
    if rolling && update.is_some() && current != update {
        let updated = int(s, &["status", "updatedReplicas"]).unwrap_or(0);
        return health(
            State::Progressing,
            format!("{updated} of {wanted} replicas updated"),
        );
    }
    health(State::Healthy, format!("{ready}/{wanted} ready"))
}

fn daemonset(d: &Value) -> Option<Health> {
    let wanted = int(d, &["status", "desiredNumberScheduled"]).unwrap_or(0);
    let updated = int(d, &["status", "updatedNumberScheduled"]).unwrap_or(0);
    let available = int(d, &["status", "numberAvailable"]).unwrap_or(0);
    if updated < wanted {
        return health(
            State::Progressing,
            format!("{updated} of {wanted} pods updated"),
        );
    }
    if available < wanted {
        return health(
            State::Progressing,
            format!("{available} of {wanted} pods available"),
        );
    }
    health(State::Healthy, format!("{available}/{wanted} available"))
}

fn replicaset(r: &Value) -> Option<Health> {
    let wanted = int(r, &["spec", "replicas"]).unwrap_or(1);
    let available = int(r, &["status", "availableReplicas"]).unwrap_or(0);
    if available < wanted {
        return health(
            State::Progressing,
            format!("{available} of {wanted} available"),
        );
    }
    health(State::Healthy, format!("{available}/{wanted} available"))
}

fn job(j: &Value) -> Option<Health> {
    if is_true(condition(j, "Complete")) {
        return health(State::Healthy, "complete");
    }
    if is_true(condition(j, "Failed")) {
        let reason = condition(j, "Failed")
            .and_then(|c| c.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or("failed");
        return health(State::Degraded, reason);
    }
    if j.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return health(State::Suspended, "suspended");
    }
    health(State::Progressing, "running")
}

/// The images a workload runs (init containers first), as written in its pod template.
pub fn images(object: &Value) -> Vec<String> {
    let spec = match object.get("kind").and_then(Value::as_str) {
        Some("Pod") => object.get("spec"),
        Some("CronJob") => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => object.pointer("/spec/template/spec"),
    };
    let Some(spec) = spec else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        for container in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(image) = container.get("image").and_then(Value::as_str)
                && !out.iter().any(|i| i == image)
            {
                out.push(image.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_rollout_states() {
        let fresh =
            json!({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 2}});
        assert_eq!(of(&fresh).expect("health").state, State::Progressing);
        let done = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(
            of(&done).expect("health"),
            Health {
                state: State::Healthy,
                message: "2/2 available".into()
            }
        );
        let stuck = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}});
        assert_eq!(of(&stuck).expect("health").state, State::Degraded);
        let paused = json!({"kind": "Deployment", "spec": {"paused": true}});
        assert_eq!(of(&paused).expect("health").state, State::Suspended);
    }

    #[test]
    fn jobs_and_others() {
        let failed = json!({"kind": "Job", "status": {"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(of(&failed).expect("health").message, "BackoffLimitExceeded");
        assert_eq!(of(&json!({"kind": "ConfigMap"})), None);
    }

    #[test]
    fn images_from_pod_templates() {
        let d = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"image": "busybox"}],
            "containers": [{"image": "nginx:1"}, {"image": "busybox"}]}}}});
        assert_eq!(images(&d), vec!["busybox", "nginx:1"]);
        let c = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"image": "job:2"}]}}}}}});
        assert_eq!(images(&c), vec!["job:2"]);
    }
}
