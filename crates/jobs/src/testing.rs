//! A real SMTP server on loopback for the test suites: the `mailin` protocol engine behind a TCP
//! listener, keeping every message it accepts so that a test can read the verification link or
//! the customer notice exactly as a mail client would receive it. It can also be told to refuse
//! mail for a while (4xx) or for good (5xx), to exercise retries and the outbox.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin::{response, Handler, Response, SessionBuilder};

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message, headers and body, as sent.
    pub raw: String,
}

impl ReceivedMail {
    /// A header's value (the first one with this name, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = found.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    found = Some(v.trim().to_string());
                }
            }
        }
        found
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The body as text, with the transfer encoding undone (quoted-printable, base64 or none).
    pub fn text(&self) -> String {
        let body = self
            .raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => {
                use base64::Engine;
                let compact: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            }
            _ => body.replace("\r\n", "\n"),
        }
    }

    /// The first `http(s)://` link in the body that contains `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.text()
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(needle))
            .map(|w| w.trim_end_matches(['.', ',', ')']).to_string())
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let mut out = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => {
                match u8::from_str_radix(&body[i + 1..i + 3], 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.push(b'\n');
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Shared {
    mails: Vec<ReceivedMail>,
    /// Answer the next N transactions with 451.
    refuse_transient: usize,
    /// Refuse recipients containing this with 550.
    refuse_recipient: Option<String>,
}

#[derive(Clone)]
struct Sink {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Sink {
    fn state(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Handler for Sink {
    fn rcpt(&mut self, to: &str) -> Response {
        if let Some(bad) = &self.state().refuse_recipient {
            if to.contains(bad.as_str()) {
                return response::NO_MAILBOX;
            }
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        {
            let mut state = self.state();
            if state.refuse_transient > 0 {
                state.refuse_transient -= 1;
                return response::INTERNAL_ERROR;
            }
        }
        self.from = from.to_string();
        self.to = to.to_vec();
        self.data.clear();
        response::START_DATA
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: String::from_utf8_lossy(&self.data).into_owned(),
        };
        self.data.clear();
        self.state().mails.push(mail);
        self.shared.1.notify_all();
        response::OK
    }
}

/// The test SMTP server. It runs until dropped.
pub struct SmtpSink {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    port: u16,
}

impl SmtpSink {
    /// Starts on a free port of 127.0.0.1.
    pub fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let sink = Sink {
                    shared: accept_shared.clone(),
                    from: String::new(),
                    to: Vec::new(),
                    data: Vec::new(),
                };
                std::thread::spawn(move || {
                    let _ = serve(stream, sink);
                });
            }
        });
        Ok(SmtpSink { shared, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to give Custodian: `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state().mails.clone()
    }

    /// Messages to one recipient.
    pub fn to(&self, recipient: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(recipient)))
            .collect()
    }

    /// Waits (up to `timeout`) until at least `n` messages have arrived; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        while state.mails.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .1
                .wait_timeout(state, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        state.mails.clone()
    }

    /// Answers the next `n` messages with `451` (try again later).
    pub fn refuse_next(&self, n: usize) {
        self.state().refuse_transient = n;
    }

    /// Answers `550` to every recipient containing `needle`.
    pub fn refuse_recipients(&self, needle: &str) {
        self.state().refuse_recipient = Some(needle.to_string());
    }
}

fn serve(stream: TcpStream, sink: Sink) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let remote: IpAddr = stream.peer_addr()?.ip();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut session = SessionBuilder::new("custodian-test-smtp").build(remote, sink);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            mailin::Action::Reply => res.write_to(&mut writer)?,
            mailin::Action::Close => {
                res.write_to(&mut writer)?;
                writer.flush()?;
                return Ok(());
            }
            // No TLS on the test server; STARTTLS is not offered.
            mailin::Action::UpgradeTls => return Ok(()),
            mailin::Action::NoReply => {}
        }
        writer.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_is_undone() {
        assert_eq!(
            decode_quoted_printable("a=3Db soft=\r\nbreak caf=C3=A9\r\n"),
            "a=b softbreak café\n"
        );
    }
}
