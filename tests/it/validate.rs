//! `kubectl gitops validate` on real files.

use crate::common::{Repo, deployment, stdout};

#[test]
fn valid_repository_exits_zero() {
    let repo = Repo::new();
    repo.write("apps/web.yaml", &deployment("web", "nginx:1.27"));
    let out = repo.run().args(["validate", "apps"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("1 object in 1 file valid"),
        "{}",
        stdout(&out)
    );
}
