//! The three kinds of session over one data channel: an interactive shell (raw terminal, size
//! updates, the remote exit status where the agent sends one), local port forwarding (a
//! listener whose connections are multiplexed as smux streams by agents that can, and served
//! one at a time by older ones) and ssh's ProxyCommand (stdin and stdout as the connection).
//! Also the port handshake, and ending cleanly on every path.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::channel::{Channel, Event, Incoming, Resumer, Stop, StopRequested, CLIENT_VERSION};
use super::protocol::{
    flag, flag_payload, payload, smux, version_newer, ChannelClosed, HandshakeComplete,
    HandshakeRequest, HandshakeResponse, ProcessedAction, Size,
};
use super::{Api, Request, Started};

/// AWS's client and agent both cut streams into 1 KiB messages; larger ones have been seen to
/// fail under load.
const CHUNK: usize = 1024;
/// Output that arrives while no local connection is open waits for the next one; past this
/// much, the data channel is not read until one connects (the target's data is never lost).
const HELD_LIMIT: usize = 1 << 20;
/// Local connections queued behind the one being served; more are closed at once.
const MAX_WAITING: usize = 64;

pub enum Kind {
    Shell,
    /// `local` 0 picks a free port.
    Forward {
        remote: u16,
        local: u16,
    },
    Ssh {
        port: u16,
    },
}

impl Kind {
    pub fn request(&self, target: &str) -> Request {
        let (document, parameters) = match self {
            Kind::Shell => (None, Vec::new()),
            Kind::Forward { remote, local } => (
                Some("AWS-StartPortForwardingSession"),
                vec![
                    ("portNumber", remote.to_string()),
                    ("localPortNumber", local.to_string()),
                ],
            ),
            Kind::Ssh { port } => (
                Some("AWS-StartSSHSession"),
                vec![("portNumber", port.to_string())],
            ),
        };
        Request {
            target: target.to_owned(),
            document,
            parameters,
        }
    }
}

/// Starts the session and runs it to its end; TerminateSession is called on every way out.
pub async fn run(api: &Api, target: &str, kind: Kind) -> anyhow::Result<ExitCode> {
    // Bound before StartSession: a port in use must not cost a session.
    let listener = match &kind {
        Kind::Forward { local, .. } => Some(
            TcpListener::bind(("127.0.0.1", *local))
                .await
                .with_context(|| format!("cannot listen on local port {local}"))?,
        ),
        _ => None,
    };
    let started = api.start(&kind.request(target)).await?;
    tracing::debug!("session {} started", started.session_id);
    let result = async {
        let channel = Channel::open(
            &started.stream_url,
            &started.token,
            resumer(api, &started),
            api.tls()?,
        )
        .await?;
        match (kind, listener) {
            (Kind::Forward { remote, .. }, Some(listener)) => {
                forward(channel, &started, listener, remote).await
            }
            (Kind::Ssh { .. }, _) => ssh(channel, &started).await,
            _ => shell(channel, &started).await,
        }
    }
    .await;
    // Asked to stop while the data channel was stalled or being resumed: the stop the user
    // wanted.
    let result = result.or_else(|e| match e.downcast_ref::<StopRequested>() {
        Some(stopped) => {
            tracing::info!("{stopped}");
            Ok(ExitCode::SUCCESS)
        }
        None => Err(e),
    });
    // Bounded: a service that has gone away must not hold up the exit with its retries.
    if tokio::time::timeout(FINISH_LIMIT, api.terminate(&started.session_id))
        .await
        .is_err()
    {
        tracing::info!("TerminateSession got no answer within {FINISH_LIMIT:?}");
    }
    result
}

fn resumer(api: &Api, started: &Started) -> Resumer {
    let api = api.clone();
    let id = started.session_id.clone();
    Box::new(move || {
        let api = api.clone();
        let id = id.clone();
        Box::pin(async move { api.resume(&id).await })
    })
}

/// What the agent's HandshakeRequest told us.
struct Agent {
    version: String,
    /// The port session's `type` property (`LocalPortForwarding` for forward).
    port_type: Option<String>,
}

impl Agent {
    /// Port forwarding is multiplexed (smux) by agents newer than 3.0.196.0, as AWS's plugin
    /// decides; SSH sessions never are.
    fn multiplexes(&self) -> bool {
        self.port_type.as_deref() == Some("LocalPortForwarding")
            && version_newer(&self.version, "3.0.196.0")
    }

    /// Newer agents end idle sessions themselves; smux keepalives would defeat that.
    fn wants_keepalive(&self) -> bool {
        !version_newer(&self.version, "3.1.1511.0")
    }
}

/// How long TerminateSession may take: a stop asked for (a signal, the end of input) must not
/// wait on a service that has gone away.
const FINISH_LIMIT: Duration = Duration::from_secs(3);
/// How long the data channel's last writes may take. They are small, so a socket that has not
/// taken them by then is not draining; TerminateSession ends the session anyway.
const CLOSE_LIMIT: Duration = Duration::from_secs(1);

/// Ends the data channel: the terminate flag first when we end the session, then the close.
async fn finish(mut channel: Channel, terminate: bool) {
    let end = async {
        if terminate {
            let _ = channel
                .send(payload::FLAG, flag_payload(flag::TERMINATE_SESSION))
                .await;
        }
        channel.close().await;
    };
    if tokio::time::timeout(CLOSE_LIMIT, end).await.is_err() {
        tracing::info!("the data channel did not close within {CLOSE_LIMIT:?}; leaving it");
    }
}

/// Answers the agent's HandshakeRequest: we take the session type, and decline KMS
/// encryption (which ends the session) with a pointer to the plugin.
async fn handshake(channel: &mut Channel, request: &[u8]) -> anyhow::Result<Agent> {
    let request: HandshakeRequest =
        serde_json::from_slice(request).context("unreadable handshake from the agent")?;
    tracing::debug!("handshake from agent {}", request.agent_version);
    let mut kms = false;
    let mut port_type = None;
    let actions = request
        .requested_client_actions
        .iter()
        .map(|a| {
            let (status, error) = match a.action_type.as_str() {
                "SessionType" => {
                    port_type = a.action_parameters["Properties"]["type"]
                        .as_str()
                        .map(str::to_owned);
                    (1, String::new())
                }
                "KMSEncryption" => {
                    kms = true;
                    (
                        2,
                        "KMS encryption is not supported by this client".to_owned(),
                    )
                }
                _ => (3, format!("unsupported action {}", a.action_type)),
            };
            ProcessedAction {
                action_type: a.action_type.clone(),
                action_status: status,
                action_result: None,
                error,
            }
        })
        .collect();
    let response = HandshakeResponse {
        client_version: CLIENT_VERSION.into(),
        processed_client_actions: actions,
        errors: None,
    };
    channel
        .send(
            payload::HANDSHAKE_RESPONSE,
            serde_json::to_vec(&response).expect("plain data serializes"),
        )
        .await?;
    if kms {
        bail!(
            "this session is KMS-encrypted, which the built-in client does not support: \
             run it with -P (AWS's session-manager-plugin)"
        );
    }
    Ok(Agent {
        version: request.agent_version,
        port_type,
    })
}

fn handshake_complete(payload: &[u8]) {
    if let Ok(done) = serde_json::from_slice::<HandshakeComplete>(payload) {
        if !done.customer_message.is_empty() {
            eprintln!("{}", printable(&done.customer_message));
        }
    }
}

fn closed_message(closed: &ChannelClosed, started: &Started) -> String {
    if closed.output.is_empty() {
        format!("Exiting session with sessionId: {}.", started.session_id)
    } else {
        format!(
            "SessionId: {} : {}",
            started.session_id,
            printable(&closed.output)
        )
    }
}

/// Service-supplied text goes to the user's terminal outside the session's own stream: no
/// escape sequences in it.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

/// Stdin on its own thread: a blocking read cannot be cancelled, and a channel can.
fn stdin_reader() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; CHUNK];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

fn write_out(out: &mut impl Write, bytes: &[u8]) -> anyhow::Result<()> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write the session's output")
}

fn terminal_size() -> Size {
    // AWS's client falls back to 300x100 when the size is unknown.
    let (cols, rows) = crossterm::terminal::size().unwrap_or((300, 100));
    Size { cols, rows }
}

async fn shell(mut channel: Channel, started: &Started) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    channel.interrupts_are_the_remotes();
    let interactive = std::io::stdin().is_terminal();
    let raw = if interactive {
        Some(crate::tty::RawMode::enable()?)
    } else {
        None
    };
    let mut stdin = stdin_reader();
    let mut stdin_open = true;
    let mut size = terminal_size();
    let mut size_poll = tokio::time::interval(Duration::from_millis(500));
    // Input and sizes wait until the agent has spoken first: a shell that shakes hands (KMS,
    // NonInteractiveCommands) drops anything sent before the handshake completes; one that
    // does not starts with its output (AWS's client waits for that too).
    let mut ready = false;
    let mut exit_code: Option<u8> = None;
    let stdout = std::io::stdout();
    let outcome: anyhow::Result<Option<String>> = loop {
        tokio::select! {
            event = channel.wait(true) => {
                let event = match event {
                    Event::Stop(Stop::Terminate) => break Ok(None),
                    Event::Stop(Stop::Interrupt) => {
                        channel.send(payload::OUTPUT, vec![0x03]).await?;
                        continue;
                    }
                    event => event,
                };
                let mut closed = None;
                let was_ready = ready;
                for incoming in channel.handle(event).await? {
                    match incoming {
                        Incoming::Data { payload_type: payload::OUTPUT, payload } => {
                            ready = true;
                            write_out(&mut stdout.lock(), &payload)?;
                        }
                        Incoming::Data { payload_type: payload::ERROR | payload::STDERR, payload } => {
                            ready = true;
                            write_out(&mut std::io::stderr().lock(), &payload)?;
                        }
                        Incoming::Data { payload_type: payload::EXIT_CODE, payload } => {
                            match parse_exit_code(&payload) {
                                Some(code) => exit_code = Some(code),
                                None => tracing::debug!("unreadable exit status from the agent"),
                            }
                        }
                        Incoming::Data { payload_type: payload::HANDSHAKE_REQUEST, payload } => {
                            handshake(&mut channel, &payload).await?;
                        }
                        Incoming::Data { payload_type: payload::HANDSHAKE_COMPLETE, payload } => {
                            handshake_complete(&payload);
                            ready = true;
                        }
                        Incoming::Data { payload_type, .. } => {
                            tracing::debug!("ignoring payload type {payload_type} in a shell");
                        }
                        Incoming::Closed(c) => closed = Some(closed_message(&c, started)),
                    }
                }
                if closed.is_some() {
                    break Ok(closed);
                }
                if ready && !was_ready {
                    channel.send(payload::SIZE, serde_json::to_vec(&size)?).await?;
                }
            }
            chunk = stdin.recv(), if ready && stdin_open && channel.can_send() => match chunk {
                Some(mut bytes) => {
                    // A lone newline is Enter: terminals send CR.
                    if bytes == b"\n" {
                        bytes = b"\r".to_vec();
                    }
                    channel.send(payload::OUTPUT, bytes).await?;
                }
                None => stdin_open = false,
            },
            _ = size_poll.tick(), if ready => {
                let now = terminal_size();
                if now != size {
                    size = now;
                    channel.send(payload::SIZE, serde_json::to_vec(&size)?).await?;
                }
            }
        }
    };
    finish(channel, matches!(outcome, Ok(None))).await;
    drop(raw);
    let message = outcome?;
    if let Some(message) = message {
        eprintln!("\n{message}");
    }
    Ok(ExitCode::from(exit_code.unwrap_or(0)))
}

/// The agent's exit status message, `EXIT_CODE: N` (sent in NonInteractiveCommands sessions
/// only: an interactive shell's status does not cross the data channel). A status that does
/// not fit an exit code (Windows, negative) is reported as failure.
fn parse_exit_code(payload: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let code: i64 = text.strip_prefix("EXIT_CODE:")?.trim().parse().ok()?;
    Some(u8::try_from(code).unwrap_or(1))
}

async fn ssh(mut channel: Channel, started: &Started) -> anyhow::Result<ExitCode> {
    let mut stdin = stdin_reader();
    let mut ready = false;
    let stdout = std::io::stdout();
    let outcome: anyhow::Result<bool> = loop {
        tokio::select! {
            event = channel.wait(true) => {
                if let Event::Stop(_) = event {
                    break Ok(true);
                }
                let mut closed = false;
                for incoming in channel.handle(event).await? {
                    match incoming {
                        Incoming::Data { payload_type: payload::OUTPUT, payload } => {
                            write_out(&mut stdout.lock(), &payload)?;
                        }
                        Incoming::Data { payload_type: payload::HANDSHAKE_REQUEST, payload } => {
                            handshake(&mut channel, &payload).await?;
                            ready = true;
                        }
                        Incoming::Data { payload_type: payload::HANDSHAKE_COMPLETE, payload } => {
                            handshake_complete(&payload);
                        }
                        Incoming::Data { payload_type: payload::FLAG, payload } if payload == flag_payload(flag::CONNECT_TO_PORT_ERROR) => {
                            bail!("the instance could not connect to the ssh port");
                        }
                        Incoming::Data { payload_type, .. } => {
                            tracing::debug!("ignoring payload type {payload_type} in an ssh session");
                        }
                        Incoming::Closed(c) => {
                            tracing::debug!("{}", closed_message(&c, started));
                            closed = true;
                        }
                    }
                }
                if closed {
                    break Ok(false);
                }
            }
            chunk = stdin.recv(), if ready && channel.can_send() => match chunk {
                Some(bytes) => channel.send(payload::OUTPUT, bytes).await?,
                // ssh closed our stdin: it is done with the connection.
                None => break Ok(true),
            },
        }
    };
    finish(channel, matches!(outcome, Ok(true))).await;
    outcome.map(|_| ExitCode::SUCCESS)
}

async fn read_from(conn: Option<&mut TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    match conn {
        Some(conn) => conn.read(buf).await,
        None => std::future::pending().await,
    }
}

/// The next local connection to serve, first given what the target sent while none was open.
async fn next_connection(
    waiting: &mut VecDeque<TcpStream>,
    held: &mut Vec<u8>,
) -> Option<TcpStream> {
    let mut conn = waiting.pop_front()?;
    if !held.is_empty() && conn.write_all(&std::mem::take(held)).await.is_err() {
        tracing::debug!("local connection closed before it got the target's first bytes");
    }
    Some(conn)
}

/// Multiplexed forwarding: every local connection is an smux stream of its own, served at
/// the same time as the others; a task per connection reads it.
struct Mux {
    next_stream: u32,
    writers: HashMap<u32, OwnedWriteHalf>,
    reader: smux::Reader,
    tx: mpsc::Sender<(u32, Option<Vec<u8>>)>,
    rx: mpsc::Receiver<(u32, Option<Vec<u8>>)>,
}

impl Mux {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel(64);
        Self {
            // Client-opened streams are odd, from 3 (as the plugin's smux client numbers them).
            next_stream: 3,
            writers: HashMap::new(),
            reader: smux::Reader::default(),
            tx,
            rx,
        }
    }

    async fn open(&mut self, channel: &mut Channel, conn: TcpStream) -> anyhow::Result<()> {
        let stream = self.next_stream;
        self.next_stream += 2;
        let (mut read, write) = conn.into_split();
        self.writers.insert(stream, write);
        channel
            .send(payload::OUTPUT, smux::encode(smux::SYN, stream, b""))
            .await?;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK - smux::HEADER];
            loop {
                match read.read(&mut buf).await {
                    Ok(n) if n > 0 => {
                        if tx.send((stream, Some(buf[..n].to_vec()))).await.is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = tx.send((stream, None)).await;
                        return;
                    }
                }
            }
        });
        Ok(())
    }

    /// What a local connection read (`None`: it ended), as an smux frame to send.
    async fn local(
        &mut self,
        channel: &mut Channel,
        stream: u32,
        data: Option<Vec<u8>>,
    ) -> anyhow::Result<()> {
        let frame = match data {
            Some(data) => smux::encode(smux::PSH, stream, &data),
            None => smux::encode(smux::FIN, stream, b""),
        };
        channel.send(payload::OUTPUT, frame).await
    }

    /// Output from the agent: smux frames, cut anywhere.
    async fn output(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.reader.push(bytes);
        while let Some(frame) = self.reader.next_frame()? {
            match frame.cmd {
                smux::PSH => {
                    if let Some(writer) = self.writers.get_mut(&frame.stream) {
                        if writer.write_all(&frame.data).await.is_err() {
                            tracing::debug!(
                                "local connection {} closed while writing",
                                frame.stream
                            );
                            self.writers.remove(&frame.stream);
                        }
                    }
                }
                smux::FIN => {
                    if let Some(mut writer) = self.writers.remove(&frame.stream) {
                        let _ = writer.shutdown().await;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

async fn next_local(mux: Option<&mut Mux>) -> Option<(u32, Option<Vec<u8>>)> {
    match mux {
        Some(mux) => mux.rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn forward(
    mut channel: Channel,
    started: &Started,
    listener: TcpListener,
    remote: u16,
) -> anyhow::Result<ExitCode> {
    let port = listener.local_addr()?.port();
    eprintln!("Port {port} opened for sessionId {}.", started.session_id);
    eprintln!("Waiting for connections...");
    let mut ready = false;
    let mut current: Option<TcpStream> = None;
    let mut waiting: VecDeque<TcpStream> = VecDeque::new();
    let mut held: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut mux: Option<Mux> = None;
    let mut keepalive = tokio::time::interval(Duration::from_secs(10));
    let mut wants_keepalive = false;
    let outcome: anyhow::Result<bool> = loop {
        tokio::select! {
            event = channel.wait(current.is_some() || held.len() < HELD_LIMIT) => {
                if let Event::Stop(_) = event {
                    break Ok(true);
                }
                let mut closed = false;
                for incoming in channel.handle(event).await? {
                    match incoming {
                        Incoming::Data { payload_type: payload::OUTPUT, payload } if mux.is_some() => {
                            if let Some(mux) = mux.as_mut() {
                                channel.or_stop(mux.output(&payload)).await??;
                            }
                        }
                        Incoming::Data { payload_type: payload::OUTPUT, payload } => match current.as_mut() {
                            Some(conn) => {
                                if channel.or_stop(conn.write_all(&payload)).await?.is_err() {
                                    // The local side is gone; its end is noticed on read.
                                    tracing::debug!("local connection closed while writing");
                                }
                            }
                            None => held.extend_from_slice(&payload),
                        },
                        Incoming::Data { payload_type: payload::HANDSHAKE_REQUEST, payload } => {
                            let agent = handshake(&mut channel, &payload).await?;
                            if agent.multiplexes() {
                                tracing::debug!("agent {} multiplexes connections", agent.version);
                                wants_keepalive = agent.wants_keepalive();
                                let mut m = Mux::new();
                                for conn in current.take().into_iter().chain(waiting.drain(..)) {
                                    m.open(&mut channel, conn).await?;
                                }
                                mux = Some(m);
                            }
                            ready = true;
                        }
                        Incoming::Data { payload_type: payload::HANDSHAKE_COMPLETE, payload } => {
                            handshake_complete(&payload);
                        }
                        Incoming::Data { payload_type: payload::FLAG, payload } if payload == flag_payload(flag::CONNECT_TO_PORT_ERROR) => {
                            eprintln!("aws-runas: the instance could not connect to its port {remote}");
                            if mux.is_none() {
                                current = channel.or_stop(next_connection(&mut waiting, &mut held)).await?;
                            }
                        }
                        Incoming::Data { payload_type, .. } => {
                            tracing::debug!("ignoring payload type {payload_type} in a port session");
                        }
                        Incoming::Closed(c) => {
                            eprintln!("{}", closed_message(&c, started));
                            closed = true;
                        }
                    }
                }
                if closed {
                    break Ok(false);
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((conn, peer)) => {
                    tracing::debug!("connection from {peer}");
                    let _ = conn.set_nodelay(true);
                    if let Some(mux) = mux.as_mut() {
                        mux.open(&mut channel, conn).await?;
                    } else if current.is_none() {
                        waiting.push_back(conn);
                        current = channel.or_stop(next_connection(&mut waiting, &mut held)).await?;
                    } else if waiting.len() < MAX_WAITING {
                        // One at a time: the agent has one connection to the target.
                        waiting.push_back(conn);
                    } else {
                        // A flood of local connections must not exhaust descriptors or memory.
                        tracing::debug!("too many waiting connections; closing {peer}");
                    }
                }
                Err(e) => tracing::debug!("accept failed: {e}"),
            },
            read = read_from(current.as_mut(), &mut buf), if ready && channel.can_send() => match read {
                Ok(n) if n > 0 => channel.send(payload::OUTPUT, buf[..n].to_vec()).await?,
                _ => {
                    channel.send(payload::FLAG, flag_payload(flag::DISCONNECT_TO_PORT)).await?;
                    current = channel.or_stop(next_connection(&mut waiting, &mut held)).await?;
                }
            },
            local = next_local(mux.as_mut()), if channel.can_send() => {
                if let (Some((stream, data)), Some(mux)) = (local, mux.as_mut()) {
                    mux.local(&mut channel, stream, data).await?;
                }
            }
            _ = keepalive.tick(), if wants_keepalive => {
                channel.send(payload::OUTPUT, smux::encode(smux::NOP, 0, b"")).await?;
            }
        }
    };
    finish(channel, matches!(outcome, Ok(true))).await;
    outcome.map(|_| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_parameters_match_the_aws_cli() {
        let r = Kind::Forward {
            remote: 80,
            local: 0,
        }
        .request("i-0123456789abcdef0");
        assert_eq!(r.document, Some("AWS-StartPortForwardingSession"));
        assert_eq!(r.parameters_map()["portNumber"], vec!["80".to_owned()]);
        assert_eq!(r.parameters_map()["localPortNumber"], vec!["0".to_owned()]);
        let r = Kind::Ssh { port: 2222 }.request("i-0123456789abcdef0");
        assert_eq!(r.document, Some("AWS-StartSSHSession"));
        assert_eq!(r.parameters_map()["portNumber"], vec!["2222".to_owned()]);
        assert_eq!(Kind::Shell.request("i-1").document, None);
    }

    #[test]
    fn service_messages_cannot_drive_the_terminal() {
        assert_eq!(printable("bye\x1b]0;owned\x07\n"), "bye?]0;owned?\n");
    }

    #[test]
    fn exit_codes_in_the_agents_words() {
        assert_eq!(parse_exit_code(b"EXIT_CODE: 3"), Some(3));
        assert_eq!(parse_exit_code(b"EXIT_CODE: 0\n"), Some(0));
        assert_eq!(parse_exit_code(b"EXIT_CODE: 300"), Some(1));
        assert_eq!(parse_exit_code(b"EXIT_CODE: -1"), Some(1));
        assert_eq!(parse_exit_code(b"3"), None);
        assert_eq!(parse_exit_code(b"EXIT_CODE: x"), None);
        assert_eq!(parse_exit_code(b"\x00\x00"), None);
    }
}
