//! The data channel's transport: one WebSocket to the session's stream URL, sequence numbers
//! for what we send, acknowledgements and retransmission of what the other side has not
//! acknowledged, in-order delivery of what it sends (acking, buffering early messages,
//! dropping duplicates), pause/start publication, and `ResumeSession` plus a redial when the
//! socket drops, backing off between attempts and giving up after a bounded time. What the
//! bytes mean (shell, port, handshake) is the session's business.
//!
//! The channel also holds the process's stop signals (TERM, HUP, INT), which the session
//! gets through `wait`: every write races them, so a peer that stops reading, whose socket
//! then never drains, cannot keep a stop asked for waiting.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::protocol::{
    Acknowledge, ChannelClosed, Message, OpenDataChannel, ACKNOWLEDGE, CHANNEL_CLOSED,
    OUTPUT_STREAM_DATA, PAUSE_PUBLICATION, START_PUBLICATION,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Asks the service for a fresh token for the same session; `None` when it has ended.
pub type Resumer =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = anyhow::Result<Option<String>>>>>>;

/// The process was asked to stop while the data channel could not go on: a write waiting on
/// a socket that does not drain, or a resume.
#[derive(Debug, thiserror::Error)]
#[error("stopped while the data channel was stalled or being resumed")]
pub struct StopRequested;

/// What a signal asks of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM/SIGHUP: end the session.
    Terminate,
    /// SIGINT: the remote's interrupt in a shell (outside raw mode), the end of a port or
    /// ssh session.
    Interrupt,
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Cancel-safe: a signal not yet taken stays for the next call.
    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.int.recv() => Stop::Interrupt,
            _ = self.term.recv() => Stop::Terminate,
            _ = self.hup.recv() => Stop::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> Stop {
        let _ = tokio::signal::ctrl_c().await;
        Stop::Interrupt
    }
}

/// How long an interrupt meant for the remote waits for a write that a peer keeps waiting
/// before it ends the session: a socket that drains again soon still delivers it.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// Interrupts (SIGINT) that came while a write waited.
#[derive(Default)]
struct Interrupts {
    /// They are the remote's (a shell), not a stop.
    for_remote: bool,
    /// Not yet handed on by `wait`.
    pending: u32,
}

/// Runs `work` (a write a peer may never let finish) unless a stop comes first: TERM or HUP
/// ends the wait at once, and so does an interrupt unless it is the remote's. That one is
/// kept for `wait` to hand on once the write is done, and ends the wait if the write is still
/// not done INTERRUPT_GRACE later.
async fn race<T>(
    signals: &mut Signals,
    interrupts: &mut Interrupts,
    work: impl Future<Output = T>,
) -> Result<T, StopRequested> {
    tokio::pin!(work);
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            // The usual write completes on its first poll: no signal is looked at then.
            biased;
            done = &mut work => return Ok(done),
            stop = signals.next() => match stop {
                Stop::Interrupt if interrupts.for_remote => {
                    interrupts.pending += 1;
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + INTERRUPT_GRACE);
                }
                Stop::Terminate | Stop::Interrupt => return Err(StopRequested),
            },
            () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                if deadline.is_some() => return Err(StopRequested),
        }
    }
}

/// How many of our messages may wait for an acknowledgement before we stop reading local
/// input: bounds memory (1 KiB payloads) however slow the other side is.
const WINDOW: usize = 2048;
/// Messages that arrive ahead of a gap are kept up to this many (as AWS's client does).
const REORDER_LIMIT: usize = 10_000;
const TICK: Duration = Duration::from_millis(100);
const MAX_RTO: Duration = Duration::from_secs(1);
/// AWS's client gives up after this many resends of one message.
const MAX_RESENDS: u32 = 3000;
const KEEPALIVE: Duration = Duration::from_secs(300);
/// The pause before the first resume. It doubles with each attempt until MAX_PAUSE, and each
/// is up to half as long again at random (so at most 30 s), so that clients cut off together
/// do not come back in step.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(20);
/// How long resuming may go on with the channel carrying nothing before the session is given
/// up: a service or network that has not come back by then is not coming back for this
/// session (AWS's plugin also gives up after a few minutes). RUNAS_SSM_RESUME_LIMIT, in
/// seconds, replaces it; the tests use a few.
const RESUME_LIMIT: Duration = Duration::from_secs(180);
const RESUME_LIMIT_VARIABLE: &str = "RUNAS_SSM_RESUME_LIMIT";

/// ClientVersion we report: that of the plugin release whose behaviour we follow. From 1.1.70
/// agents multiplex port-forwarding connections (smux) when they can; above 1.2.331.0 they
/// leave smux keepalives to the client, as we do.
pub const CLIENT_VERSION: &str = "1.2.650.0";

struct Pending {
    seq: i64,
    frame: Vec<u8>,
    /// `None` while publication is paused or the socket is being redialled.
    sent: Option<Instant>,
    resends: u32,
}

/// What arrived, in order, for the session to act on.
#[derive(Debug)]
pub enum Incoming {
    Data { payload_type: u32, payload: Vec<u8> },
    Closed(ChannelClosed),
}

/// Something `wait` saw; `handle` acts on it (a stop is the session's to act on). Split so
/// that `wait` is cancel-safe inside a `select!` and the sends `handle` makes are never cut in
/// half.
pub enum Event {
    Socket(Option<Result<Frame, tungstenite::Error>>),
    Tick,
    Stop(Stop),
}

/// Resumes since the channel last carried data.
#[derive(Clone, Copy)]
struct Resuming {
    since: Instant,
    attempts: u32,
}

pub struct Channel {
    socket: Socket,
    url: String,
    /// Built once from the profile's CA bundle, and used again for every resume.
    tls: Arc<rustls::ClientConfig>,
    client_id: String,
    resume: Resumer,
    next_seq: i64,
    unacked: VecDeque<Pending>,
    expected: i64,
    early: BTreeMap<i64, Message>,
    paused: bool,
    rtt: Duration,
    rttv: Duration,
    rto: Duration,
    tick: tokio::time::Interval,
    last_ping: Instant,
    signals: Signals,
    interrupts: Interrupts,
    /// A write was given up to a stop: the socket takes nothing more.
    stalled: bool,
    resuming: Option<Resuming>,
    resume_limit: Duration,
}

impl Channel {
    pub async fn open(
        url: &str,
        token: &str,
        resume: Resumer,
        tls: Arc<rustls::ClientConfig>,
    ) -> anyhow::Result<Self> {
        let client_id = uuid::Uuid::new_v4().to_string();
        let signals = Signals::new().context("cannot listen for signals")?;
        let socket = dial(url, token, &client_id, &tls).await?;
        let resume_limit = std::env::var(RESUME_LIMIT_VARIABLE)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map_or(RESUME_LIMIT, Duration::from_secs);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Self {
            socket,
            url: url.to_owned(),
            tls,
            client_id,
            resume,
            next_seq: 0,
            unacked: VecDeque::new(),
            expected: 0,
            early: BTreeMap::new(),
            paused: false,
            rtt: Duration::from_millis(100),
            rttv: Duration::ZERO,
            rto: Duration::from_millis(200),
            tick,
            last_ping: Instant::now(),
            signals,
            interrupts: Interrupts::default(),
            stalled: false,
            resuming: None,
            resume_limit,
        })
    }

    /// Whether the session may read more local input: not paused by the service, and not too
    /// far ahead of the acknowledgements.
    pub fn can_send(&self) -> bool {
        !self.paused && self.unacked.len() < WINDOW
    }

    /// Cancel-safe: waits for a frame (unless `read` is false: the session has nowhere to put
    /// more), the retransmission tick or a stop.
    pub async fn wait(&mut self, read: bool) -> Event {
        if self.interrupts.pending > 0 {
            self.interrupts.pending -= 1;
            return Event::Stop(Stop::Interrupt);
        }
        tokio::select! {
            frame = self.socket.next(), if read => Event::Socket(frame),
            _ = self.tick.tick() => Event::Tick,
            stop = self.signals.next() => Event::Stop(stop),
        }
    }

    /// SIGINT is the remote's interrupt (a shell outside raw mode), not a stop: a write that
    /// waits on the socket then gives it INTERRUPT_GRACE to go through.
    pub fn interrupts_are_the_remotes(&mut self) {
        self.interrupts.for_remote = true;
    }

    /// Runs `work`, a write to a local connection (which its client may never read), unless a
    /// stop comes first, as for the channel's own writes.
    pub async fn or_stop<T>(&mut self, work: impl Future<Output = T>) -> anyhow::Result<T> {
        Ok(race(&mut self.signals, &mut self.interrupts, work).await?)
    }

    /// Sends one sequenced message (`input_stream_data`); it is kept until acknowledged.
    pub async fn send(&mut self, payload_type: u32, payload: Vec<u8>) -> anyhow::Result<()> {
        debug_assert!(!payload.is_empty(), "the agent drops empty payloads");
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = Message::input(seq, payload_type, payload).encode();
        let sent = if self.paused {
            None
        } else {
            self.transmit(Frame::binary(frame.clone())).await?;
            Some(Instant::now())
        };
        self.unacked.push_back(Pending {
            seq,
            frame,
            sent,
            resends: 0,
        });
        Ok(())
    }

    /// Acts on what `wait` returned; gives back what is now deliverable, in order.
    pub async fn handle(&mut self, event: Event) -> anyhow::Result<Vec<Incoming>> {
        match event {
            Event::Tick => {
                self.retransmit().await?;
                Ok(Vec::new())
            }
            Event::Socket(Some(Ok(Frame::Binary(bytes)))) => self.receive(&bytes).await,
            Event::Socket(ended @ (Some(Ok(Frame::Close(_)) | Err(_)) | None)) => {
                let why = match ended {
                    Some(Err(e)) => e.to_string(),
                    Some(Ok(_)) => "closed by the other end".to_owned(),
                    None => "the connection ended".to_owned(),
                };
                self.redial(why).await?;
                Ok(Vec::new())
            }
            // Text, ping and pong frames carry nothing for us (tungstenite answers pings).
            Event::Socket(Some(Ok(_))) | Event::Stop(_) => Ok(Vec::new()),
        }
    }

    pub async fn close(mut self) {
        if !self.stalled {
            let close = self.socket.close(None);
            let _ = race(&mut self.signals, &mut self.interrupts, close).await;
        }
    }

    async fn receive(&mut self, bytes: &[u8]) -> anyhow::Result<Vec<Incoming>> {
        let message = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                // Not acknowledged, so the sender retransmits it.
                tracing::debug!("dropping a data channel frame: {e}");
                return Ok(Vec::new());
            }
        };
        // The channel carries data: a later drop starts its resumes afresh.
        self.resuming = None;
        match message.message_type.as_str() {
            ACKNOWLEDGE => {
                self.acknowledged(&message);
                Ok(Vec::new())
            }
            OUTPUT_STREAM_DATA => self.sequenced(message).await,
            CHANNEL_CLOSED => {
                let closed = serde_json::from_slice(&message.payload).unwrap_or_default();
                Ok(vec![Incoming::Closed(closed)])
            }
            PAUSE_PUBLICATION => {
                tracing::debug!("the service paused publication");
                self.paused = true;
                Ok(Vec::new())
            }
            START_PUBLICATION => {
                tracing::debug!("the service resumed publication");
                self.paused = false;
                self.flush_unsent().await?;
                Ok(Vec::new())
            }
            other => {
                tracing::debug!("ignoring a data channel message of type {other:?}");
                Ok(Vec::new())
            }
        }
    }

    fn acknowledged(&mut self, message: &Message) {
        let Ok(ack) = serde_json::from_slice::<Acknowledge>(&message.payload) else {
            tracing::debug!("ignoring an unreadable acknowledgement");
            return;
        };
        let seq = ack.acknowledged_message_sequence_number;
        let Some(index) = self.unacked.iter().position(|p| p.seq == seq) else {
            return;
        };
        let pending = self.unacked.remove(index).expect("index from position");
        // Karn: a resent message's round trip is ambiguous.
        if let (Some(sent), 0) = (pending.sent, pending.resends) {
            self.sample_rtt(sent.elapsed());
        }
    }

    fn sample_rtt(&mut self, sample: Duration) {
        let diff = self.rtt.abs_diff(sample);
        self.rttv = self.rttv * 3 / 4 + diff / 4;
        self.rtt = self.rtt * 7 / 8 + sample / 8;
        self.rto = (self.rtt + (self.rttv * 4).max(Duration::from_millis(10))).min(MAX_RTO);
    }

    async fn sequenced(&mut self, message: Message) -> anyhow::Result<Vec<Incoming>> {
        let seq = message.sequence_number;
        if seq < self.expected {
            // A duplicate: our ack was lost or late. Re-acking stops the resends.
            self.ack(&message).await?;
            return Ok(Vec::new());
        }
        if seq > self.expected {
            if self.early.len() < REORDER_LIMIT || self.early.contains_key(&seq) {
                self.ack(&message).await?;
                self.early.insert(seq, message);
            }
            return Ok(Vec::new());
        }
        self.ack(&message).await?;
        self.expected += 1;
        let mut ready = vec![Incoming::Data {
            payload_type: message.payload_type,
            payload: message.payload,
        }];
        while let Some(next) = self.early.remove(&self.expected) {
            self.expected += 1;
            ready.push(Incoming::Data {
                payload_type: next.payload_type,
                payload: next.payload,
            });
        }
        Ok(ready)
    }

    async fn ack(&mut self, message: &Message) -> anyhow::Result<()> {
        self.transmit(Frame::binary(Message::acknowledge(message).encode()))
            .await
    }

    /// A send error is left to the reader, which sees the socket end and redials; only a
    /// stop while the socket does not drain is an error here.
    async fn transmit(&mut self, frame: Frame) -> anyhow::Result<()> {
        let send = self.socket.send(frame);
        match race(&mut self.signals, &mut self.interrupts, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::debug!("data channel send failed: {e}");
                Ok(())
            }
            Err(stop) => {
                self.stalled = true;
                Err(stop.into())
            }
        }
    }

    async fn retransmit(&mut self) -> anyhow::Result<()> {
        if self.last_ping.elapsed() >= KEEPALIVE {
            self.last_ping = Instant::now();
            self.transmit(Frame::Ping(b"keepalive".to_vec().into()))
                .await?;
        }
        if self.paused {
            return Ok(());
        }
        let now = Instant::now();
        let rto = self.rto;
        let mut due = Vec::new();
        for pending in self.unacked.iter_mut() {
            if pending
                .sent
                .is_some_and(|sent| now.duration_since(sent) >= rto)
            {
                pending.resends += 1;
                if pending.resends > MAX_RESENDS {
                    bail!("the session stopped acknowledging what we send");
                }
                pending.sent = Some(now);
                due.push(pending.frame.clone());
            }
        }
        if !due.is_empty() {
            tracing::debug!("resending {} unacknowledged messages", due.len());
        }
        for frame in due {
            self.transmit(Frame::binary(frame)).await?;
        }
        Ok(())
    }

    async fn flush_unsent(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut due = Vec::new();
        for pending in self.unacked.iter_mut().filter(|p| p.sent.is_none()) {
            pending.sent = Some(now);
            due.push(pending.frame.clone());
        }
        for frame in due {
            self.transmit(Frame::binary(frame)).await?;
        }
        Ok(())
    }

    /// The socket dropped (`why`): ask for a new token and dial the same URL again, keeping
    /// every sequence number, then resend whatever is unacknowledged. Attempts are paused
    /// longer each time until the channel carries data again, each said on stderr, and given
    /// up once the next would start past the resume limit.
    async fn redial(&mut self, mut why: String) -> anyhow::Result<()> {
        let Resuming {
            since,
            mut attempts,
        } = self.resuming.unwrap_or(Resuming {
            since: Instant::now(),
            attempts: 0,
        });
        loop {
            let pause = pause_before(attempts + 1);
            let spent = since.elapsed();
            let Some(left) = self.resume_limit.checked_sub(spent + pause) else {
                let tries = if attempts == 1 { "attempt" } else { "attempts" };
                bail!(
                    "the session's data channel kept dropping ({why}); gave up reconnecting \
                     after {attempts} {tries} in {} s",
                    spent.as_secs()
                );
            };
            attempts += 1;
            self.resuming = Some(Resuming { since, attempts });
            say(&format!(
                "the session's data channel dropped ({why}); reconnecting in {:.1} s (attempt {attempts})",
                pause.as_secs_f64()
            ));
            let (resume, url, client_id, tls) =
                (&mut self.resume, &self.url, &self.client_id, &self.tls);
            let attempt = async move {
                tokio::time::sleep(pause).await;
                // Bounded too: a service that does not answer must not outlast the limit.
                tokio::time::timeout(left, resume_and_dial(resume, url, client_id, tls))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within the resume limit")))
            };
            let resumed = tokio::select! {
                resumed = attempt => resumed,
                // Whoever asks the process to stop meanwhile (TERM, HUP, INT) is not kept
                // waiting for a service that has gone.
                _ = self.signals.next() => return Err(StopRequested.into()),
            };
            match resumed {
                Ok(Some(socket)) => {
                    self.socket = socket;
                    for pending in self.unacked.iter_mut() {
                        pending.sent = None;
                    }
                    if !self.paused {
                        self.flush_unsent().await?;
                    }
                    return Ok(());
                }
                Ok(None) => bail!("the session ended (it timed out or was terminated)"),
                Err(e) => why = format!("{e:#}"),
            }
        }
    }
}

/// One resume: a fresh token, and the same URL dialled with it; `None` once the session is
/// over.
async fn resume_and_dial(
    resume: &mut Resumer,
    url: &str,
    client_id: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> anyhow::Result<Option<Socket>> {
    tracing::debug!("data channel dropped; resuming the session");
    match resume().await? {
        Some(token) => dial(url, &token, client_id, tls).await.map(Some),
        None => Ok(None),
    }
}

/// The pause before resume `attempt` (from 1): FIRST_PAUSE doubling up to MAX_PAUSE, then up
/// to half as long again at random (none if the system has no randomness to give).
fn pause_before(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let base = FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE);
    let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX) / 2.0;
    base.mul_f64(1.0 + jitter)
}

/// One line on stderr while the session goes on: CR LF on a terminal, which a shell session
/// (or the ssh we serve) may have in raw mode, and no control characters from what a service
/// said.
fn say(line: &str) {
    use std::io::IsTerminal;
    let line: String = line
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let end = if std::io::stderr().is_terminal() {
        "\r\n"
    } else {
        "\n"
    };
    eprint!("aws-runas: {line}{end}");
}

async fn dial(
    url: &str,
    token: &str,
    client_id: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> anyhow::Result<Socket> {
    let config = WebSocketConfig::default().max_message_size(Some(1 << 20));
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            // Keystrokes and acknowledgements are small: Nagle would hold each for an ack.
            true,
            Some(Connector::Rustls(tls.clone())),
        ),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out"))
    // tungstenite's errors repeat their source in their own message: theirs alone is one line
    // that says it once.
    .and_then(|r| r.map_err(|e| anyhow::anyhow!("{e}")))
    .with_context(|| {
        format!(
            "cannot open the session's data channel at {}",
            redact_url(url)
        )
    })?;
    let open = OpenDataChannel {
        message_schema_version: "1.0",
        request_id: uuid::Uuid::new_v4().to_string(),
        token_value: token,
        client_id,
        client_version: CLIENT_VERSION,
    };
    let text = serde_json::to_string(&open).expect("strings serialize");
    socket
        .send(Frame::text(text))
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the session's data channel: {e}"))?;
    Ok(socket)
}

/// The stream URL's query may carry signing parameters: keep it out of messages.
fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn pauses_double_from_half_a_second_with_jitter_up_to_thirty_seconds() {
        for _ in 0..100 {
            let pauses: Vec<Duration> = (1..=12).map(super::pause_before).collect();
            for (attempt, pause) in (1u32..).zip(&pauses) {
                let base = Duration::from_millis(500 << (attempt - 1)).min(super::MAX_PAUSE);
                assert!(
                    *pause >= base && *pause <= base * 3 / 2,
                    "{attempt}: {pause:?}"
                );
            }
            // Below the cap each pause is longer than the one before, whatever the jitter.
            assert!(pauses[..6].windows(2).all(|w| w[1] > w[0]), "{pauses:?}");
            assert!(pauses.iter().all(|p| *p <= Duration::from_secs(30)));
        }
    }

    #[test]
    fn signing_parameters_stay_out_of_messages() {
        assert_eq!(
            super::redact_url(
                "wss://h/v1/data-channel/s-1?role=publish_subscribe&X-Amz-Signature=abc"
            ),
            "wss://h/v1/data-channel/s-1"
        );
    }
}
