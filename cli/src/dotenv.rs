//! The `.env` file of a checkout: `KEY=value` lines that docker compose
//! and chaosctl read. Updating one key keeps every other line as it was.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

/// The value of `key`, if the file has it.
pub fn get(path: &Path, key: &str) -> anyhow::Result<Option<String>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(text.lines().find_map(|line| {
        let (k, v) = parse(line)?;
        (k == key).then(|| v.to_owned())
    }))
}

/// Sets `key` (replacing its line, or appending one). With `only_if_absent`
/// an existing value wins. The file is replaced atomically, mode 0600,
/// since it holds secrets.
pub fn set(path: &Path, key: &str, value: &str, only_if_absent: bool) -> anyhow::Result<bool> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut found = false;
    let mut out = String::with_capacity(text.len() + key.len() + value.len() + 2);
    for line in text.lines() {
        if parse(line).is_some_and(|(k, _)| k == key) {
            found = true;
            if only_if_absent {
                out.push_str(line);
            } else {
                out.push_str(&format!("{key}={value}"));
            }
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if found && only_if_absent {
        return Ok(false);
    }
    if !found {
        out.push_str(&format!("{key}={value}\n"));
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(out.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(true)
}

/// The variable that holds a contributor's API key.
pub fn api_key_var(user: &str) -> String {
    format!(
        "CHAOS_API_KEY_{}",
        user.to_ascii_uppercase().replace('-', "_")
    )
}

fn parse(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    if line.starts_with('#') {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (k, v) = line.split_once('=')?;
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    Some((k.trim(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_a_key_keeps_every_other_line() {
        let d = std::env::temp_dir().join(format!("chaosctl-dotenv-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).expect("dir");
        let p = d.join(".env");
        fs::write(
            &p,
            "# database\nPOSTGRES_PASSWORD=secret\nexport LOCAL_TRACKER_API_KEY=\"local_dev_key\"\n\nCHAOS_API_KEY_ADA=old\n",
        )
        .expect("write");
        assert!(set(&p, "CHAOS_API_KEY_ADA", "new", false).expect("set"));
        assert!(set(&p, "CHAOS_API_KEY_BOB_B", "b", false).expect("set"));
        assert!(!set(&p, "POSTGRES_PASSWORD", "other", true).expect("kept"));
        assert_eq!(
            fs::read_to_string(&p).expect("read"),
            "# database\nPOSTGRES_PASSWORD=secret\nexport LOCAL_TRACKER_API_KEY=\"local_dev_key\"\n\nCHAOS_API_KEY_ADA=new\nCHAOS_API_KEY_BOB_B=b\n"
        );
        assert_eq!(
            get(&p, "LOCAL_TRACKER_API_KEY").expect("get").as_deref(),
            Some("local_dev_key")
        );
        assert_eq!(get(&p, "NOPE").expect("get"), None);
        assert_eq!(get(&d.join("none"), "X").expect("absent"), None);
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn key_variables_are_shell_names() {
        assert_eq!(api_key_var("ada-l"), "CHAOS_API_KEY_ADA_L");
    }
}
