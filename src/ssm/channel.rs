//! The data channel's transport: one WebSocket to the session's stream URL, sequence numbers
//! for what we send, acknowledgements and retransmission of what the other side has not
//! acknowledged, in-order delivery of what it sends (acking, buffering early messages,
//! dropping duplicates), pause/start publication, and `ResumeSession` plus a redial when the
//! socket drops. What the bytes mean (shell, port, handshake) is the session's business.

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

/// The process was asked to stop while the data channel was being resumed.
#[derive(Debug, thiserror::Error)]
#[error("stopped while the data channel was being resumed")]
pub struct StopRequested;

/// Completes when the process is asked to stop.
#[cfg(unix)]
async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(not(unix))]
async fn stop_requested() {
    let _ = tokio::signal::ctrl_c().await;
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
const REDIAL_TRIES: u32 = 5;

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

/// Something `wait` saw; `handle` acts on it. Split so that `wait` is cancel-safe inside a
/// `select!` and the sends `handle` makes are never cut in half.
pub enum Event {
    Socket(Option<Result<Frame, tungstenite::Error>>),
    Tick,
}

pub struct Channel {
    socket: Socket,
    url: String,
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
}

impl Channel {
    pub async fn open(url: &str, token: &str, resume: Resumer) -> anyhow::Result<Self> {
        let client_id = uuid::Uuid::new_v4().to_string();
        let socket = dial(url, token, &client_id).await?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Self {
            socket,
            url: url.to_owned(),
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
        })
    }

    /// Whether the session may read more local input: not paused by the service, and not too
    /// far ahead of the acknowledgements.
    pub fn can_send(&self) -> bool {
        !self.paused && self.unacked.len() < WINDOW
    }

    /// Cancel-safe: waits for a frame or the retransmission tick.
    pub async fn wait(&mut self) -> Event {
        tokio::select! {
            frame = self.socket.next() => Event::Socket(frame),
            _ = self.tick.tick() => Event::Tick,
        }
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
            self.transmit(frame.clone()).await;
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
            Event::Socket(Some(Ok(Frame::Close(_)) | Err(_)) | None) => {
                self.redial().await?;
                Ok(Vec::new())
            }
            // Text, ping and pong frames carry nothing for us (tungstenite answers pings).
            Event::Socket(Some(Ok(_))) => Ok(Vec::new()),
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
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
                self.flush_unsent().await;
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
            self.ack(&message).await;
            return Ok(Vec::new());
        }
        if seq > self.expected {
            if self.early.len() < REORDER_LIMIT || self.early.contains_key(&seq) {
                self.ack(&message).await;
                self.early.insert(seq, message);
            }
            return Ok(Vec::new());
        }
        self.ack(&message).await;
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

    async fn ack(&mut self, message: &Message) {
        self.transmit(Message::acknowledge(message).encode()).await;
    }

    /// A send error is left to the reader, which sees the socket end and redials.
    async fn transmit(&mut self, frame: Vec<u8>) {
        if let Err(e) = self.socket.send(Frame::binary(frame)).await {
            tracing::debug!("data channel send failed: {e}");
        }
    }

    async fn retransmit(&mut self) -> anyhow::Result<()> {
        if self.last_ping.elapsed() >= KEEPALIVE {
            self.last_ping = Instant::now();
            let _ = self
                .socket
                .send(Frame::Ping(b"keepalive".to_vec().into()))
                .await;
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
            self.transmit(frame).await;
        }
        Ok(())
    }

    async fn flush_unsent(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        for pending in self.unacked.iter_mut().filter(|p| p.sent.is_none()) {
            pending.sent = Some(now);
            due.push(pending.frame.clone());
        }
        for frame in due {
            self.transmit(frame).await;
        }
    }

    /// The socket dropped: ask for a new token and dial the same URL again, keeping every
    /// sequence number, then resend whatever is unacknowledged.
    async fn redial(&mut self) -> anyhow::Result<()> {
        // Resuming can take many seconds against a service that has gone; whoever asks the
        // process to stop meanwhile (TERM, HUP, INT) is not kept waiting for it.
        tokio::select! {
            resumed = self.redial_attempts() => resumed,
            () = stop_requested() => Err(StopRequested.into()),
        }
    }

    async fn redial_attempts(&mut self) -> anyhow::Result<()> {
        let mut delay = Duration::from_millis(100);
        let mut last_error = None;
        for attempt in 1..=REDIAL_TRIES {
            tracing::debug!("data channel dropped; resuming the session (attempt {attempt})");
            match (self.resume)().await {
                Ok(None) => bail!("the session ended (it timed out or was terminated)"),
                Ok(Some(token)) => match dial(&self.url, &token, &self.client_id).await {
                    Ok(socket) => {
                        self.socket = socket;
                        for pending in self.unacked.iter_mut() {
                            pending.sent = None;
                        }
                        if !self.paused {
                            self.flush_unsent().await;
                        }
                        return Ok(());
                    }
                    Err(e) => last_error = Some(e),
                },
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("no attempt made"))
            .context("the data channel dropped and could not be resumed"))
    }
}

async fn dial(url: &str, token: &str, client_id: &str) -> anyhow::Result<Socket> {
    let config = WebSocketConfig::default().max_message_size(Some(1 << 20));
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            // Keystrokes and acknowledgements are small: Nagle would hold each for an ack.
            true,
            Some(Connector::Rustls(tls_config())),
        ),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out"))
    .and_then(|r| r.map_err(anyhow::Error::from))
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
        .context("cannot open the session's data channel")?;
    Ok(socket)
}

/// The stream URL's query may carry signing parameters: keep it out of messages.
fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// rustls with the provider the SDK already builds (aws-lc-rs) and the bundled web roots.
fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
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
