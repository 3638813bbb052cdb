//! A Contributor manifest (`contributor.yaml`) as chaosctl reads and
//! writes it: the same file the operator acts on in a cluster, read here
//! to run the same components in the compose playground.

use std::path::Path;

use anyhow::Context;
use chaos_domain::Challenge;
use chaos_domain::topology::{self, AppSpec, ComponentSpec, EntrySpec, Topology};
use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "srechaos.dev/v1alpha1";
pub const KIND: &str = "Contributor";

/// The parts of a Contributor chaosctl needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub challenge: Challenge,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ComponentSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntrySpec>,
}

impl Manifest {
    /// A one-app manifest, the starter of `chaosctl contributor create`.
    pub fn starter(user: &str, display: Option<&str>, challenge: Challenge, image: &str) -> Self {
        Manifest {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: Metadata { name: user.into() },
            spec: Spec {
                display_name: Some(display.unwrap_or(user).to_owned()),
                challenge,
                app: Some(AppSpec::new(image, 8080)),
                components: None,
                entry: None,
            },
        }
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let m: Manifest = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not a Contributor manifest", path.display()))?;
        if m.kind != KIND || m.api_version != API_VERSION {
            anyhow::bail!(
                "{}: expected kind {KIND} of {API_VERSION}, found {} of {}",
                path.display(),
                m.kind,
                m.api_version
            );
        }
        if !chaos_domain::contributor::is_valid_name(&m.metadata.name) {
            anyhow::bail!(
                "{}: metadata.name {:?} is not a contributor name: use {}",
                path.display(),
                m.metadata.name,
                chaos_domain::contributor::NAME_RULE
            );
        }
        Ok(m)
    }

    /// Its infrastructure, by the rules the operator applies.
    pub fn topology(&self) -> Result<Topology, topology::Refusal> {
        topology::read(topology::Spec {
            app: self.spec.app.as_ref(),
            components: self.spec.components.as_deref(),
            entry: self.spec.entry.as_ref(),
        })
    }

    /// The manifest as YAML, with a header saying what it is.
    pub fn to_yaml(&self, header: &str) -> anyhow::Result<String> {
        let body = serde_yaml_ng::to_string(self).context("the manifest as YAML")?;
        Ok(format!("{header}{body}"))
    }
}
