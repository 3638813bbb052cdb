//! Writes the CRDs into a directory (default `crds/`), or prints them with `-`.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let target = std::env::args().nth(1).unwrap_or_else(|| "crds".into());
    let docs = chaos_operator::crdgen::documents()?;
    if target == "-" {
        for (_, yaml) in docs {
            print!("---\n{yaml}");
        }
        return Ok(());
    }
    let dir = PathBuf::from(target);
    std::fs::create_dir_all(&dir)?;
    for (name, yaml) in docs {
        let path = dir.join(name);
        std::fs::write(&path, yaml)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
