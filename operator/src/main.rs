//! chaos-operator: runs the Contributor and ChallengeRun controllers.

use std::process::ExitCode;
use std::sync::Arc;

use chaos_operator::context::Context;
use chaos_operator::settings::{RunSettings, Settings};
use chaos_operator::telemetry::{self, Metrics};
use chaos_operator::{Config, leader, runner};
use clap::Parser;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,kube=warn".into());
    if config.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos-operator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos-operator: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let admin_token = config.admin_token()?;
    let anvil_token = config.anvil_admin_token()?;
    // The accounts it registers are its own; it may never recover another's.
    let platform = chaos_client::Client::new(&config.api_url)?
        .with_admin_token(admin_token)
        .as_manager(chaos_operator::labels::MANAGER);
    let metrics = Metrics::default();
    let kube_config = kube::Config::infer().await.map_err(|e| {
        anyhow::anyhow!("cannot find the Kubernetes API (KUBECONFIG or in-cluster): {e}")
    })?;
    let client = kube::client::ClientBuilder::try_from(kube_config)
        .map_err(|e| anyhow::anyhow!("cannot set up the Kubernetes client: {e}"))?
        .with_layer(&metrics.count_kube_requests())
        .build();
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            stop.cancel();
        }
    });
    let probes = tokio::spawn(telemetry::serve(
        config.listen,
        metrics.clone(),
        stop.clone(),
    ));
    let mut context = Context::new(
        client.clone(),
        platform,
        Settings {
            platform_namespace: config.platform_namespace.clone(),
            anvil_image: config.anvil_image.clone(),
            anvil_admin_token: anvil_token.clone(),
            anvil_resources: config.anvil_resources.clone(),
            budget: chaos_operator::contributor::topology::Budget {
                cpu_millis: config.budget_cpu_millis,
                memory_mib: config.budget_memory_mib,
                pods: config.budget_pods,
            },
        },
        RunSettings {
            loadgen_image: config.loadgen_image.clone(),
            corpus_key: chaos_domain::corpus::CorpusKey::from_secret(&anvil_token),
            loadgen_resources: config.loadgen_resources.clone(),
            max_concurrent: config.max_concurrent_runs.max(1),
            job_ttl: config.job_ttl,
            unschedulable_after: config.unschedulable_after,
        },
        metrics,
    );
    context.concurrency = config.reconcile_concurrency;
    let ctx = Arc::new(context);

    if config.leader_election {
        let identity = std::env::var("POD_NAME")
            .unwrap_or_else(|_| format!("chaos-operator-{}", std::process::id()));
        let Some(leadership) = leader::acquire(
            client,
            &config.platform_namespace,
            &identity,
            &ctx.metrics,
            &stop,
        )
        .await?
        else {
            return Ok(());
        };
        let work = runner::controllers(ctx, &config.platform_namespace, stop.clone());
        leader::while_leading(work, &leadership.deposed()).await;
        stop.cancel();
        leadership.release().await;
    } else {
        runner::controllers(ctx, &config.platform_namespace, stop.clone()).await;
    }
    stop.cancel();
    if let Ok(Err(e)) = probes.await {
        tracing::warn!(error = %e, "probe server");
    }
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
