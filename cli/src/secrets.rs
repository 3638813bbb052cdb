//! Tokens kept in files of the playground's data directory, readable by
//! their owner only, so `chaosctl run` finds what `chaosctl up` made.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

/// Shorter tokens are refused by every binary of the platform.
const MIN_LEN: usize = chaos_domain::token::MIN_LEN;

/// The token in `path`, or a new random one written there (mode 0600).
pub fn read_or_create(path: &Path) -> anyhow::Result<String> {
    if let Some(token) = read(path)? {
        return Ok(token);
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(path, &format!("{token}\n"))?;
    Ok(token)
}

/// Creates `dir` (and its parents) readable by its owner only, and makes
/// an existing one so: it holds tokens and the database.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))
}

/// Writes a secret to a new file only its owner can read, in a directory
/// only its owner can enter (created if missing).
pub fn write_private(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The token in `path`, `None` when there is no such file.
pub fn read(path: &Path) -> anyhow::Result<Option<String>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let token = text.trim();
    if token.len() < MIN_LEN {
        anyhow::bail!(
            "{} holds a token of {} characters; at least {MIN_LEN} are needed (delete the file to get a new one)",
            path.display(),
            token.len()
        );
    }
    Ok(Some(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("chaosctl-secrets-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_token_is_created_once_then_read_back() {
        let d = temp();
        let p = d.join("admin-token");
        let first = read_or_create(&p).expect("created");
        assert_eq!(first.len(), 64);
        assert_eq!(read_or_create(&p).expect("read"), first);
        let mode = fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::write(&p, "short\n").expect("write");
        let e = read(&p).expect_err("too short");
        assert!(e.to_string().contains("at least 16"), "{e}");
        assert_eq!(read(&d.join("none")).expect("absent"), None);
        let _ = fs::remove_dir_all(d);
    }
}
