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
    /// The object changed since this pass read it; its status was not
    /// written. Not a failure: the next pass starts from the newer object.
    #[error("{0} changed since it was read; not written")]
    Stale(String),
}

impl Error {
    /// Whether this is a lost race with a newer version of the object.
    pub fn is_stale(&self) -> bool {
        match self {
            Error::Stale(_) => true,
            Error::Finalizer(f) => matches!(
                f.as_ref(),
                kube::runtime::finalizer::Error::ApplyFailed(e)
                    | kube::runtime::finalizer::Error::CleanupFailed(e) if e.is_stale()
            ),
            _ => false,
        }
    }
}
