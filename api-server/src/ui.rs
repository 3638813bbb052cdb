//! Server-rendered pages (placeholder until the templates land).
use axum::response::Html;
pub async fn leaderboard() -> Html<&'static str> {
    Html("")
}
pub async fn run() -> Html<&'static str> {
    Html("")
}
pub async fn contributor() -> Html<&'static str> {
    Html("")
}
