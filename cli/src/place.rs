//! A contributor's place on a leaderboard, before and after a run, so
//! chaosctl can say whether the run moved them.

use chaos_client::Client;
use chaos_domain::Challenge;
use serde::Serialize;

/// Where a contributor stands: rank (1-based) and how many rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Place {
    pub rank: i64,
    pub total: i64,
    pub score: f64,
}

/// Boards are read in pages of this many, up to `MAX_PAGES`.
const PER_PAGE: u32 = 200;
const MAX_PAGES: u32 = 10;

/// The contributor's place, `None` when they are not on the board (or it
/// could not be read: the place is a courtesy, never a reason to fail).
pub async fn of(client: &Client, challenge: Challenge, contributor: &str) -> Option<Place> {
    for page in 1..=MAX_PAGES {
        let board = client.leaderboard(challenge, page, PER_PAGE).await.ok()?;
        if let Some(e) = board.entries.iter().find(|e| e.contributor == contributor) {
            return Some(Place {
                rank: e.rank,
                total: board.total,
                score: e.score,
            });
        }
        if board.entries.len() < PER_PAGE as usize {
            return None;
        }
    }
    None
}

/// One line about the move: `rank 2 of 5 (up from 4)`.
pub fn describe(before: Option<Place>, after: Option<Place>) -> String {
    match (before, after) {
        (_, None) => "not on the board".into(),
        (None, Some(a)) => format!("rank {} of {} (new on the board)", a.rank, a.total),
        (Some(b), Some(a)) if a.rank < b.rank => {
            format!("rank {} of {} (up from {})", a.rank, a.total, b.rank)
        }
        (Some(b), Some(a)) if a.rank > b.rank => format!(
            "rank {} of {} (down from {}: others passed you)",
            a.rank, a.total, b.rank
        ),
        (Some(b), Some(a)) if a.score > b.score => format!(
            "rank {} of {} (unchanged; your best rose from {} to {})",
            a.rank, a.total, b.score, a.score
        ),
        (Some(_), Some(a)) => format!(
            "rank {} of {} (unchanged: your best run stays)",
            a.rank, a.total
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(rank: i64, total: i64, score: f64) -> Option<Place> {
        Some(Place { rank, total, score })
    }

    #[test]
    fn says_how_the_place_moved() {
        assert_eq!(
            describe(None, p(3, 7, 480.0)),
            "rank 3 of 7 (new on the board)"
        );
        assert_eq!(
            describe(p(4, 7, 400.0), p(2, 7, 520.0)),
            "rank 2 of 7 (up from 4)"
        );
        assert_eq!(
            describe(p(2, 7, 520.0), p(2, 7, 520.0)),
            "rank 2 of 7 (unchanged: your best run stays)"
        );
        assert_eq!(
            describe(p(1, 7, 500.0), p(1, 7, 530.0)),
            "rank 1 of 7 (unchanged; your best rose from 500 to 530)"
        );
        assert_eq!(
            describe(p(1, 7, 500.0), p(2, 8, 500.0)),
            "rank 2 of 8 (down from 1: others passed you)"
        );
        assert_eq!(describe(p(1, 7, 500.0), None), "not on the board");
    }
}
