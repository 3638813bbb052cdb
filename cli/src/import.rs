//! `chaosctl contributor import`: contributors of the earlier platform,
//! from its database's `api_keys` export, each with a new key shown once.

use std::path::PathBuf;

use anyhow::Context;
use chaos_client::EarlierKey;
use clap::Args;

use crate::output::Output;
use crate::platform::{AdminArgs, ApiArgs};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The earlier `api_keys` table: CSV with a header row (`\copy api_keys
    /// TO 'keys.csv' CSV HEADER`) or JSON (`SELECT json_agg(t) FROM api_keys t`).
    pub file: PathBuf,
    /// Show what would happen; register nobody.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// CSV or JSON, by the file's extension, else by its first character.
fn content_type(file: &std::path::Path, text: &[u8]) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => "text/csv",
        Some(e) if e.eq_ignore_ascii_case("json") => "application/json",
        _ => match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => "application/json",
            _ => "text/csv",
        },
    }
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let export = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let client = args.api.client()?.with_admin_token(args.admin.token()?);
    let report = client
        .import_contributors(
            export.clone(),
            content_type(&args.file, &export),
            args.dry_run,
        )
        .await
        .with_context(|| format!("cannot import {}", args.file.display()))?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let verb = if report.dry_run { "would be" } else { "were" };
    println!(
        "{}: {} {verb} created, {} already here, {} refused{}.",
        args.file.display(),
        report.created,
        report.existing,
        report.refused,
        if report.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    for line in &report.contributors {
        let name = line.name.as_deref().unwrap_or("-");
        let arrow = if line.renamed {
            format!("{} → {name}", line.earlier_name)
        } else {
            name.to_owned()
        };
        println!("  {arrow}: {}", line.outcome);
        if let Some(key) = &line.api_key {
            println!("      new API key (shown once): {key}");
        }
        match line.earlier_key {
            EarlierKey::Kept => println!("      the earlier key keeps working"),
            EarlierKey::NotKept => println!("      the earlier key stops working"),
            EarlierKey::None => {}
        }
        for text in [&line.reason, &line.note].into_iter().flatten() {
            println!("      {text}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_extension_then_the_content() {
        let p = std::path::Path::new;
        assert_eq!(content_type(p("k.CSV"), b"["), "text/csv");
        assert_eq!(content_type(p("k.json"), b"id"), "application/json");
        assert_eq!(content_type(p("keys"), b"  [{}]"), "application/json");
        assert_eq!(content_type(p("keys"), b"id,key,user_id"), "text/csv");
    }
}
