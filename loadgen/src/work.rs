//! The engine: worker threads, each with its own single-threaded runtime
//! (like wrk's threads), driving connections in closed or open loop.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::LocalSet;

use bytes::Bytes;

use crate::answers::AnswerPlan;
use crate::client::{Conn, ErrorKind};
use crate::live::{LiveCounters, LiveView};
use crate::outcome::Outcome;
use crate::record::Recorder;
use crate::schedule::RatePlan;
use crate::target::RequestTemplate;

/// How load is applied.
#[derive(Debug, Clone)]
pub enum Load {
    /// Each connection sends its next request as soon as the previous one is answered.
    Closed {
        connections: u32,
        duration: Option<Duration>,
        max_requests: Option<u64>,
    },
    /// Requests are due at the plan's arrival times, whatever the target does.
    Open {
        plan: RatePlan,
        connections: u32,
        max_connections: u32,
    },
}

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub addr: SocketAddr,
    /// Sent in turn; one template for most runs.
    pub requests: Vec<RequestTemplate>,
    /// A challenge run's requests, built per arrival, with every answer
    /// checked; when set, it is sent instead of `requests`.
    pub answers: Option<Arc<AnswerPlan>>,
    pub load: Load,
    pub threads: usize,
    pub timeout: Duration,
}

/// What the workers measured.
#[derive(Debug)]
pub struct RunData {
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub recorder: Recorder,
    pub stopped_early: bool,
    pub answers_checked: bool,
}

/// Runs the load on `spec.threads` threads and merges what they recorded.
/// Setting `stop` ends the run early; what was measured is kept.
pub fn run(spec: &RunSpec, live: &LiveView, stop: Arc<AtomicBool>) -> RunData {
    let threads = spec.threads.max(1);
    let started_at = SystemTime::now();
    // A common start a little ahead, so no thread begins behind schedule.
    let start = Instant::now() + Duration::from_millis(20);
    let issued = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let ctx = ThreadCtx {
                spec: spec.clone(),
                thread: t,
                threads,
                start,
                stop: stop.clone(),
                issued: issued.clone(),
                live: live.thread(t),
            };
            std::thread::Builder::new()
                .name(format!("loadgen-{t}"))
                .spawn(move || ctx.run())
        })
        .collect();
    let mut merged = Recorder::new(start, live.thread(0));
    for h in handles {
        match h {
            Ok(handle) => match handle.join() {
                Ok(r) => merged.merge(r),
                Err(_) => tracing::error!("a worker thread panicked; its measurements are lost"),
            },
            Err(e) => tracing::error!(error = %e, "could not start a worker thread"),
        }
    }
    let elapsed = merged.last_done.max(Duration::from_millis(1));
    RunData {
        started_at,
        elapsed,
        recorder: merged,
        stopped_early: stop.load(Ordering::Relaxed),
        answers_checked: spec.answers.is_some(),
    }
}

struct ThreadCtx {
    spec: RunSpec,
    thread: usize,
    threads: usize,
    start: Instant,
    stop: Arc<AtomicBool>,
    issued: Arc<AtomicU64>,
    live: Arc<LiveCounters>,
}

/// What the tasks of one thread share.
struct Shared {
    addr: SocketAddr,
    requests: Vec<RequestTemplate>,
    answers: Option<Arc<AnswerPlan>>,
    head: bool,
    timeout: Duration,
    stop: Arc<AtomicBool>,
    live: Arc<LiveCounters>,
    rec: RefCell<Recorder>,
}

/// One request to send, and the document whose answer it must get.
struct Send {
    bytes: Bytes,
    expect: Option<u32>,
}

impl Shared {
    /// The request of arrival `n` (template `rotation` when not checked).
    fn request(&self, n: u64, rotation: usize) -> Send {
        match &self.answers {
            Some(plan) => {
                let (bytes, id) = plan.request(n);
                Send {
                    bytes,
                    expect: Some(id),
                }
            }
            None => Send {
                bytes: self.requests[rotation % self.requests.len().max(1)]
                    .bytes
                    .clone(),
                expect: None,
            },
        }
    }

    /// Sends on `conn`, keeping the body only when the answer is checked.
    async fn exchange(
        &self,
        conn: &mut Conn,
        send: &Send,
        body: &mut Vec<u8>,
    ) -> Result<(u16, bool), ErrorKind> {
        let io = async {
            if send.expect.is_some() {
                conn.send_keeping_body(&send.bytes, self.head, body).await
            } else {
                conn.send(&send.bytes, self.head).await
            }
        };
        match tokio::time::timeout(self.timeout, io).await {
            Ok(r) => r,
            Err(_) => Err(ErrorKind::Timeout),
        }
    }

    /// How a response counts, its answer checked when asked. Called after
    /// the completion time is taken, so checking is never measured.
    fn outcome(&self, status: u16, send: &Send, body: &[u8]) -> Outcome {
        let right = match (&self.answers, send.expect) {
            (Some(plan), Some(id)) => Some((200..300).contains(&status) && plan.is_right(id, body)),
            _ => None,
        };
        Outcome::judge(status, right)
    }
}

impl ThreadCtx {
    fn run(self) -> Recorder {
        let recorder = Recorder::new(self.start, self.live.clone());
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "could not build a worker runtime");
                return recorder;
            }
        };
        let head = self
            .spec
            .requests
            .first()
            .is_some_and(|r| r.method.eq_ignore_ascii_case("HEAD"));
        let shared = Rc::new(Shared {
            addr: self.spec.addr,
            requests: self.spec.requests.clone(),
            answers: self.spec.answers.clone(),
            head,
            timeout: self.spec.timeout,
            stop: self.stop.clone(),
            live: self.live.clone(),
            rec: RefCell::new(recorder),
        });
        let local = LocalSet::new();
        local.block_on(&runtime, self.drive(shared.clone()));
        drop(local);
        match Rc::try_unwrap(shared) {
            Ok(s) => s.rec.into_inner(),
            // Unreachable once every task has finished; keep the data anyway.
            Err(s) => std::mem::replace(
                &mut *s.rec.borrow_mut(),
                Recorder::new(self.start, self.live.clone()),
            ),
        }
    }

    async fn drive(&self, shared: Rc<Shared>) {
        tokio::time::sleep_until(self.start.into()).await;
        match &self.spec.load {
            Load::Closed {
                connections,
                duration,
                max_requests,
            } => {
                let deadline = duration.map(|d| self.start + d);
                let mine = (0..*connections as usize).filter(|c| c % self.threads == self.thread);
                let tasks: Vec<_> = mine
                    .map(|c| {
                        let loop_ctx = ClosedLoop {
                            shared: shared.clone(),
                            deadline,
                            max_requests: *max_requests,
                            issued: self.issued.clone(),
                            next: c,
                            connections: u64::from(*connections),
                            sent: 0,
                        };
                        tokio::task::spawn_local(loop_ctx.run())
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            }
            Load::Open {
                plan,
                connections,
                max_connections,
            } => {
                let share = |n: u32| (n as usize).div_ceil(self.threads).max(1);
                self.open_loop(shared, plan, share(*connections), share(*max_connections))
                    .await;
            }
        }
    }

    /// Dispatches this thread's share of the arrivals (every `threads`-th)
    /// to idle connections, opening more up to `max` when all are busy.
    async fn open_loop(&self, shared: Rc<Shared>, plan: &RatePlan, initial: usize, max: usize) {
        let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<Option<Conn>>();
        for _ in 0..initial.min(max) {
            let _ = idle_tx.send(None);
        }
        let mut slots = initial.min(max);
        let mut n = self.thread as u64;
        let mut rotation = self.thread;
        while let Some(offset) = plan.intended_offset(n) {
            if shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let intended = self.start + Duration::from_secs_f64(offset);
            if intended > Instant::now() {
                tokio::time::sleep_until(intended.into()).await;
            }
            let slot = match idle_rx.try_recv() {
                Ok(slot) => slot,
                Err(_) if slots < max => {
                    slots += 1;
                    None
                }
                Err(_) => match idle_rx.recv().await {
                    Some(slot) => slot,
                    None => break,
                },
            };
            let (shared, tx) = (shared.clone(), idle_tx.clone());
            let send = shared.request(n, rotation);
            tokio::task::spawn_local(async move {
                let conn = one_request(&shared, slot, intended, send).await;
                let _ = tx.send(conn);
            });
            n += self.threads as u64;
            rotation += 1;
        }
        // Wait for the requests still in flight; each is bounded by the timeout.
        for _ in 0..slots {
            if idle_rx.recv().await.is_none() {
                break;
            }
        }
    }
}

/// One open-loop request on an idle connection (or a new one).
async fn one_request(
    shared: &Shared,
    slot: Option<Conn>,
    intended: Instant,
    send: Send,
) -> Option<Conn> {
    shared
        .rec
        .borrow_mut()
        .lag(Instant::now().saturating_duration_since(intended));
    shared.live.in_flight(1);
    let mut body = Vec::new();
    let result = async {
        let mut conn = match slot {
            Some(c) => c,
            None => match tokio::time::timeout(shared.timeout, Conn::connect(shared.addr)).await {
                Ok(Ok(c)) => c,
                Ok(Err(kind)) => return (Err(kind), None),
                Err(_) => return (Err(ErrorKind::Timeout), None),
            },
        };
        let sent = Instant::now();
        match shared.exchange(&mut conn, &send, &mut body).await {
            Ok((status, keep)) => (Ok((status, sent)), keep.then_some(conn)),
            Err(kind) => (Err(kind), None),
        }
    }
    .await;
    shared.live.in_flight(-1);
    let done = Instant::now();
    match result.0 {
        Ok((status, sent)) => {
            let outcome = shared.outcome(status, &send, &body);
            shared
                .rec
                .borrow_mut()
                .response(status, outcome, intended, sent, done);
        }
        Err(kind) => shared.rec.borrow_mut().error(kind, done),
    }
    result.1
}

struct ClosedLoop {
    shared: Rc<Shared>,
    deadline: Option<Instant>,
    max_requests: Option<u64>,
    issued: Arc<AtomicU64>,
    next: usize,
    connections: u64,
    /// Requests this connection sent so far.
    sent: u64,
}

impl ClosedLoop {
    async fn run(mut self) {
        let shared = self.shared.clone();
        let mut conn: Option<Conn> = None;
        let mut body = Vec::new();
        loop {
            body.clear();
            if shared.stop.load(Ordering::Relaxed)
                || self.deadline.is_some_and(|d| Instant::now() >= d)
            {
                break;
            }
            if let Some(max) = self.max_requests
                && self.issued.fetch_add(1, Ordering::Relaxed) >= max
            {
                break;
            }
            let mut c = match conn.take() {
                Some(c) => c,
                None => {
                    match tokio::time::timeout(shared.timeout, Conn::connect(shared.addr)).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(kind)) => {
                            shared.rec.borrow_mut().error(kind, Instant::now());
                            // A refused connection fails at once; do not spin.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                        Err(_) => {
                            shared
                                .rec
                                .borrow_mut()
                                .error(ErrorKind::Timeout, Instant::now());
                            continue;
                        }
                    }
                }
            };
            // Connection c rotates over the templates from c on, and (when
            // answers are checked) sends arrivals c, c + connections, ...,
            // distinct across connections.
            let n = self.next as u64 + self.sent * self.connections.max(1);
            let send = shared.request(n, self.next + self.sent as usize);
            self.sent += 1;
            let sent = Instant::now();
            let result = shared.exchange(&mut c, &send, &mut body).await;
            let done = Instant::now();
            match result {
                Ok((status, keep)) => {
                    let outcome = shared.outcome(status, &send, &body);
                    shared
                        .rec
                        .borrow_mut()
                        .response(status, outcome, sent, sent, done);
                    if keep {
                        conn = Some(c);
                    }
                }
                Err(kind) => shared.rec.borrow_mut().error(kind, done),
            }
        }
    }
}
