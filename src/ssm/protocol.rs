//! The Session Manager data channel's wire format: the 120-byte-header binary frame with its
//! SHA-256 payload digest, the JSON payloads (acknowledgements, handshake, terminal size,
//! channel_closed) and the opening text frame. Pure: no I/O, so every byte is unit-tested.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The offset of PayloadLength, which is what the header-length word really counts.
pub const HEADER_LENGTH: u32 = 116;
const TYPE_FIELD: usize = 32;

pub const INPUT_STREAM_DATA: &str = "input_stream_data";
pub const OUTPUT_STREAM_DATA: &str = "output_stream_data";
pub const ACKNOWLEDGE: &str = "acknowledge";
pub const CHANNEL_CLOSED: &str = "channel_closed";
pub const START_PUBLICATION: &str = "start_publication";
pub const PAUSE_PUBLICATION: &str = "pause_publication";

/// PayloadType values (the plugin's `PayloadType` enumeration).
pub mod payload {
    pub const OUTPUT: u32 = 1;
    pub const ERROR: u32 = 2;
    pub const SIZE: u32 = 3;
    pub const HANDSHAKE_REQUEST: u32 = 5;
    pub const HANDSHAKE_RESPONSE: u32 = 6;
    pub const HANDSHAKE_COMPLETE: u32 = 7;
    pub const FLAG: u32 = 10;
    pub const STDERR: u32 = 11;
    pub const EXIT_CODE: u32 = 12;
}

/// Values of a Flag payload (4 bytes, big-endian).
pub mod flag {
    pub const DISCONNECT_TO_PORT: u32 = 1;
    pub const TERMINATE_SESSION: u32 = 2;
    pub const CONNECT_TO_PORT_ERROR: u32 = 3;
}

const FLAG_SYN: u64 = 1;
const FLAG_FIN: u64 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("data channel frame too short ({0} bytes)")]
    Short(usize),
    #[error("data channel frame has an invalid header (length {0})")]
    BadHeader(u32),
    #[error("data channel frame of type {0:?} has no creation date")]
    NoDate(String),
    #[error("data channel frame #{0} failed its payload digest check")]
    Digest(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub message_type: String,
    pub schema_version: u32,
    /// Epoch milliseconds.
    pub created_date: u64,
    pub sequence_number: i64,
    pub flags: u64,
    pub message_id: Uuid,
    pub payload_type: u32,
    pub payload: Vec<u8>,
}

impl Message {
    /// A client data message (`input_stream_data`) with a fresh id and the current time.
    pub fn input(sequence_number: i64, payload_type: u32, payload: Vec<u8>) -> Self {
        Self {
            message_type: INPUT_STREAM_DATA.into(),
            schema_version: 1,
            created_date: now_ms(),
            sequence_number,
            flags: 0,
            message_id: Uuid::new_v4(),
            payload_type,
            payload,
        }
    }

    /// The acknowledgement of `of`, as both the plugin and the agent send it.
    pub fn acknowledge(of: &Message) -> Self {
        let ack = Acknowledge {
            acknowledged_message_type: of.message_type.clone(),
            acknowledged_message_id: of.message_id.hyphenated().to_string(),
            acknowledged_message_sequence_number: of.sequence_number,
            is_sequential_message: true,
        };
        Self {
            message_type: ACKNOWLEDGE.into(),
            schema_version: 1,
            created_date: now_ms(),
            sequence_number: 0,
            flags: FLAG_SYN | FLAG_FIN,
            message_id: Uuid::new_v4(),
            payload_type: 0,
            payload: serde_json::to_vec(&ack).expect("a struct of strings and numbers serializes"),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LENGTH as usize + 4 + self.payload.len());
        out.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
        let mut kind = [b' '; TYPE_FIELD];
        let name = self.message_type.as_bytes();
        let n = name.len().min(TYPE_FIELD);
        kind[..n].copy_from_slice(&name[..n]);
        out.extend_from_slice(&kind);
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        out.extend_from_slice(&self.created_date.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&uuid_to_wire(&self.message_id));
        out.extend_from_slice(&crate::digest::sha256(&self.payload));
        out.extend_from_slice(&self.payload_type.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Parses a frame as tolerantly as AWS's own client: the header length says where
    /// PayloadLength sits, and a PayloadType exists only when the header is long enough for it.
    pub fn decode(frame: &[u8]) -> Result<Self, ProtocolError> {
        if frame.len() < 112 {
            return Err(ProtocolError::Short(frame.len()));
        }
        let u32_at = |o: usize| u32::from_be_bytes(frame[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_be_bytes(frame[o..o + 8].try_into().expect("8 bytes"));
        let header_length = u32_at(0);
        let hl = header_length as usize;
        if !(112..=frame.len().saturating_sub(4)).contains(&hl) {
            return Err(ProtocolError::BadHeader(header_length));
        }
        let message_type = String::from_utf8_lossy(&frame[4..4 + TYPE_FIELD])
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        let mut wire_id = [0u8; 16];
        wire_id.copy_from_slice(&frame[64..80]);
        let digest = &frame[80..112];
        let payload_type = if hl >= 116 { u32_at(112) } else { 0 };
        let declared = u32_at(hl) as usize;
        let rest = &frame[hl + 4..];
        let payload = rest[..declared.min(rest.len())].to_vec();
        let message = Self {
            message_type,
            schema_version: u32_at(36),
            created_date: u64_at(40),
            sequence_number: u64_at(48) as i64,
            flags: u64_at(56),
            message_id: uuid_from_wire(&wire_id),
            payload_type,
            payload,
        };
        if message.message_type == START_PUBLICATION || message.message_type == PAUSE_PUBLICATION {
            return Ok(message);
        }
        if message.message_type.is_empty() {
            return Err(ProtocolError::BadHeader(header_length));
        }
        if message.created_date == 0 {
            return Err(ProtocolError::NoDate(message.message_type));
        }
        if !message.payload.is_empty()
            && crate::digest::sha256(&message.payload).as_slice() != digest
        {
            return Err(ProtocolError::Digest(message.sequence_number));
        }
        Ok(message)
    }
}

/// The wire swaps the two 8-byte halves of a UUID.
fn uuid_to_wire(id: &Uuid) -> [u8; 16] {
    let b = id.as_bytes();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&b[8..]);
    out[8..].copy_from_slice(&b[..8]);
    out
}

fn uuid_from_wire(wire: &[u8; 16]) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&wire[8..]);
    b[8..].copy_from_slice(&wire[..8]);
    Uuid::from_bytes(b)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64)
}

/// An acknowledgement's payload; field order is the wire order.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Acknowledge {
    pub acknowledged_message_type: String,
    pub acknowledged_message_id: String,
    pub acknowledged_message_sequence_number: i64,
    pub is_sequential_message: bool,
}

/// The first, text, frame on a freshly dialled socket.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenDataChannel<'a> {
    pub message_schema_version: &'a str,
    pub request_id: String,
    pub token_value: &'a str,
    pub client_id: &'a str,
    pub client_version: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeRequest {
    #[serde(default)]
    pub agent_version: String,
    #[serde(default)]
    pub requested_client_actions: Vec<RequestedAction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestedAction {
    pub action_type: String,
    /// For `SessionType`: `{"SessionType": "Port", "Properties": {"type": ...}}`.
    #[serde(default)]
    pub action_parameters: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeResponse {
    pub client_version: String,
    pub processed_client_actions: Vec<ProcessedAction>,
    pub errors: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessedAction {
    pub action_type: String,
    /// 1 success, 2 failed, 3 unsupported.
    pub action_status: u32,
    pub action_result: Option<serde_json::Value>,
    pub error: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeComplete {
    #[serde(default)]
    pub customer_message: String,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
pub struct Size {
    pub cols: u16,
    pub rows: u16,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelClosed {
    #[serde(default)]
    pub output: String,
}

pub fn flag_payload(value: u32) -> Vec<u8> {
    value.to_be_bytes().to_vec()
}

/// smux v1 (xtaci/smux, as AWS's plugin and agent vendor it): how port sessions multiplex
/// local connections over the one data channel. Frames are cut at arbitrary points into
/// Output payloads, so the reader reassembles them.
pub mod smux {
    pub const SYN: u8 = 0;
    pub const FIN: u8 = 1;
    pub const PSH: u8 = 2;
    pub const NOP: u8 = 3;
    const VERSION: u8 = 1;
    pub const HEADER: usize = 8;

    #[derive(Debug, PartialEq, Eq)]
    pub struct Frame {
        pub cmd: u8,
        pub stream: u32,
        pub data: Vec<u8>,
    }

    /// One frame; `data` must fit the 16-bit length.
    pub fn encode(cmd: u8, stream: u32, data: &[u8]) -> Vec<u8> {
        let len = u16::try_from(data.len()).expect("smux frames carry at most 64 KiB");
        let mut out = Vec::with_capacity(HEADER + data.len());
        out.push(VERSION);
        out.push(cmd);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&stream.to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    #[error("the agent sent a malformed multiplexing frame (version {0}, command {1})")]
    pub struct BadFrame(pub u8, pub u8);

    /// Reassembles frames from the byte stream.
    #[derive(Default)]
    pub struct Reader {
        buffer: Vec<u8>,
    }

    impl Reader {
        pub fn push(&mut self, bytes: &[u8]) {
            self.buffer.extend_from_slice(bytes);
        }

        /// The next complete frame, if one has arrived.
        pub fn next_frame(&mut self) -> Result<Option<Frame>, BadFrame> {
            if self.buffer.len() < HEADER {
                return Ok(None);
            }
            let (version, cmd) = (self.buffer[0], self.buffer[1]);
            if version != VERSION || cmd > NOP {
                return Err(BadFrame(version, cmd));
            }
            let len = u16::from_le_bytes([self.buffer[2], self.buffer[3]]) as usize;
            if self.buffer.len() < HEADER + len {
                return Ok(None);
            }
            let stream = u32::from_le_bytes(self.buffer[4..8].try_into().expect("4 bytes"));
            let data = self.buffer[HEADER..HEADER + len].to_vec();
            self.buffer.drain(..HEADER + len);
            Ok(Some(Frame { cmd, stream, data }))
        }
    }
}

/// Dotted version comparison, as the plugin's `version` package does (missing parts are 0).
pub fn version_newer(version: &str, than: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect()
    };
    let (a, b) = (parts(version), parts(than));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x > y;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "dd01e56b-ff48-483e-a508-b5f073f31b16";
    const DATE: u64 = 1503434274948;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn message(kind: &str, seq: i64, flags: u64, payload_type: u32, payload: &[u8]) -> Message {
        Message {
            message_type: kind.into(),
            schema_version: 1,
            created_date: DATE,
            sequence_number: seq,
            flags,
            message_id: Uuid::parse_str(ID).unwrap(),
            payload_type,
            payload: payload.to_vec(),
        }
    }

    fn header(kind_hex: &str, seq: &str, flags: &str, digest: &str) -> String {
        let pad = "20".repeat(32 - kind_hex.len() / 2);
        format!(
            "00000074 {kind_hex}{pad} 00000001 0000015e0baa7884 {seq} {flags} \
             a508b5f073f31b16dd01e56bff48483e {digest}"
        )
    }

    #[test]
    fn v1_input_stream_data_is_byte_exact() {
        let expected = hex(&format!(
            "{} 00000000 00000007 7061796c6f6164",
            header(
                "696e7075745f73747265616d5f64617461",
                "0000000000000001",
                "0000000000000002",
                "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5"
            )
        ));
        let m = message(INPUT_STREAM_DATA, 1, 2, 0, b"payload");
        assert_eq!(m.encode().len(), 127);
        assert_eq!(m.encode(), expected);
        assert_eq!(Message::decode(&expected).unwrap(), m);
    }

    #[test]
    fn v2_acknowledge_is_byte_exact() {
        let acked = message(OUTPUT_STREAM_DATA, 2, 0, 1, b"x");
        let mut ack = Message::acknowledge(&acked);
        ack.created_date = DATE;
        ack.message_id = Uuid::parse_str(ID).unwrap();
        let json = br#"{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"dd01e56b-ff48-483e-a508-b5f073f31b16","AcknowledgedMessageSequenceNumber":2,"IsSequentialMessage":true}"#;
        assert_eq!(ack.payload, json);
        let mut expected = hex(&format!(
            "{} 00000000 000000b0",
            header(
                "61636b6e6f776c65646765",
                "0000000000000000",
                "0000000000000003",
                "826149d35e09fb655b0de7148dac393b940c08944aeccbefab44cbd86c9be050"
            )
        ));
        expected.extend_from_slice(json);
        assert_eq!(expected.len(), 296);
        assert_eq!(ack.encode(), expected);
        let back: Acknowledge =
            serde_json::from_slice(&Message::decode(&expected).unwrap().payload).unwrap();
        assert_eq!(back.acknowledged_message_sequence_number, 2);
    }

    #[test]
    fn v3_flags_are_byte_exact() {
        let terminate = message(INPUT_STREAM_DATA, 5, 0, payload::FLAG, &flag_payload(2));
        let expected = hex(&format!(
            "{} 0000000a 00000004 00000002",
            header(
                "696e7075745f73747265616d5f64617461",
                "0000000000000005",
                "0000000000000000",
                "433ebf5bc03dffa38536673207a21281612cef5faa9bc7a4d5b9be2fdb12cf1a"
            )
        ));
        assert_eq!(expected.len(), 124);
        assert_eq!(terminate.encode(), expected);
        let disconnect = message(INPUT_STREAM_DATA, 5, 0, payload::FLAG, &flag_payload(1));
        assert_eq!(
            disconnect.encode()[80..112],
            hex("b40711a88c7039756fb8a73827eabe2c0fe5a0346ca7e0a104adc0fc764f528d")[..]
        );
    }

    #[test]
    fn v4_size_is_byte_exact() {
        let size = serde_json::to_vec(&Size { cols: 80, rows: 24 }).unwrap();
        let m = message(INPUT_STREAM_DATA, 0, 0, payload::SIZE, &size);
        let expected = hex(&format!(
            "{} 00000003 00000015 7b22636f6c73223a38302c22726f7773223a32347d",
            header(
                "696e7075745f73747265616d5f64617461",
                "0000000000000000",
                "0000000000000000",
                "d53ca1ea7dce87c11432052a8550ed2615cf715ca843c89710ed83325b691cba"
            )
        ));
        assert_eq!(expected.len(), 141);
        assert_eq!(m.encode(), expected);
    }

    #[test]
    fn plugin_integer_vectors() {
        assert_eq!(5747283i64.to_be_bytes().to_vec(), hex("000000000057b253"));
        assert_eq!(324u32.to_be_bytes().to_vec(), hex("00000144"));
        assert_eq!(DATE.to_be_bytes().to_vec(), hex("0000015e0baa7884"));
    }

    #[test]
    fn a_corrupted_payload_fails_the_digest() {
        let mut frame = message(OUTPUT_STREAM_DATA, 9, 0, 1, b"hello").encode();
        *frame.last_mut().unwrap() ^= 1;
        assert_eq!(Message::decode(&frame), Err(ProtocolError::Digest(9)));
    }

    #[test]
    fn short_and_lying_frames_are_errors_not_panics() {
        assert_eq!(Message::decode(&[0; 10]), Err(ProtocolError::Short(10)));
        let mut frame = message(OUTPUT_STREAM_DATA, 1, 0, 1, b"hi").encode();
        frame[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Message::decode(&frame),
            Err(ProtocolError::BadHeader(_))
        ));
        // A PayloadLength beyond the frame takes what is there, as AWS's client does; the
        // digest then decides.
        let mut frame = message(OUTPUT_STREAM_DATA, 1, 0, 1, b"hi").encode();
        frame[116..120].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(Message::decode(&frame).unwrap().payload, b"hi");
    }

    #[test]
    fn channel_closed_with_a_short_nul_padded_header_parses() {
        // Seen from real services: header length 112 (no PayloadType word), NUL padding.
        let body = br#"{"SessionId":"s-1","Output":"bye"}"#;
        let mut frame = Vec::new();
        frame.extend_from_slice(&112u32.to_be_bytes());
        let mut kind = [0u8; 32];
        kind[..14].copy_from_slice(b"channel_closed");
        frame.extend_from_slice(&kind);
        frame.extend_from_slice(&1u32.to_be_bytes());
        frame.extend_from_slice(&DATE.to_be_bytes());
        frame.extend_from_slice(&0i64.to_be_bytes());
        frame.extend_from_slice(&0u64.to_be_bytes());
        frame.extend_from_slice(&[7; 16]);
        frame.extend_from_slice(&crate::digest::sha256(body));
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.extend_from_slice(body);
        let m = Message::decode(&frame).unwrap();
        assert_eq!(m.message_type, CHANNEL_CLOSED);
        assert_eq!(m.payload_type, 0);
        let closed: ChannelClosed = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(closed.output, "bye");
    }

    #[test]
    fn publication_controls_need_no_digest() {
        let mut m = message(PAUSE_PUBLICATION, 0, 0, 0, b"");
        m.created_date = 0;
        let mut frame = m.encode();
        frame[80..112].fill(0);
        assert_eq!(
            Message::decode(&frame).unwrap().message_type,
            PAUSE_PUBLICATION
        );
    }

    #[test]
    fn handshake_response_matches_the_plugin() {
        let r = HandshakeResponse {
            client_version: "1.2.0.0".into(),
            processed_client_actions: vec![ProcessedAction {
                action_type: "SessionType".into(),
                action_status: 1,
                action_result: None,
                error: String::new(),
            }],
            errors: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"ClientVersion":"1.2.0.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}"#
        );
    }

    #[test]
    fn smux_frames_are_little_endian_and_reassembled_from_any_cut() {
        let syn = smux::encode(smux::SYN, 3, b"");
        assert_eq!(syn, [1, 0, 0, 0, 3, 0, 0, 0]);
        let psh = smux::encode(smux::PSH, 5, b"hello");
        assert_eq!(psh[..8], [1, 2, 5, 0, 5, 0, 0, 0]);
        let mut stream = syn.clone();
        stream.extend_from_slice(&psh);
        stream.extend_from_slice(&smux::encode(smux::FIN, 5, b""));
        for cut in 1..stream.len() {
            let mut r = smux::Reader::default();
            let mut frames = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                r.push(piece);
                while let Some(f) = r.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            assert_eq!(frames.len(), 3, "cut at {cut}");
            assert_eq!(frames[1].data, b"hello");
            assert_eq!((frames[2].cmd, frames[2].stream), (smux::FIN, 5));
        }
        let mut r = smux::Reader::default();
        r.push(&[2, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(r.next_frame(), Err(smux::BadFrame(2, 0)));
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        /// Messages whose every field survives the wire: a type of printable ASCII without
        /// padding that fits its 32 bytes, a creation date (decoding refuses none), and a
        /// payload of any bytes.
        fn message() -> impl Strategy<Value = Message> {
            (
                "[!-~]([ -~]{0,30}[!-~])?",
                any::<u32>(),
                1..=u64::MAX,
                any::<i64>(),
                any::<u64>(),
                any::<u128>(),
                any::<u32>(),
                prop::collection::vec(any::<u8>(), 0..2048),
            )
                .prop_map(|(kind, schema, date, seq, flags, id, ptype, payload)| {
                    Message {
                        message_type: kind,
                        schema_version: schema,
                        created_date: date,
                        sequence_number: seq,
                        flags,
                        message_id: Uuid::from_u128(id),
                        payload_type: ptype,
                        payload,
                    }
                })
        }

        /// A frame as a service might garble one: a real frame with some bytes changed, cut
        /// short or lengthened (where the header length, payload length and digest lie).
        fn garbled() -> impl Strategy<Value = Vec<u8>> {
            (
                message(),
                prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
                any::<prop::sample::Index>(),
                prop::collection::vec(any::<u8>(), 0..8),
            )
                .prop_map(|(m, changes, cut, tail)| {
                    let mut frame = m.encode();
                    for (at, byte) in changes {
                        // Mostly the header, where a change matters most.
                        let end = frame.len().min(124);
                        frame[at.index(end)] = byte;
                    }
                    frame.truncate(cut.index(frame.len() + 1));
                    frame.extend_from_slice(&tail);
                    frame
                })
        }

        /// What `decode` gave back from a frame, written out again and read again, is the
        /// same message, and writing that out again gives the same bytes; only a type the
        /// wire cannot carry as it is (padding, past 32 bytes) may change on the way.
        fn reencodes(decoded: &Message) {
            let carried = decoded.message_type.len() <= 32
                && decoded
                    .message_type
                    .bytes()
                    .all(|b| b.is_ascii_graphic() || b == b' ')
                && !decoded.message_type.ends_with(' ');
            if !carried {
                return;
            }
            let frame = decoded.encode();
            let again = Message::decode(&frame).expect("what decoded once decodes again");
            assert_eq!(&again, decoded);
            assert_eq!(again.encode(), frame);
        }

        proptest! {
            // A second or two, in a debug build.
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn any_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
                if let Ok(m) = Message::decode(&bytes) {
                    reencodes(&m);
                }
            }

            #[test]
            fn garbled_frames_decode_without_panic_and_reencode(frame in garbled()) {
                if let Ok(m) = Message::decode(&frame) {
                    reencodes(&m);
                }
            }

            #[test]
            fn frames_reencode_to_the_same_bytes(m in message()) {
                let frame = m.encode();
                let decoded = Message::decode(&frame).unwrap();
                prop_assert_eq!(&decoded, &m);
                prop_assert_eq!(decoded.encode(), frame);
            }
        }
    }

    #[test]
    fn versions_compare_as_the_plugin_does() {
        assert!(version_newer("3.0.197.0", "3.0.196.0"));
        assert!(!version_newer("3.0.196.0", "3.0.196.0"));
        assert!(version_newer("3.1", "3.0.196.0"));
        assert!(!version_newer("2.3.722.0", "3.0.196.0"));
        assert!(version_newer("3.10.0.0", "3.9.9999.0"));
    }
}
