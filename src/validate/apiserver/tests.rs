//! One rejected case per rule, each beside an accepted neighbour that differs only in the
//! value under test, so a rule that starts rejecting valid objects fails here too.

use super::check;
use crate::manifest::yaml::parse_stream;

/// The findings for one object written as YAML: (field, message, line).
fn findings(yaml: &str) -> Vec<(String, String, u32)> {
    let stream = parse_stream(yaml);
    assert!(
        stream.error.is_none(),
        "test YAML parses: {:?}",
        stream.error
    );
    let root = stream.documents[0].root.clone().expect("one document");
    let kind = root
        .get("kind")
        .and_then(|k| k.as_str())
        .expect("a kind")
        .to_string();
    let mut out = Vec::new();
    check(&root, &kind, &mut out);
    out.into_iter()
        .map(|f| (f.field, f.message, f.node_line))
        .collect()
}

/// `bad` is rejected with a finding at `field` whose message contains `says`; `good` is not.
#[track_caller]
fn case(bad: &str, field: &str, says: &str, good: &str) {
    let found = findings(bad);
    assert!(
        found.iter().any(|(f, m, _)| f == field && m.contains(says)),
        "expected {field}: ...{says}... in {found:#?}"
    );
    let clean = findings(good);
    assert!(clean.is_empty(), "expected no findings, got {clean:#?}");
}

fn deployment(pod_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n{pod_spec}"
    )
}

/// A pod spec (indented for [`deployment`]) with one container holding `container` fields.
fn containers(container: &str) -> String {
    format!("      containers:\n      - name: web\n        image: nginx:1.27\n{container}")
}

fn dep(container: &str) -> String {
    deployment(&containers(container))
}

#[test]
fn enums_use_the_servers_words() {
    case(
        &dep("        imagePullPolicy: Sometimes\n"),
        "spec.template.spec.containers[0].imagePullPolicy",
        r#"Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never""#,
        &dep("        imagePullPolicy: IfNotPresent\n"),
    );
    // Empty strings are defaulted like omitted fields.
    assert!(
        findings(&dep(
            "        imagePullPolicy: \"\"\n        ports: [{containerPort: 80, protocol: \"\"}]\n"
        ))
        .is_empty()
    );
    case(
        &dep("        terminationMessagePolicy: Always\n"),
        "spec.template.spec.containers[0].terminationMessagePolicy",
        "Unsupported value",
        &dep("        terminationMessagePolicy: FallbackToLogsOnError\n"),
    );
    case(
        &deployment(&format!("{}      dnsPolicy: Cluster\n", containers(""))),
        "spec.template.spec.dnsPolicy",
        "Unsupported value",
        &deployment(&format!(
            "{}      dnsPolicy: ClusterFirst\n",
            containers("")
        )),
    );
}

#[test]
fn the_finding_points_at_the_offending_line() {
    let found = findings(&dep("        imagePullPolicy: Sometimes\n"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].2, 12, "imagePullPolicy is on line 12: {found:?}");
}

#[test]
fn controllers_restart_their_pods_always() {
    case(
        &deployment(&format!("{}      restartPolicy: Never\n", containers(""))),
        "spec.template.spec.restartPolicy",
        r#"Unsupported value: "Never": supported values: "Always""#,
        &deployment(&format!("{}      restartPolicy: Always\n", containers(""))),
    );
}

fn job(restart: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n{extra_spec}  template:\n    spec:\n{restart}      containers: [{{name: c, image: busybox}}]\n"
    )
}

#[test]
fn jobs_restart_on_failure_or_never() {
    case(
        &job("", ""),
        "spec.template.spec.restartPolicy",
        r#"Required value: valid values: "OnFailure", "Never""#,
        &job("      restartPolicy: OnFailure\n", ""),
    );
    case(
        &job("      restartPolicy: Always\n", ""),
        "spec.template.spec.restartPolicy",
        "Required value",
        &job("      restartPolicy: Never\n", ""),
    );
    case(
        &job(
            "      restartPolicy: OnFailure\n",
            "  podFailurePolicy: {rules: []}\n",
        ),
        "spec.template.spec.restartPolicy",
        "only \"Never\" is supported",
        &job(
            "      restartPolicy: Never\n",
            "  podFailurePolicy: {rules: []}\n",
        ),
    );
}

#[test]
fn jobs_fields() {
    let never = "      restartPolicy: Never\n";
    case(
        &job(never, "  backoffLimit: -1\n"),
        "spec.backoffLimit",
        "must be greater than or equal to 0",
        &job(never, "  backoffLimit: 0\n"),
    );
    case(
        &job(never, "  completionMode: Indexed\n"),
        "spec.completions",
        "Required value: when completion mode is Indexed",
        &job(never, "  completionMode: Indexed\n  completions: 3\n"),
    );
    case(
        &job(never, "  selector: {matchLabels: {a: b}}\n"),
        "spec.selector",
        "`selector` not auto-generated",
        &job(
            never,
            "  selector: {matchLabels: {a: b}}\n  manualSelector: true\n",
        ),
    );
}

#[test]
fn containers_need_an_image() {
    case(
        &deployment("      containers:\n      - name: web\n"),
        "spec.template.spec.containers[0].image",
        "Required value",
        &dep(""),
    );
    // Init containers too.
    case(
        &deployment(&format!(
            "{}      initContainers: [{{name: init}}]\n",
            containers("")
        )),
        "spec.template.spec.initContainers[0].image",
        "Required value",
        &deployment(&format!(
            "{}      initContainers: [{{name: init, image: busybox}}]\n",
            containers("")
        )),
    );
}

#[test]
fn container_names_are_unique_across_init_and_regular_containers() {
    case(
        &deployment(&format!(
            "{}      initContainers: [{{name: web, image: busybox}}]\n",
            containers("")
        )),
        "spec.template.spec.initContainers[0].name",
        r#"Duplicate value: "web""#,
        &deployment(&format!(
            "{}      initContainers: [{{name: init, image: busybox}}]\n",
            containers("")
        )),
    );
}

#[test]
fn ports() {
    case(
        &dep("        ports: [{containerPort: 70000}]\n"),
        "spec.template.spec.containers[0].ports[0].containerPort",
        "Invalid value: 70000: must be between 1 and 65535, inclusive",
        &dep("        ports: [{containerPort: 65535}]\n"),
    );
    case(
        &dep("        ports: [{containerPort: 80, name: a-very-long-port-name}]\n"),
        "spec.template.spec.containers[0].ports[0].name",
        "must be no more than 15 characters",
        &dep("        ports: [{containerPort: 80, name: abcdefghijklmno}]\n"),
    );
    case(
        &dep("        ports: [{containerPort: 80, name: \"8080\"}]\n"),
        "spec.template.spec.containers[0].ports[0].name",
        "at least one letter",
        &dep("        ports: [{containerPort: 80, name: http-8080}]\n"),
    );
    case(
        &dep("        ports: [{containerPort: 80, name: http}, {containerPort: 81, name: http}]\n"),
        "spec.template.spec.containers[0].ports[1].name",
        "Duplicate value",
        &dep(
            "        ports: [{containerPort: 80, name: http}, {containerPort: 81, name: admin}]\n",
        ),
    );
    case(
        &dep("        ports: [{containerPort: 80, protocol: HTTP}]\n"),
        "spec.template.spec.containers[0].ports[0].protocol",
        "Unsupported value: \"HTTP\"",
        &dep("        ports: [{containerPort: 80, protocol: UDP}]\n"),
    );
    case(
        &dep("        ports: [{containerPort: 80, hostPort: 70000}]\n"),
        "spec.template.spec.containers[0].ports[0].hostPort",
        "must be between 1 and 65535",
        &dep("        ports: [{containerPort: 80, hostPort: 8080}]\n"),
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    case(
        &dep("        resources: {requests: {cpu: 2}, limits: {cpu: 1}}\n"),
        "spec.template.spec.containers[0].resources.requests",
        "must be less than or equal to cpu limit of 1",
        &dep("        resources: {requests: {cpu: 1000m}, limits: {cpu: 1}}\n"),
    );
    case(
        &dep("        resources: {requests: {memory: 1Gi}, limits: {memory: 128Mi}}\n"),
        "spec.template.spec.containers[0].resources.requests",
        "memory limit",
        &dep("        resources: {requests: {memory: 128M}, limits: {memory: 128Mi}}\n"),
    );
    case(
        &dep("        resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}\n"),
        "spec.template.spec.containers[0].resources.requests",
        "must be equal to nvidia.com/gpu limit",
        &dep("        resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 1}}\n"),
    );
    case(
        &dep("        resources: {limits: {gpu: 1}}\n"),
        "spec.template.spec.containers[0].resources.limits[gpu]",
        "must be a standard resource for containers",
        &dep("        resources: {limits: {ephemeral-storage: 1Gi}}\n"),
    );
    case(
        &dep("        resources: {requests: {cpu: \"-1\"}}\n"),
        "spec.template.spec.containers[0].resources.requests[cpu]",
        "must be greater than or equal to 0",
        &dep("        resources: {requests: {cpu: \"0\"}}\n"),
    );
}

#[test]
fn env_vars() {
    case(
        &dep(
            "        env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n",
        ),
        "spec.template.spec.containers[0].env[0].valueFrom",
        "may not be specified when `value` is not empty",
        &dep(
            "        env: [{name: A, value: \"\", valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n",
        ),
    );
    case(
        &dep("        env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.phase}}}]\n"),
        "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
        "Unsupported value: \"status.phase\"",
        &dep(
            "        env: [{name: A, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}]\n",
        ),
    );
    case(
        &dep("        env: [{name: \"A=B\", value: x}]\n"),
        "spec.template.spec.containers[0].env[0].name",
        "printable ASCII characters other than '='",
        // The relaxed rule (GA in 1.34) allows dots, dashes and spaces.
        &dep("        env: [{name: \"my.var-1 x\", value: x}, {name: my.var-1 x, value: y}]\n"),
    );
    case(
        &dep("        envFrom: [{prefix: X_}]\n"),
        "spec.template.spec.containers[0].envFrom",
        "must specify one of: `configMapRef` or `secretRef`",
        &dep("        envFrom: [{prefix: X_, configMapRef: {name: c}}]\n"),
    );
    case(
        &dep("        env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: bad key}}}]\n"),
        "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
        "a valid config key",
        &dep("        env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: good.key}}}]\n"),
    );
}

#[test]
fn volumes_and_mounts() {
    let with_volume = |mount: &str, volumes: &str| {
        deployment(&format!(
            "{}      volumes: {volumes}\n",
            containers(&format!("        volumeMounts: {mount}\n"))
        ))
    };
    case(
        &with_volume(
            "[{name: nope, mountPath: /d}]",
            "[{name: data, emptyDir: {}}]",
        ),
        "spec.template.spec.containers[0].volumeMounts[0].name",
        "Not found: \"nope\"",
        &with_volume(
            "[{name: data, mountPath: /d}]",
            "[{name: data, emptyDir: {}}]",
        ),
    );
    case(
        &with_volume(
            "[{name: data, mountPath: /d}]",
            "[{name: data, emptyDir: {}}, {name: data, emptyDir: {}}]",
        ),
        "spec.template.spec.volumes[1].name",
        "Duplicate value",
        &with_volume(
            "[{name: data, mountPath: /d}]",
            "[{name: data, emptyDir: {}}, {name: other, emptyDir: {}}]",
        ),
    );
    case(
        &with_volume(
            "[{name: data, mountPath: /d}, {name: data, mountPath: /d}]",
            "[{name: data, emptyDir: {}}]",
        ),
        "spec.template.spec.containers[0].volumeMounts[1].mountPath",
        "must be unique",
        &with_volume(
            "[{name: data, mountPath: /d}, {name: data, mountPath: /e}]",
            "[{name: data, emptyDir: {}}]",
        ),
    );
    case(
        &with_volume(
            "[{name: data, mountPath: /d, subPath: a/../b}]",
            "[{name: data, emptyDir: {}}]",
        ),
        "spec.template.spec.containers[0].volumeMounts.subPath",
        "must not contain '..'",
        &with_volume(
            "[{name: data, mountPath: /d, subPath: a/b..c}]",
            "[{name: data, emptyDir: {}}]",
        ),
    );
    case(
        &with_volume(
            "[{name: data, mountPath: /d}]",
            "[{name: data, emptyDir: {}, hostPath: {path: /tmp}}]",
        ),
        "spec.template.spec.volumes[0].hostPath",
        "may not specify more than 1 volume type",
        &with_volume(
            "[{name: data, mountPath: /d}]",
            "[{name: data, hostPath: {path: /tmp}}]",
        ),
    );
}

#[test]
fn volume_sources() {
    let with = |volume: &str| {
        deployment(&format!(
            "{}      volumes: [{{name: v, {volume}}}]\n",
            containers("")
        ))
    };
    case(
        &with("secret: {secretName: s, defaultMode: 644}"),
        "spec.template.spec.volumes[0].secret.defaultMode",
        "must be a number between 0 and 0777 (octal), both inclusive",
        // YAML 1.1 reads 0644 as octal, which is what Kubernetes sees.
        &with("secret: {secretName: s, defaultMode: 0644}"),
    );
    case(
        &with("configMap: {defaultMode: 420}"),
        "spec.template.spec.volumes[0].configMap.name",
        "Required value",
        &with("configMap: {name: c, defaultMode: 420}"),
    );
    case(
        &with("configMap: {name: c, items: [{key: a, path: ../a}]}"),
        "spec.template.spec.volumes[0].configMap.items[0].path",
        "must not contain '..'",
        &with("configMap: {name: c, items: [{key: a, path: conf/a..b}]}"),
    );
    case(
        &with("projected: {sources: [{secret: {name: s, items: [{key: a, path: /a}]}}]}"),
        "spec.template.spec.volumes[0].projected.sources[0].secret.items[0].path",
        "must be a relative path",
        &with(
            "projected: {sources: [{secret: {name: s, items: [{key: a, path: a, mode: 0400}]}}]}",
        ),
    );
    case(
        &with("hostPath: {path: /var/run, type: Dir}"),
        "spec.template.spec.volumes[0].hostPath.type",
        "Unsupported value",
        &with("hostPath: {path: /var/run, type: DirectoryOrCreate}"),
    );
    let mounting = |privileged: &str| {
        deployment(&format!(
            "{}      volumes: [{{name: v, emptyDir: {{}}}}]\n",
            containers(&format!(
                "        securityContext: {{privileged: {privileged}}}\n        volumeMounts: [{{name: v, mountPath: /v, mountPropagation: Bidirectional}}]\n"
            ))
        ))
    };
    case(
        &mounting("false"),
        "spec.template.spec.containers[0].volumeMounts[0].mountPropagation",
        "available only to privileged containers",
        &mounting("true"),
    );
}

#[test]
fn probes() {
    case(
        &dep("        livenessProbe: {httpGet: {path: /, port: 80}, periodSeconds: -1}\n"),
        "spec.template.spec.containers[0].livenessProbe.periodSeconds",
        "must be greater than or equal to 0",
        // Zero is defaulted to 10.
        &dep("        livenessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 0}\n"),
    );
    case(
        &dep("        livenessProbe: {httpGet: {path: /, port: 80}, successThreshold: 2}\n"),
        "spec.template.spec.containers[0].livenessProbe.successThreshold",
        "must be 1",
        &dep("        readinessProbe: {httpGet: {path: /, port: 80}, successThreshold: 2}\n"),
    );
    case(
        &dep("        livenessProbe: {periodSeconds: 5}\n"),
        "spec.template.spec.containers[0].livenessProbe",
        "must specify a handler type",
        &dep("        livenessProbe: {periodSeconds: 5, exec: {command: [\"true\"]}}\n"),
    );
    case(
        &dep("        livenessProbe: {httpGet: {port: 80}, tcpSocket: {port: 80}}\n"),
        "spec.template.spec.containers[0].livenessProbe.tcpSocket",
        "may not specify more than 1 handler type",
        &dep("        livenessProbe: {tcpSocket: {port: http}}\n"),
    );
    case(
        &dep("        readinessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 5}\n"),
        "spec.template.spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
        "must not be set for readinessProbes",
        &dep("        livenessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 5}\n"),
    );
    case(
        &deployment(&format!(
            "{}      initContainers: [{{name: i, image: busybox, readinessProbe: {{exec: {{command: [\"true\"]}}}}}}]\n",
            containers("")
        )),
        "spec.template.spec.initContainers[0].readinessProbe",
        "may not be set for init containers without restartPolicy=Always",
        // A sidecar (an init container that restarts) may have probes.
        &deployment(&format!(
            "{}      initContainers: [{{name: i, image: busybox, restartPolicy: Always, readinessProbe: {{exec: {{command: [\"true\"]}}}}}}]\n",
            containers("")
        )),
    );
}

#[test]
fn pod_spec_fields() {
    let spec = |extra: &str| deployment(&format!("{}{extra}", containers("")));
    case(
        &spec("      tolerations: [{key: k, operator: Exists, value: v}]\n"),
        "spec.template.spec.tolerations[0].operator",
        "value must be empty when `operator` is 'Exists'",
        &spec("      tolerations: [{key: k, operator: Exists}]\n"),
    );
    case(
        &spec(
            "      tolerations: [{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]\n",
        ),
        "spec.template.spec.tolerations[0].effect",
        "effect must be 'NoExecute'",
        &spec(
            "      tolerations: [{key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 5}]\n",
        ),
    );
    case(
        &spec("      serviceAccountName: Bad_SA\n"),
        "spec.template.spec.serviceAccountName",
        "RFC 1123 subdomain",
        &spec("      serviceAccountName: good-sa\n"),
    );
    case(
        &spec("      dnsPolicy: None\n"),
        "spec.template.spec.dnsConfig",
        "must provide `dnsConfig`",
        &spec("      dnsPolicy: None\n      dnsConfig: {nameservers: [1.1.1.1]}\n"),
    );
    case(
        &spec(
            "      affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, preference: {}}]}}\n",
        ),
        "spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "must be in the range 1-100",
        &spec(
            "      affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, preference: {}}]}}\n",
        ),
    );
    case(
        &spec(
            "      topologySpreadConstraints: [{maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]\n",
        ),
        "spec.template.spec.topologySpreadConstraints[0].maxSkew",
        "must be greater than zero",
        &spec(
            "      topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n",
        ),
    );
    case(
        &spec("      securityContext: {seccompProfile: {type: Localhost}}\n"),
        "spec.template.spec.securityContext.seccompProfile.localhostProfile",
        "must be set when seccomp type is Localhost",
        &spec("      securityContext: {seccompProfile: {type: RuntimeDefault}}\n"),
    );
    case(
        &deployment(
            "      hostNetwork: true\n      containers: [{name: web, image: nginx, ports: [{containerPort: 80, hostPort: 8080}]}]\n",
        ),
        "spec.template.spec.containers[0].ports[0].hostPort",
        "must match `containerPort` when `hostNetwork` is true",
        &spec("      hostNetwork: true\n"),
    );
    case(
        &spec("      ephemeralContainers: [{name: debug, image: busybox}]\n"),
        "spec.template.spec.ephemeralContainers",
        "ephemeral containers not allowed in pod template",
        &spec(""),
    );
}

#[test]
fn container_security_context() {
    case(
        &dep("        securityContext: {privileged: true, allowPrivilegeEscalation: false}\n"),
        "spec.template.spec.containers[0].securityContext",
        "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
        &dep("        securityContext: {privileged: true, allowPrivilegeEscalation: true}\n"),
    );
    case(
        &dep("        securityContext: {runAsUser: -1}\n"),
        "spec.template.spec.containers[0].securityContext.runAsUser",
        "must be between 0 and 2147483647",
        &dep("        securityContext: {runAsUser: 0}\n"),
    );
}

#[test]
fn pods_refuse_padded_images_that_templates_keep() {
    let pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: c, image: \"{image}\"}}]\n"
        )
    };
    case(
        &pod(" nginx"),
        "spec.containers[0].image",
        "must not have leading or trailing whitespace",
        &pod("nginx"),
    );
    assert!(findings(&dep("").replace("nginx:1.27", "\" nginx\"")).is_empty());
}

#[test]
fn replicas_and_rollouts() {
    let with = |spec: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n{spec}  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: nginx}}]}}\n"
        )
    };
    case(
        &with("  replicas: -1\n"),
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
        &with("  replicas: 0\n"),
    );
    case(
        &with("  strategy: {rollingUpdate: {maxSurge: \"1\"}}\n"),
        "spec.strategy.rollingUpdate.maxSurge",
        "a valid percent string must be a numeric string followed by an ending '%'",
        &with("  strategy: {rollingUpdate: {maxSurge: \"10%\"}}\n"),
    );
    case(
        &with("  strategy: {rollingUpdate: {maxUnavailable: 150%}}\n"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "must not be greater than 100%",
        &with("  strategy: {rollingUpdate: {maxUnavailable: 100%}}\n"),
    );
    case(
        &with("  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 0}}\n"),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "may not be 0 when `maxSurge` is 0",
        // maxSurge defaults to 25%.
        &with("  strategy: {rollingUpdate: {maxUnavailable: 0}}\n"),
    );
    case(
        &with("  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"),
        "spec.strategy.rollingUpdate",
        "may not be specified when strategy `type` is 'Recreate'",
        &with("  strategy: {type: Recreate}\n"),
    );
    case(
        &with("  strategy: {type: BlueGreen}\n"),
        "spec.strategy.type",
        "Unsupported value",
        &with("  strategy: {type: RollingUpdate}\n"),
    );
    case(
        &with("  minReadySeconds: 10\n  progressDeadlineSeconds: 10\n"),
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds",
        &with("  minReadySeconds: 10\n  progressDeadlineSeconds: 11\n"),
    );
}

#[test]
fn stateful_sets_and_daemon_sets() {
    let sts = |spec: &str| {
        format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n{spec}  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec: {{containers: [{{name: c, image: postgres}}]}}\n"
        )
    };
    case(
        &sts("  podManagementPolicy: Serial\n"),
        "spec.podManagementPolicy",
        "Unsupported value",
        &sts("  podManagementPolicy: Parallel\n"),
    );
    case(
        &sts("  updateStrategy: {type: OnDelete, rollingUpdate: {partition: 1}}\n"),
        "spec.updateStrategy.rollingUpdate",
        "only allowed for updateStrategy 'RollingUpdate'",
        &sts("  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}\n"),
    );
    // Containers may mount the claims the StatefulSet makes.
    let mounting = |claim: &str| {
        sts(&format!(
            "  volumeClaimTemplates: [{{metadata: {{name: {claim}}}}}]\n"
        ))
        .replace(
            "image: postgres}",
            "image: postgres, volumeMounts: [{name: data, mountPath: /d}]}",
        )
    };
    case(
        &mounting("other"),
        "spec.template.spec.containers[0].volumeMounts[0].name",
        "Not found: \"data\"",
        &mounting("data"),
    );
    let ds = |spec: &str| sts(spec).replace("StatefulSet", "DaemonSet");
    case(
        &ds("  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "may not be 0 when `maxSurge` is 0",
        &ds("  updateStrategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}\n"),
    );
}

fn cron(spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: nightly}}\nspec:\n{spec}  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers: [{{name: c, image: busybox}}]\n"
    )
}

#[test]
fn cron_schedules() {
    case(
        &cron("  schedule: \"*/5 * * *\"\n"),
        "spec.schedule",
        "expected exactly 5 fields, found 4",
        &cron("  schedule: \"*/5 * * * *\"\n"),
    );
    case(
        &cron("  schedule: \"0 24 * * *\"\n"),
        "spec.schedule",
        "end of range (24) above maximum (23)",
        &cron("  schedule: \"0 23 * * MON-FRI\"\n"),
    );
    case(
        &cron("  schedule: \"*/0 * * * *\"\n"),
        "spec.schedule",
        "step of range should be a positive number",
        &cron("  schedule: \"0 0 1,15 jan-jun ?\"\n"),
    );
    case(
        &cron("  schedule: \"@fortnightly\"\n"),
        "spec.schedule",
        "unrecognized descriptor",
        &cron("  schedule: \"@every 1h30m\"\n"),
    );
    case(
        &cron("  schedule: \"CRON_TZ=UTC 0 0 * * *\"\n"),
        "spec.schedule",
        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        &cron("  schedule: \"0 0 * * *\"\n  timeZone: Etc/UTC\n"),
    );
}

#[test]
fn cron_time_zones() {
    case(
        &cron("  schedule: \"0 0 * * *\"\n  timeZone: Local\n"),
        "spec.timeZone",
        "must be an explicit time zone",
        &cron("  schedule: \"0 0 * * *\"\n  timeZone: UTC\n"),
    );
    case(
        &cron("  schedule: \"0 0 * * *\"\n  timeZone: \"Europe/../Berlin\"\n"),
        "spec.timeZone",
        "unknown time zone",
        &cron("  schedule: \"0 0 * * *\"\n  timeZone: America/New_York\n"),
    );
    if std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").is_file() {
        case(
            &cron("  schedule: \"0 0 * * *\"\n  timeZone: Europe/Berln\n"),
            "spec.timeZone",
            "unknown time zone",
            &cron("  schedule: \"0 0 * * *\"\n  timeZone: Europe/Berlin\n"),
        );
    }
}

#[test]
fn cron_jobs_fields() {
    case(
        &cron("  schedule: \"0 0 * * *\"\n  concurrencyPolicy: Never\n"),
        "spec.concurrencyPolicy",
        "Unsupported value",
        &cron("  schedule: \"0 0 * * *\"\n  concurrencyPolicy: Forbid\n"),
    );
    let long = format!("{}\n", "a".repeat(53));
    case(
        &cron("  schedule: \"0 0 * * *\"\n").replace("nightly", &long),
        "metadata.name",
        "must be no more than 52 characters",
        &cron("  schedule: \"0 0 * * *\"\n").replace("nightly", &"a".repeat(52)),
    );
    case(
        &cron("  schedule: \"0 0 * * *\"\n").replace(
            "      template:",
            "      selector: {matchLabels: {a: b}}\n      template:",
        ),
        "spec.jobTemplate.spec.selector",
        "`selector` will be auto-generated",
        &cron("  schedule: \"0 0 * * *\"\n"),
    );
    case(
        &cron("  schedule: \"0 0 * * *\"\n").replace("OnFailure", "Always"),
        "spec.jobTemplate.spec.template.spec.restartPolicy",
        "Required value",
        &cron("  schedule: \"0 0 * * *\"\n").replace("OnFailure", "Never"),
    );
}

fn service(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n{spec}")
}

#[test]
fn services() {
    case(
        &service("  type: Public\n  ports: [{port: 80}]\n"),
        "spec.type",
        r#"Unsupported value: "Public""#,
        &service("  type: NodePort\n  ports: [{port: 80}]\n"),
    );
    case(
        &service("  ports: [{port: 0}]\n"),
        "spec.ports[0].port",
        "must be between 1 and 65535",
        &service("  ports: [{port: 1}]\n"),
    );
    case(
        &service("  ports: [{port: 80, targetPort: 70000}]\n"),
        "spec.ports[0].targetPort",
        "must be between 1 and 65535",
        // Zero is defaulted to the port; a name must be a port name.
        &service("  ports: [{port: 80, targetPort: 0}, {name: b, port: 81, targetPort: http}]\n")
            .replace("[{port: 80,", "[{name: a, port: 80,"),
    );
    case(
        &service("  ports: [{port: 80, targetPort: Http_Port}]\n"),
        "spec.ports[0].targetPort",
        "must contain only alpha-numeric characters",
        &service(
            "  ports: [{name: a, port: 80, targetPort: http-port}, {name: b, port: 81, targetPort: \"\"}]\n",
        ),
    );
    case(
        &service("  ports: [{port: 80, protocol: HTTP}]\n"),
        "spec.ports[0].protocol",
        "Unsupported value",
        &service("  ports: [{port: 80, protocol: SCTP}]\n"),
    );
    case(
        &service("  ports: [{port: 80}, {port: 81}]\n"),
        "spec.ports[0].name",
        "Required value",
        &service("  ports: [{name: a, port: 80}, {name: b, port: 81}]\n"),
    );
    case(
        &service("  ports: [{name: a, port: 80}, {name: a, port: 81}]\n"),
        "spec.ports[1].name",
        "Duplicate value",
        &service("  ports: [{name: a, port: 80}, {name: b, port: 80, protocol: UDP}]\n"),
    );
    case(
        &service("  ports: [{name: a, port: 80}, {name: b, port: 80}]\n"),
        "spec.ports[1]",
        "Duplicate value",
        &service("  ports: [{name: a, port: 80}, {name: b, port: 81}]\n"),
    );
    case(
        &service("  ports: [{port: 80, nodePort: 30080}]\n"),
        "spec.ports[0].nodePort",
        "may not be used when `type` is 'ClusterIP'",
        &service("  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n"),
    );
    case(
        &service("  sessionAffinity: Sticky\n  ports: [{port: 80}]\n"),
        "spec.sessionAffinity",
        "Unsupported value",
        &service("  sessionAffinity: ClientIP\n  ports: [{port: 80}]\n"),
    );
    case(
        &service("  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n"),
        "spec.externalTrafficPolicy",
        "may only be set for externally-accessible services",
        &service("  type: LoadBalancer\n  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n"),
    );
    case(
        &service("  selector: {app: web}\n"),
        "spec.ports",
        "Required value",
        &service("  clusterIP: None\n  selector: {app: web}\n"),
    );
    case(
        &service("  type: ExternalName\n"),
        "spec.externalName",
        "Required value",
        &service("  type: ExternalName\n  externalName: db.example.com.\n"),
    );
    case(
        &service("  clusterIP: 10.0.0\n  ports: [{port: 80}]\n"),
        "spec.clusterIP",
        "must be a valid IP address",
        &service("  clusterIP: 10.0.0.10\n  ports: [{port: 80}]\n"),
    );
}

fn ingress(path: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: web}}\nspec:\n  rules:\n  - host: example.com\n    http:\n      paths:\n      - {path}\n"
    )
}

#[test]
fn ingresses() {
    let backend = "backend: {service: {name: web, port: {number: 80}}}";
    case(
        &ingress(&format!("{{path: /, pathType: Regex, {backend}}}")),
        "spec.rules[0].http.paths[0].pathType",
        "Unsupported value",
        &ingress(&format!("{{path: /, pathType: Exact, {backend}}}")),
    );
    case(
        &ingress(&format!("{{path: /, {backend}}}")),
        "spec.rules[0].http.paths[0].pathType",
        "Required value",
        &ingress(&format!("{{path: /, pathType: Prefix, {backend}}}")),
    );
    case(
        &ingress(&format!("{{path: api, pathType: Prefix, {backend}}}")),
        "spec.rules[0].http.paths[0].path",
        "must be an absolute path",
        // Regular expressions are the controller's business.
        &ingress(&format!(
            "{{path: \"/api(/|$)(.*)\", pathType: ImplementationSpecific, {backend}}}"
        )),
    );
    case(
        &ingress(&format!("{{path: /a/.., pathType: Exact, {backend}}}")),
        "spec.rules[0].http.paths[0].path",
        "cannot end with '/..'",
        &ingress(&format!("{{path: /a/..b, pathType: Exact, {backend}}}")),
    );
    case(
        &ingress(&format!("{{path: /a//b, pathType: Prefix, {backend}}}")),
        "spec.rules[0].http.paths[0].path",
        "must not contain '//'",
        &ingress(&format!("{{path: /a/b, pathType: Prefix, {backend}}}")),
    );
    let tls = |host: &str| {
        ingress(&format!("{{path: /, pathType: Prefix, {backend}}}")).replace(
            "spec:\n",
            &format!("spec:\n  tls: [{{hosts: [\"{host}\"], secretName: tls}}]\n"),
        )
    };
    case(
        &tls("Example.com"),
        "spec.tls[0].hosts[0]",
        "RFC 1123 subdomain",
        &tls("10.0.0.1"),
    );
    case(
        &ingress(&format!("{{path: /, pathType: Prefix, {backend}}}"))
            .replace("example.com", "10.0.0.1"),
        "spec.rules[0].host",
        "must be a DNS name, not an IP address",
        &ingress(&format!("{{path: /, pathType: Prefix, {backend}}}"))
            .replace("example.com", "\"*.example.com\""),
    );
    case(
        &ingress(
            "{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80, name: http}}}}",
        ),
        "spec.rules[0].http.paths[0].backend",
        "cannot set both port name & port number",
        &ingress(
            "{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}",
        ),
    );
    case(
        &ingress(
            "{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 70000}}}}",
        ),
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "must be between 1 and 65535",
        &ingress("{path: /, pathType: Prefix, backend: {resource: {kind: Bucket, name: b}}}"),
    );
    case(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {}\n",
        "spec",
        "either `defaultBackend` or `rules` must be specified",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {defaultBackend: {service: {name: web, port: {number: 80}}}}\n",
    );
}

#[test]
fn config_map_and_secret_keys() {
    let cm = |key: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  \"{key}\": v\n")
    };
    case(
        &cm("bad key/x"),
        "data[bad key/x]",
        "a valid config key must consist of alphanumeric characters",
        &cm("A_b-c.d"),
    );
    case(
        &cm("..a"),
        "data[..a]",
        "must not start with '..'",
        &cm(".a"),
    );
    case(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: eA==}\n",
        "binaryData[a]",
        "duplicate of key present in data",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {b: eA==}\n",
    );
    let secret = |ty: &str, data: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ntype: {ty}\nstringData: {data}\n"
        )
    };
    case(
        &secret("kubernetes.io/tls", "{tls.crt: c}"),
        "data[tls.key]",
        "Required value",
        &secret("kubernetes.io/tls", "{tls.crt: c, tls.key: k}"),
    );
    case(
        &secret("kubernetes.io/dockerconfigjson", "{other: v}"),
        "data[.dockerconfigjson]",
        "Required value",
        &secret("example.com/custom", "{other: v}"),
    );
    case(
        &secret("kubernetes.io/basic-auth", "{other: v}"),
        "data[username]",
        "Required value",
        &secret("kubernetes.io/basic-auth", "{username: me}"),
    );
    case(
        &secret("Opaque", "{\"bad key\": v}"),
        "stringData[bad key]",
        "a valid config key",
        &secret("Opaque", "{good-key: v}"),
    );
}

#[test]
fn persistent_volume_claims() {
    let pvc = |spec: &str| {
        format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: d}}\nspec:\n{spec}")
    };
    let storage = "  resources: {requests: {storage: 1Gi}}\n";
    case(
        &pvc(storage),
        "spec.accessModes",
        "at least 1 access mode is required",
        &pvc(&format!("  accessModes: [ReadWriteOnce]\n{storage}")),
    );
    case(
        &pvc(&format!("  accessModes: [ReadWrite]\n{storage}")),
        "spec.accessModes",
        "Unsupported value: \"ReadWrite\"",
        &pvc(&format!("  accessModes: [ReadWriteOncePod]\n{storage}")),
    );
    case(
        &pvc("  accessModes: [ReadWriteOnce]\n"),
        "spec.resources[storage]",
        "Required value",
        &pvc(&format!("  accessModes: [ReadWriteOnce]\n{storage}")),
    );
    case(
        &pvc("  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: \"0\"}}\n"),
        "spec.resources[storage]",
        "must be greater than zero",
        &pvc("  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1}}\n"),
    );
    case(
        &pvc(&format!(
            "  accessModes: [ReadWriteOnce]\n  volumeMode: Raw\n{storage}"
        )),
        "spec.volumeMode",
        "Unsupported value",
        &pvc(&format!(
            "  accessModes: [ReadWriteOnce]\n  volumeMode: Block\n{storage}"
        )),
    );
}

#[test]
fn autoscalers_and_disruption_budgets() {
    let hpa = |spec: &str| {
        format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: h}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n{spec}"
        )
    };
    case(
        &hpa("  minReplicas: 0\n  maxReplicas: 3\n"),
        "spec.minReplicas",
        "must be greater than or equal to 1",
        &hpa("  minReplicas: 1\n  maxReplicas: 3\n"),
    );
    case(
        &hpa("  minReplicas: 5\n  maxReplicas: 3\n"),
        "spec.maxReplicas",
        "must be greater than or equal to `minReplicas`",
        &hpa("  minReplicas: 3\n  maxReplicas: 3\n"),
    );
    case(
        &hpa(
            "  maxReplicas: 3\n  metrics: [{type: Resource, resource: {name: cpu, target: {type: Percentage, averageUtilization: 50}}}]\n",
        ),
        "spec.metrics[0].resource.target.type",
        "Unsupported value",
        &hpa(
            "  maxReplicas: 3\n  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]\n",
        ),
    );
    let pdb = |spec: &str| {
        format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: p}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n{spec}"
        )
    };
    case(
        &pdb("  minAvailable: \"50\"\n"),
        "spec.minAvailable",
        "a valid percent string",
        &pdb("  minAvailable: 50%\n"),
    );
    case(
        &pdb("  minAvailable: 1\n  maxUnavailable: 1\n"),
        "spec",
        "minAvailable and maxUnavailable cannot be both set",
        &pdb("  maxUnavailable: 1\n"),
    );
    case(
        &pdb("  maxUnavailable: 120%\n"),
        "spec.maxUnavailable",
        "must not be greater than 100%",
        &pdb("  maxUnavailable: 0%\n"),
    );
}

fn netpol(rule: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: n}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - {rule}\n"
    )
}

#[test]
fn network_policies() {
    case(
        &netpol("{ports: [{port: 80, endPort: 70}]}"),
        "spec.ingress[0].ports[0].endPort",
        "must be greater than or equal to `port`",
        &netpol("{ports: [{port: 80, endPort: 90}]}"),
    );
    case(
        &netpol("{ports: [{port: http, endPort: 90}]}"),
        "spec.ingress[0].ports[0].endPort",
        "may not be specified when `port` is non-numeric",
        &netpol("{ports: [{port: http, protocol: UDP}]}"),
    );
    case(
        &netpol("{ports: [{port: 80, protocol: ICMP}]}"),
        "spec.ingress[0].ports[0].protocol",
        "Unsupported value",
        &netpol("{ports: [{port: 80, protocol: SCTP}]}"),
    );
    case(
        &netpol("{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}"),
        "spec.ingress[0].from[0].ipBlock.cidr",
        "must be a valid CIDR value",
        &netpol("{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}"),
    );
    case(
        &netpol("{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}"),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "must be a strict subset of `cidr`",
        &netpol("{from: [{ipBlock: {cidr: \"fd00::/8\", except: [\"fd00:1::/32\"]}}]}"),
    );
    case(
        &netpol("{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}"),
        "spec.ingress[0].from[0]",
        "may not specify both ipBlock and another peer",
        &netpol("{from: [{namespaceSelector: {}, podSelector: {}}]}"),
    );
    case(
        &netpol("{}").replace("  ingress:", "  policyTypes: [Inbound]\n  ingress:"),
        "spec.policyTypes[0]",
        "Unsupported value",
        &netpol("{}").replace("  ingress:", "  policyTypes: [Ingress, Egress]\n  ingress:"),
    );
}

#[test]
fn rbac() {
    let role = |rule: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r}}\nrules: [{rule}]\n"
        )
    };
    case(
        &role("{apiGroups: [\"\"], resources: [pods], verbs: []}"),
        "rules[0].verbs",
        "verbs must contain at least one value",
        &role("{apiGroups: [\"\"], resources: [pods], verbs: [get]}"),
    );
    case(
        &role("{resources: [pods], verbs: [get]}"),
        "rules[0].apiGroups",
        "resource rules must supply at least one api group",
        &role("{apiGroups: [apps], resources: [deployments], verbs: [get]}"),
    );
    case(
        &role("{nonResourceURLs: [/healthz], verbs: [get]}"),
        "rules[0].nonResourceURLs",
        "namespaced rules cannot apply to non-resource URLs",
        &role("{apiGroups: [\"\"], resources: [pods], resourceNames: [p], verbs: [get]}"),
    );
    let cluster_role = role("{nonResourceURLs: [/healthz], resources: [pods], verbs: [get]}")
        .replace("kind: Role", "kind: ClusterRole");
    case(
        &cluster_role,
        "rules[0].nonResourceURLs",
        "rules cannot apply to both regular resources and non-resource URLs",
        &role("{nonResourceURLs: [/healthz], verbs: [get]}")
            .replace("kind: Role", "kind: ClusterRole"),
    );
    let binding = |kind: &str, role_ref: &str, subject: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: b}}\nroleRef: {role_ref}\nsubjects: [{subject}]\n"
        )
    };
    let role_ref = "{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}";
    let sa = "{kind: ServiceAccount, name: sa}";
    case(
        &binding(
            "RoleBinding",
            "{apiGroup: rbac.authorization.k8s.io, kind: Deployment, name: r}",
            sa,
        ),
        "roleRef.kind",
        "Unsupported value",
        &binding("RoleBinding", role_ref, sa),
    );
    case(
        &binding("RoleBinding", role_ref, "{kind: Robot, name: r}"),
        "subjects[0].kind",
        "Unsupported value",
        &binding("RoleBinding", role_ref, "{kind: Group, name: devs}"),
    );
    case(
        &binding(
            "RoleBinding",
            role_ref,
            "{kind: ServiceAccount, name: sa, apiGroup: rbac.authorization.k8s.io}",
        ),
        "subjects[0].apiGroup",
        r#"supported values: """#,
        &binding(
            "RoleBinding",
            role_ref,
            "{kind: User, name: me, apiGroup: rbac.authorization.k8s.io}",
        ),
    );
    let cluster_ref = "{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}";
    case(
        &binding(
            "ClusterRoleBinding",
            role_ref,
            "{kind: ServiceAccount, name: sa, namespace: ns}",
        ),
        "roleRef.kind",
        r#"supported values: "ClusterRole""#,
        &binding(
            "ClusterRoleBinding",
            cluster_ref,
            "{kind: ServiceAccount, name: sa, namespace: ns}",
        ),
    );
    case(
        &binding("ClusterRoleBinding", cluster_ref, sa),
        "subjects[0].namespace",
        "Required value",
        &binding("RoleBinding", cluster_ref, sa),
    );
}

#[test]
fn label_maps_beyond_metadata() {
    case(
        &service("  selector: {app: \"my app\"}\n  ports: [{port: 80}]\n"),
        "spec.selector.app",
        "invalid label value",
        &service("  selector: {app: my-app}\n  ports: [{port: 80}]\n"),
    );
    case(
        &deployment(&format!(
            "{}      nodeSelector: {{\"bad key!\": x}}\n",
            containers("")
        )),
        "spec.template.spec.nodeSelector.bad key!",
        "invalid label key",
        &deployment(&format!(
            "{}      nodeSelector: {{kubernetes.io/os: linux}}\n",
            containers("")
        )),
    );
    case(
        &dep("").replace("labels: {app: web}", "labels: {app: web, tier: \"-x\"}"),
        "spec.template.metadata.labels.tier",
        "invalid label value",
        &dep("").replace("labels: {app: web}", "labels: {app: web, tier: x}"),
    );
}

#[test]
fn kinds_without_checks_and_wrong_types_are_left_alone() {
    assert!(findings("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n").is_empty());
    // A string where a number belongs is the schema's to report.
    assert!(findings(&dep("        ports: [{containerPort: \"80\"}]\n")).is_empty());
}
