//! Manifests: reading YAML with positions, apply units, object identity, rendering.

pub mod bump;
pub mod image;
pub mod kustomize;
pub mod load;
pub mod object;
pub mod render;
pub mod sites;
pub mod tree;
pub mod workload;
pub mod yaml;

pub use load::{LoadOptions, Manifests, Selection, Unit, UnitKind, load};
pub use object::{Object, ObjectId, Origin};
pub use tree::FileSet;
