//! Schemas of the built-in Kubernetes kinds, from the `k8s-openapi` crate (one Kubernetes
//! version, chosen by its cargo feature). Compiled once per run, on first use.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use k8s_openapi::schemars::{JsonSchema, SchemaGenerator};
use k8s_openapi::{NamespaceResourceScope, Resource, SubResourceScope};

use super::schema::{SchemaId, Schemas};

/// The Kubernetes version whose built-in kinds are known.
pub const KUBERNETES_VERSION: &str = "1.37";
/// Its minor release, the default `--kubernetes-version`.
pub const KUBERNETES_MINOR: u32 = 37;

/// A built-in kind.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub namespaced: bool,
    /// The plural resource name (`deployments`).
    pub plural: &'static str,
    index: usize,
}

/// A compiled schema: its arena and root.
pub struct Compiled {
    pub schemas: Schemas,
    pub root: SchemaId,
}

/// The built-in kinds. Schemas are generated and compiled per kind on first use, so a run
/// that sees three kinds pays for three (generating all 108 costs ~10 ms, which matters to a
/// pre-push hook).
pub struct Builtins {
    kinds: HashMap<(&'static str, &'static str), Kind>,
    groups: HashSet<&'static str>,
    entries: Vec<Entry>,
    compiled: Vec<OnceLock<Compiled>>,
    object_meta: OnceLock<Compiled>,
}

impl Builtins {
    /// The built-in kind for an apiVersion and kind.
    pub fn kind(&self, api_version: &str, kind: &str) -> Option<Kind> {
        self.kinds.get(&(api_version, kind)).copied()
    }

    /// The schema of a built-in kind.
    pub fn schema(&self, kind: Kind) -> &Compiled {
        self.compiled[kind.index].get_or_init(|| compile(self.entries[kind.index].schema))
    }

    /// The schema of ObjectMeta, which custom resources share.
    pub fn object_meta(&self) -> &Compiled {
        self.object_meta.get_or_init(|| {
            compile(|g| {
                g.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>()
            })
        })
    }

    /// True when the API group belongs to Kubernetes itself (so an unknown kind in it is an
    /// error, not a missing CRD).
    pub fn is_builtin_group(&self, group: &str) -> bool {
        self.groups.contains(group)
    }

    /// Every built-in (apiVersion, kind) pair whose kind matches, for hints.
    pub fn versions_of(&self, kind: &str) -> Vec<&'static str> {
        let mut v: Vec<_> = self
            .kinds
            .keys()
            .filter(|(_, k)| *k == kind)
            .map(|(av, _)| *av)
            .collect();
        v.sort();
        v
    }
}

type SchemaFn = fn(&mut SchemaGenerator) -> k8s_openapi::schemars::Schema;

fn compile(schema: SchemaFn) -> Compiled {
    let mut generator = SchemaGenerator::default();
    let reference = schema(&mut generator);
    let defs = generator.take_definitions(true);
    let mut schemas = Schemas::default();
    let root = schemas.compile(reference.as_value(), &defs);
    Compiled { schemas, root }
}

struct Entry {
    api_version: &'static str,
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    scope: TypeId,
    schema: SchemaFn,
}

fn entry<T: Resource + JsonSchema + 'static>() -> Entry
where
    T::Scope: 'static,
{
    Entry {
        api_version: T::API_VERSION,
        group: T::GROUP,
        kind: T::KIND,
        plural: T::URL_PATH_SEGMENT,
        scope: TypeId::of::<T::Scope>(),
        schema: |generator| generator.subschema_for::<T>(),
    }
}

/// The built-in kinds (their schemas compile on first use).
pub fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(build)
}

fn build() -> Builtins {
    let entries: Vec<Entry> = entries()
        .into_iter()
        .filter(|e| e.scope != TypeId::of::<SubResourceScope>())
        .collect();
    let mut kinds = HashMap::new();
    let mut groups = HashSet::new();
    for (index, e) in entries.iter().enumerate() {
        kinds.insert(
            (e.api_version, e.kind),
            Kind {
                namespaced: e.scope == TypeId::of::<NamespaceResourceScope>(),
                plural: e.plural,
                index,
            },
        );
        groups.insert(e.group);
    }
    Builtins {
        kinds,
        groups,
        compiled: entries.iter().map(|_| OnceLock::new()).collect(),
        entries,
        object_meta: OnceLock::new(),
    }
}

fn entries() -> Vec<Entry> {
    use k8s_openapi::*;
    vec![
        entry::<api::admissionregistration::v1::MutatingAdmissionPolicy>(),
        entry::<api::admissionregistration::v1::MutatingAdmissionPolicyBinding>(),
        entry::<api::admissionregistration::v1::MutatingWebhookConfiguration>(),
        entry::<api::admissionregistration::v1::ValidatingAdmissionPolicy>(),
        entry::<api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(),
        entry::<api::admissionregistration::v1::ValidatingWebhookConfiguration>(),
        entry::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicy>(),
        entry::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding>(),
        entry::<api::admissionregistration::v1beta1::MutatingAdmissionPolicy>(),
        entry::<api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding>(),
        entry::<api::apiserverinternal::v1alpha1::StorageVersion>(),
        entry::<api::apps::v1::ControllerRevision>(),
        entry::<api::apps::v1::DaemonSet>(),
        entry::<api::apps::v1::Deployment>(),
        entry::<api::apps::v1::ReplicaSet>(),
        entry::<api::apps::v1::StatefulSet>(),
        entry::<api::authentication::v1::SelfSubjectReview>(),
        entry::<api::authentication::v1::TokenRequest>(),
        entry::<api::authentication::v1::TokenReview>(),
        entry::<api::authorization::v1::LocalSubjectAccessReview>(),
        entry::<api::authorization::v1::SelfSubjectAccessReview>(),
        entry::<api::authorization::v1::SelfSubjectRulesReview>(),
        entry::<api::authorization::v1::SubjectAccessReview>(),
        entry::<api::autoscaling::v1::HorizontalPodAutoscaler>(),
        entry::<api::autoscaling::v1::Scale>(),
        entry::<api::autoscaling::v2::HorizontalPodAutoscaler>(),
        entry::<api::batch::v1::CronJob>(),
        entry::<api::batch::v1::Job>(),
        entry::<api::certificates::v1::CertificateSigningRequest>(),
        entry::<api::certificates::v1::ClusterTrustBundle>(),
        entry::<api::certificates::v1::PodCertificateRequest>(),
        entry::<api::certificates::v1beta1::ClusterTrustBundle>(),
        entry::<api::certificates::v1beta1::PodCertificateRequest>(),
        entry::<api::coordination::v1::Lease>(),
        entry::<api::coordination::v1alpha2::LeaseCandidate>(),
        entry::<api::coordination::v1beta1::LeaseCandidate>(),
        entry::<api::core::v1::Binding>(),
        entry::<api::core::v1::ComponentStatus>(),
        entry::<api::core::v1::ConfigMap>(),
        entry::<api::core::v1::Endpoints>(),
        entry::<api::core::v1::Event>(),
        entry::<api::core::v1::LimitRange>(),
        entry::<api::core::v1::Namespace>(),
        entry::<api::core::v1::Node>(),
        entry::<api::core::v1::PersistentVolume>(),
        entry::<api::core::v1::PersistentVolumeClaim>(),
        entry::<api::core::v1::Pod>(),
        entry::<api::core::v1::PodTemplate>(),
        entry::<api::core::v1::ReplicationController>(),
        entry::<api::core::v1::ResourceQuota>(),
        entry::<api::core::v1::Secret>(),
        entry::<api::core::v1::Service>(),
        entry::<api::core::v1::ServiceAccount>(),
        entry::<api::discovery::v1::EndpointSlice>(),
        entry::<api::events::v1::Event>(),
        entry::<api::flowcontrol::v1::FlowSchema>(),
        entry::<api::flowcontrol::v1::PriorityLevelConfiguration>(),
        entry::<api::lifecycle::v1alpha1::Eviction>(),
        entry::<api::lifecycle::v1alpha1::EvictionRequest>(),
        entry::<api::networking::v1::IPAddress>(),
        entry::<api::networking::v1::Ingress>(),
        entry::<api::networking::v1::IngressClass>(),
        entry::<api::networking::v1::NetworkPolicy>(),
        entry::<api::networking::v1::ServiceCIDR>(),
        entry::<api::node::v1::RuntimeClass>(),
        entry::<api::policy::v1::Eviction>(),
        entry::<api::policy::v1::PodDisruptionBudget>(),
        entry::<api::rbac::v1::ClusterRole>(),
        entry::<api::rbac::v1::ClusterRoleBinding>(),
        entry::<api::rbac::v1::Role>(),
        entry::<api::rbac::v1::RoleBinding>(),
        entry::<api::resource::v1::DeviceClass>(),
        entry::<api::resource::v1::DeviceTaintRule>(),
        entry::<api::resource::v1::ResourceClaim>(),
        entry::<api::resource::v1::ResourceClaimTemplate>(),
        entry::<api::resource::v1::ResourceSlice>(),
        entry::<api::resource::v1alpha3::DeviceTaintRule>(),
        entry::<api::resource::v1alpha3::ResourcePoolStatusRequest>(),
        entry::<api::resource::v1beta1::DeviceClass>(),
        entry::<api::resource::v1beta1::ResourceClaim>(),
        entry::<api::resource::v1beta1::ResourceClaimTemplate>(),
        entry::<api::resource::v1beta1::ResourceSlice>(),
        entry::<api::resource::v1beta2::DeviceClass>(),
        entry::<api::resource::v1beta2::DeviceTaintRule>(),
        entry::<api::resource::v1beta2::ResourceClaim>(),
        entry::<api::resource::v1beta2::ResourceClaimTemplate>(),
        entry::<api::resource::v1beta2::ResourceSlice>(),
        entry::<api::scheduling::v1::PriorityClass>(),
        entry::<api::scheduling::v1alpha3::CompositePodGroup>(),
        entry::<api::scheduling::v1alpha3::PodGroup>(),
        entry::<api::scheduling::v1alpha3::Workload>(),
        entry::<api::scheduling::v1beta1::PodGroup>(),
        entry::<api::scheduling::v1beta1::Workload>(),
        entry::<api::storage::v1::CSIDriver>(),
        entry::<api::storage::v1::CSINode>(),
        entry::<api::storage::v1::CSIStorageCapacity>(),
        entry::<api::storage::v1::StorageClass>(),
        entry::<api::storage::v1::VolumeAttachment>(),
        entry::<api::storage::v1::VolumeAttributesClass>(),
        entry::<api::storagemigration::v1::StorageVersionMigration>(),
        entry::<api::storagemigration::v1beta1::StorageVersionMigration>(),
        entry::<apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(),
        entry::<kube_aggregator::pkg::apis::apiregistration::v1::APIService>(),
    ]
}
