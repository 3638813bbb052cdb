//! The scoring rules as a page (`/rules`): docs/SCORING.md, built into the
//! binary, so every run page can link to the rules that scored it, offline
//! and on any deployment.

use std::sync::LazyLock;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

use crate::pages::render;

const SCORING_MD: &str = include_str!("../../docs/SCORING.md");

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    body: &'static str,
}

static BODY: LazyLock<String> = LazyLock::new(|| to_html(SCORING_MD));

pub async fn page() -> Response {
    render(StatusCode::OK, &RulesPage { body: &BODY })
}

/// A heading's anchor, spelt as GitHub spells it, so `#versions` links in
/// the document work here too.
pub fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Markdown to HTML, each heading given its anchor.
fn to_html(md: &str) -> String {
    let mut events: Vec<Event> =
        Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES).collect();
    for i in 0..events.len() {
        if matches!(events[i], Event::Start(Tag::Heading { .. })) {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(slug(&text)));
            }
        }
    }
    let mut out = String::with_capacity(md.len() * 2);
    html::push_html(&mut out, events.into_iter());
    // Wide tables and code scroll inside their own box on a phone; a box
    // that scrolls must be reachable by keyboard.
    out.replace(
        "<table>",
        r#"<div class="scroll" tabindex="0" role="region" aria-label="table"><table>"#,
    )
    .replace("</table>", "</table></div>")
    .replace("<pre>", r#"<pre tabindex="0">"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_the_anchors_github_gives_them() {
        assert_eq!(
            slug("Run-to-run spread (measured)"),
            "run-to-run-spread-measured"
        );
        assert_eq!(slug("Scoring (rules v2)"), "scoring-rules-v2");
        let html = to_html(
            "# Scoring (rules v2)\n\nSee [Versions](#versions).\n\n## Versions\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
        );
        assert!(html.contains(r##"<h1 id="scoring-rules-v2">"##), "{html}");
        assert!(html.contains(r##"<h2 id="versions">"##), "{html}");
        assert!(html.contains(r##"<a href="#versions">"##), "{html}");
        assert!(
            html.contains(
                r#"<div class="scroll" tabindex="0" role="region" aria-label="table"><table>"#
            ) && html.contains("</table></div>"),
            "tables are rendered, in a box of their own: {html}"
        );
    }

    #[test]
    fn the_built_in_rules_are_the_documents_and_every_anchor_resolves() {
        let html = &*BODY;
        assert!(html.contains(r#"<h2 id="robust-service">"#), "{html}");
        for link in html.split(r##"href="#"##).skip(1) {
            let target = link.split('"').next().unwrap_or_default();
            assert!(
                html.contains(&format!(r#"id="{target}""#)),
                "#{target} has no heading"
            );
        }
    }
}
