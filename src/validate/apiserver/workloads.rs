//! Controllers and what scales them: Deployment, ReplicaSet, ReplicationController,
//! StatefulSet, DaemonSet (kubernetes/kubernetes `pkg/apis/apps/validation`), Job and CronJob
//! (`pkg/apis/batch/validation`), HorizontalPodAutoscaler (`pkg/apis/autoscaling/validation`)
//! and PodDisruptionBudget (`pkg/apis/policy/validation`).

use std::path::Path;

use super::pod;
use super::{IntOrPercent, Out, count_or_percent, int_field, seq};
use crate::manifest::yaml::Node;

const ALWAYS: &[&str] = &["Always"];

pub fn deployment(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    replicated(spec, out);
    out.non_negative(spec, "revisionHistoryLimit", "spec");
    out.non_negative(spec, "progressDeadlineSeconds", "spec");
    if let (Some((node, deadline)), Some((_, min_ready))) = (
        int_field(spec, "progressDeadlineSeconds"),
        int_field(spec, "minReadySeconds"),
    ) && deadline <= min_ready
    {
        out.invalid(
            node,
            "spec.progressDeadlineSeconds",
            "must be greater than minReadySeconds",
        );
    }
    if let Some(strategy) = spec.get("strategy") {
        out.one_of(
            strategy,
            "type",
            "spec.strategy",
            &["Recreate", "RollingUpdate"],
        );
        let rolling = strategy.get("rollingUpdate").filter(|r| !r.is_null());
        match (strategy.get("type").and_then(Node::as_str), rolling) {
            (Some("Recreate"), Some(r)) => out.forbidden(
                r,
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            ),
            (_, Some(r)) => rolling_update(r, "spec.strategy.rollingUpdate", false, false, out),
            _ => {}
        }
    }
    if let Some(t) = spec.get("template") {
        pod::template(t, "spec.template", ALWAYS, &[], out);
    }
}

pub fn replica_set(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    replicated(spec, out);
    if let Some(t) = spec.get("template") {
        pod::template(t, "spec.template", ALWAYS, &[], out);
    }
}

pub fn replication_controller(obj: &Node, out: &mut Out) {
    replica_set(obj, out);
    if let Some(deadline) = obj
        .path(&["spec", "template", "spec", "activeDeadlineSeconds"])
        .filter(|d| !d.is_null())
    {
        out.forbidden(
            deadline,
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicationController is not Supported",
        );
    }
}

pub fn stateful_set(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    replicated(spec, out);
    out.non_negative(spec, "revisionHistoryLimit", "spec");
    out.one_of(
        spec,
        "podManagementPolicy",
        "spec",
        &["OrderedReady", "Parallel"],
    );
    if let Some(strategy) = spec.get("updateStrategy") {
        let path = "spec.updateStrategy";
        out.one_of(strategy, "type", path, &["RollingUpdate", "OnDelete"]);
        let rolling = strategy.get("rollingUpdate").filter(|r| !r.is_null());
        match (strategy.get("type").and_then(Node::as_str), rolling) {
            (Some("OnDelete"), Some(r)) => out.invalid(
                r,
                "spec.updateStrategy.rollingUpdate",
                "only allowed for updateStrategy 'RollingUpdate'",
            ),
            (_, Some(r)) => out.non_negative(r, "partition", "spec.updateStrategy.rollingUpdate"),
            _ => {}
        }
    }
    if let Some(policy) = spec.get("persistentVolumeClaimRetentionPolicy") {
        for key in ["whenDeleted", "whenScaled"] {
            out.one_of(
                policy,
                key,
                "spec.persistentVolumeClaimRetentionPolicy",
                &["Retain", "Delete"],
            );
        }
    }
    if let Some(ordinals) = spec.get("ordinals") {
        out.non_negative(ordinals, "start", "spec.ordinals");
    }
    let claims: Vec<&str> = seq(spec, "volumeClaimTemplates")
        .iter()
        .filter_map(|c| c.path(&["metadata", "name"]).and_then(Node::as_str))
        .collect();
    if let Some(t) = spec.get("template") {
        pod::template(t, "spec.template", ALWAYS, &claims, out);
    }
}

pub fn daemon_set(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    out.non_negative(spec, "minReadySeconds", "spec");
    out.non_negative(spec, "revisionHistoryLimit", "spec");
    if let Some(strategy) = spec.get("updateStrategy") {
        let path = "spec.updateStrategy";
        out.one_of(strategy, "type", path, &["RollingUpdate", "OnDelete"]);
        if let Some(r) = strategy.get("rollingUpdate").filter(|r| !r.is_null())
            && strategy.get("type").and_then(Node::as_str) != Some("OnDelete")
        {
            // A DaemonSet surges no pods unless asked to, and takes one down at a time.
            rolling_update(r, "spec.updateStrategy.rollingUpdate", true, false, out);
        }
    }
    if let Some(t) = spec.get("template") {
        pod::template(t, "spec.template", ALWAYS, &[], out);
    }
}

/// Fields every replicated controller shares.
fn replicated(spec: &Node, out: &mut Out) {
    out.non_negative(spec, "replicas", "spec");
    out.non_negative(spec, "minReadySeconds", "spec");
}

/// `maxSurge`/`maxUnavailable` of a rolling update. What an omitted one defaults to (25% each
/// for a Deployment; no surge and one unavailable for a DaemonSet) takes part in the "not
/// both zero" rule.
fn rolling_update(
    r: &Node,
    path: &str,
    surge_defaults_to_zero: bool,
    unavailable_defaults_to_zero: bool,
    out: &mut Out,
) {
    let surge = r
        .get("maxSurge")
        .filter(|n| !n.is_null())
        .map(|n| count_or_percent(out, n, &format!("{path}.maxSurge")));
    let unavailable_node = r.get("maxUnavailable").filter(|n| !n.is_null());
    let unavailable =
        unavailable_node.map(|n| count_or_percent(out, n, &format!("{path}.maxUnavailable")));
    if let (Some(node), Some(Some(IntOrPercent::Percent(p)))) = (unavailable_node, unavailable)
        && p > 100
    {
        out.invalid(
            node,
            &format!("{path}.maxUnavailable"),
            "must not be greater than 100%",
        );
    }
    let surge_zero = match surge {
        Some(Some(v)) => v.is_zero(),
        Some(None) => false,
        None => surge_defaults_to_zero,
    };
    let unavailable_zero = match unavailable {
        Some(Some(v)) => v.is_zero(),
        Some(None) => false,
        None => unavailable_defaults_to_zero,
    };
    if surge_zero && unavailable_zero {
        out.invalid(
            unavailable_node.unwrap_or(r),
            &format!("{path}.maxUnavailable"),
            "may not be 0 when `maxSurge` is 0",
        );
    }
}

pub fn job(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    // The server generates the selector from the Job's uid; one written by hand only stands
    // with `manualSelector: true`.
    if let Some(selector) = spec.get("selector").filter(|s| !s.is_null())
        && spec.get("manualSelector").and_then(Node::scalar_text) != Some("true")
    {
        out.invalid(selector, "spec.selector", "`selector` not auto-generated");
    }
    job_spec(spec, "spec", out);
}

fn job_spec(spec: &Node, path: &str, out: &mut Out) {
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        out.non_negative(spec, key, path);
    }
    out.one_of(spec, "completionMode", path, &["NonIndexed", "Indexed"]);
    let indexed = spec.get("completionMode").and_then(Node::as_str) == Some("Indexed");
    if indexed && spec.get("completions").is_none_or(Node::is_null) {
        out.required(
            spec,
            &format!("{path}.completions"),
            "when completion mode is Indexed",
        );
    }
    if !indexed {
        for key in ["backoffLimitPerIndex", "maxFailedIndexes", "successPolicy"] {
            if let Some(node) = spec.get(key).filter(|n| !n.is_null()) {
                out.invalid(
                    node,
                    &format!("{path}.{key}"),
                    "requires indexed completion mode",
                );
            }
        }
    }
    if spec.get("maxFailedIndexes").is_some_and(|n| !n.is_null())
        && spec.get("backoffLimitPerIndex").is_none_or(Node::is_null)
    {
        out.required(
            spec,
            &format!("{path}.backoffLimitPerIndex"),
            "when maxFailedIndexes is specified",
        );
    }
    out.one_of(
        spec,
        "podReplacementPolicy",
        path,
        &["Failed", "TerminatingOrFailed"],
    );
    let Some(template) = spec.get("template") else {
        return;
    };
    let template_path = format!("{path}.template");
    pod::template_spec(template, &template_path, &[], out);
    // An omitted policy is defaulted to Always, which a Job's pods may not have.
    let policy_path = format!("{template_path}.spec.restartPolicy");
    let Some(pod_spec) = template.get("spec") else {
        return;
    };
    match pod_spec.get("restartPolicy").and_then(Node::as_str) {
        None | Some("" | "Always") => out.required(
            pod_spec.get("restartPolicy").unwrap_or(pod_spec),
            &policy_path,
            "valid values: \"OnFailure\", \"Never\"",
        ),
        Some("OnFailure") if spec.get("podFailurePolicy").is_some_and(|p| !p.is_null()) => out
            .invalid(
                pod_spec.get("restartPolicy").expect("matched a value"),
                &policy_path,
                "only \"Never\" is supported when podFailurePolicy is specified",
            ),
        _ => {}
    }
}

pub fn cron_job(obj: &Node, out: &mut Out) {
    if let Some(name) = obj.path(&["metadata", "name"])
        && let Some(text) = name.as_str()
        && text.len() > 52
    {
        // The controller appends an 11-character suffix to name each Job.
        out.invalid(name, "metadata.name", "must be no more than 52 characters");
    }
    let Some(spec) = obj.get("spec") else { return };
    if let Some(schedule) = spec.get("schedule")
        && let Some(text) = schedule.as_str()
    {
        if text.is_empty() {
            out.required(schedule, "spec.schedule", "");
        } else if let Err(why) = parse_schedule(text) {
            out.invalid(schedule, "spec.schedule", &why);
        } else if text.contains("TZ") {
            out.invalid(
                schedule,
                "spec.schedule",
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            );
        }
    }
    if let Some(tz) = spec.get("timeZone")
        && let Some(text) = tz.as_str()
        && let Err(why) = time_zone(text)
    {
        out.invalid(tz, "spec.timeZone", &why);
    }
    out.non_negative(spec, "startingDeadlineSeconds", "spec");
    out.non_negative(spec, "successfulJobsHistoryLimit", "spec");
    out.non_negative(spec, "failedJobsHistoryLimit", "spec");
    out.one_of(
        spec,
        "concurrencyPolicy",
        "spec",
        &["Allow", "Forbid", "Replace"],
    );
    if let Some(job) = spec.path(&["jobTemplate", "spec"]) {
        let path = "spec.jobTemplate.spec";
        if let Some(selector) = job.get("selector").filter(|s| !s.is_null()) {
            out.invalid(
                selector,
                "spec.jobTemplate.spec.selector",
                "`selector` will be auto-generated",
            );
        }
        if let Some(manual) = job.get("manualSelector")
            && manual.scalar_text() == Some("true")
        {
            out.unsupported(
                manual,
                "spec.jobTemplate.spec.manualSelector",
                &["nil", "false"],
            );
        }
        job_spec(job, path, out);
    }
}

/// The five-field cron syntax (or an `@` descriptor) the CronJob controller parses, with the
/// field ranges and names it accepts (robfig/cron's standard parser).
fn parse_schedule(schedule: &str) -> Result<(), String> {
    if let Some(descriptor) = schedule.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d if d.starts_with("every ") && is_duration(d["every ".len()..].trim()) => Ok(()),
            d if d.starts_with("every ") => Err(format!(
                "failed to parse duration {}",
                schedule.trim_start_matches("@every ")
            )),
            _ => Err(format!("unrecognized descriptor: {schedule}")),
        };
    }
    // A TZ= prefix is parsed, then refused by the caller.
    let body = match schedule.split_once(' ') {
        Some((tz, rest)) if tz.starts_with("TZ=") || tz.starts_with("CRON_TZ=") => rest,
        _ => schedule,
    };
    let fields: Vec<&str> = body.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {body}",
            fields.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(u32, u32, &[&str]); 5] = [
        (0, 59, &[]),
        (0, 23, &[]),
        (1, 31, &[]),
        (1, 12, MONTHS),
        (0, 6, DAYS),
    ];
    for (field, (min, max, names)) in fields.iter().zip(bounds) {
        for part in field.split(',') {
            cron_range(part, min, max, names)?;
        }
    }
    Ok(())
}

fn cron_range(part: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    let value = |text: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            // Months are numbered from 1, weekdays from 0.
            return Ok(i as u32 + min);
        }
        text.parse::<u32>()
            .map_err(|_| format!("failed to parse int from {text}"))
    };
    let (start, end) = if range == "*" || range == "?" {
        (min, max)
    } else {
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (value(a)?, value(b)?),
            None => {
                let a = value(range)?;
                (a, if step.is_some() { max } else { a })
            }
        };
        (a, b)
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {part}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {part}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {part}"
        ));
    }
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(0) => return Err(format!("step of range should be a positive number: {part}")),
            Ok(_) => {}
            Err(_) => return Err(format!("failed to parse int from {step}")),
        }
    }
    Ok(())
}

/// A Go duration (`1h30m`, `90s`, `1.5h`).
fn is_duration(text: &str) -> bool {
    static R: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    super::re(&R, r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$")
        .is_match(text)
}

/// Where the IANA time zone database lives on most systems; the server has its own copy.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// A CronJob time zone: an IANA name. Names are checked against the system's zone database
/// when it has one; without it only their form is.
fn time_zone(tz: &str) -> Result<(), String> {
    if tz.is_empty() {
        return Err("timeZone must be nil or non-empty string".into());
    }
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 14
            && p != "."
            && p != ".."
            && !p.starts_with('-')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    };
    if !tz.split('/').all(part_ok) {
        return Err(format!("unknown time zone {tz}"));
    }
    if tz.eq_ignore_ascii_case("Local") {
        return Err(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .into(),
        );
    }
    let db = Path::new(ZONEINFO);
    if db.is_dir() && tz != "UTC" && !db.join(tz).is_file() {
        return Err(format!("unknown time zone {tz}"));
    }
    Ok(())
}

pub fn hpa(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    let min = int_field(spec, "minReplicas");
    if let Some((node, v)) = min
        && v < 1
    {
        out.invalid(
            node,
            "spec.minReplicas",
            "must be greater than or equal to 1",
        );
    }
    if let Some((node, max)) = int_field(spec, "maxReplicas") {
        if max < 1 {
            out.invalid(node, "spec.maxReplicas", "must be greater than 0");
        } else if min.is_some_and(|(_, m)| max < m) {
            out.invalid(
                node,
                "spec.maxReplicas",
                "must be greater than or equal to `minReplicas`",
            );
        }
    }
    if let Some((node, v)) = int_field(spec, "targetCPUUtilizationPercentage")
        && v < 1
    {
        out.invalid(
            node,
            "spec.targetCPUUtilizationPercentage",
            "must be greater than or equal to 1",
        );
    }
    for (i, metric) in seq(spec, "metrics").iter().enumerate() {
        let path = format!("spec.metrics[{i}]");
        out.one_of(
            metric,
            "type",
            &path,
            &[
                "ContainerResource",
                "External",
                "Object",
                "Pods",
                "Resource",
            ],
        );
        for source in [
            "resource",
            "containerResource",
            "pods",
            "object",
            "external",
        ] {
            let Some(target) = metric.path(&[source, "target"]) else {
                continue;
            };
            let target_path = format!("{path}.{source}.target");
            out.one_of(
                target,
                "type",
                &target_path,
                &["AverageValue", "Utilization", "Value"],
            );
            if let Some((node, v)) = int_field(target, "averageUtilization")
                && v <= 0
            {
                out.invalid(
                    node,
                    &format!("{target_path}.averageUtilization"),
                    "must be greater than 0",
                );
            }
        }
    }
    if let Some(behavior) = spec.get("behavior") {
        for direction in ["scaleUp", "scaleDown"] {
            let Some(rules) = behavior.get(direction) else {
                continue;
            };
            let path = format!("spec.behavior.{direction}");
            out.one_of(rules, "selectPolicy", &path, &["Disabled", "Max", "Min"]);
            if let Some((node, v)) = int_field(rules, "stabilizationWindowSeconds")
                && !(0..=3600).contains(&v)
            {
                out.invalid(
                    node,
                    &format!("{path}.stabilizationWindowSeconds"),
                    "must be less than or equal to 3600",
                );
            }
            for (i, policy) in seq(rules, "policies").iter().enumerate() {
                let policy_path = format!("{path}.policies[{i}]");
                out.one_of(policy, "type", &policy_path, &["Percent", "Pods"]);
                if let Some((node, v)) = int_field(policy, "value")
                    && v <= 0
                {
                    out.invalid(
                        node,
                        &format!("{policy_path}.value"),
                        "must be greater than zero",
                    );
                }
                if let Some((node, v)) = int_field(policy, "periodSeconds")
                    && !(1..=1800).contains(&v)
                {
                    let why = if v <= 0 {
                        "must be greater than zero"
                    } else {
                        "must be less than or equal to 1800"
                    };
                    out.invalid(node, &format!("{policy_path}.periodSeconds"), why);
                }
            }
        }
    }
}

pub fn pdb(obj: &Node, out: &mut Out) {
    let Some(spec) = obj.get("spec") else { return };
    let min = spec.get("minAvailable").filter(|n| !n.is_null());
    let max = spec.get("maxUnavailable").filter(|n| !n.is_null());
    if min.is_some() && max.is_some() {
        out.push(
            spec,
            "spec",
            "Invalid value: \"\": minAvailable and maxUnavailable cannot be both set".into(),
        );
    }
    for (key, node) in [("minAvailable", min), ("maxUnavailable", max)] {
        let Some(node) = node else { continue };
        let path = format!("spec.{key}");
        if let Some(IntOrPercent::Percent(p)) = count_or_percent(out, node, &path)
            && p > 100
        {
            out.invalid(node, &path, "must not be greater than 100%");
        }
    }
    out.one_of(
        spec,
        "unhealthyPodEvictionPolicy",
        "spec",
        &["AlwaysAllow", "IfHealthyBudget"],
    );
    if let Some(selector) = spec.get("selector") {
        out.label_selector(selector, "spec.selector");
    }
}
