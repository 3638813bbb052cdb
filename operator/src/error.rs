//! Why a reconcile failed; every variant is retried with backoff.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("API server: {0}")]
    Platform(#[from] chaos_client::Error),
    #[error("building an object: {0}")]
    Build(#[from] serde_json::Error),
    #[error("finalizer: {0}")]
    Finalizer(Box<kube::runtime::finalizer::Error<Error>>),
}
