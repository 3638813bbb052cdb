//! The fault API client against a real url-anvil on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use chaos_client::anvil::{FaultApi, FaultError};
use chaos_domain::FaultSpec;

const TOKEN: &str = "fault-api-test-token";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_fault_is_injected_refused_or_unreachable() {
    let mut c = url_anvil::Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.admin_token = Some(TOKEN.into());
    let anvil = url_anvil::spawn(c).await.expect("url-anvil starts");
    let base = format!("{}/", anvil.base_url());

    FaultApi::new(http(), &base, TOKEN)
        .inject(&FaultSpec::latency(50, 30))
        .await
        .expect("injected");
    let active: serde_json::Value = http()
        .get(format!("{}/admin/faults", anvil.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("json");
    assert_eq!(active.as_array().map(Vec::len), Some(1), "{active}");
    assert_eq!(active[0]["kind"], "latency", "{active}");

    let wrong = FaultApi::new(http(), &base, "not-the-token-0123456789")
        .inject(&FaultSpec::freeze(1))
        .await
        .expect_err("refused");
    assert!(
        matches!(wrong, FaultError::Refused(s) if s.as_u16() == 403),
        "{wrong}"
    );

    let down = FaultApi::new(http(), "http://127.0.0.1:9", TOKEN)
        .inject(&FaultSpec::freeze(1))
        .await
        .expect_err("unreachable");
    assert!(
        down.to_string().starts_with("url-anvil unreachable"),
        "{down}"
    );
}
