//! A minimal HTTP/1.1 client connection: write the prepared request,
//! parse the response head with httparse, skip the body. Nothing is
//! allocated per request, which is what lets loadgen keep up with wrk.

use std::io::ErrorKind as IoKind;
use std::net::SocketAddr;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a request got no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The connection could not be opened (refused, unreachable).
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The peer reset the connection.
    Reset,
    /// The peer closed the connection before a complete response.
    Closed,
    /// The response was not valid HTTP/1.1.
    Protocol,
    /// Any other I/O error.
    Io,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Closed,
        ErrorKind::Protocol,
        ErrorKind::Io,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Io => "io",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }

    fn from_io(e: &std::io::Error) -> ErrorKind {
        match e.kind() {
            IoKind::ConnectionReset | IoKind::BrokenPipe | IoKind::ConnectionAborted => {
                ErrorKind::Reset
            }
            IoKind::UnexpectedEof => ErrorKind::Closed,
            IoKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Io,
        }
    }
}

/// An open keep-alive connection.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` that hold unread data.
    filled: usize,
}

const MAX_HEADERS: usize = 64;
const INITIAL_BUF: usize = 16 * 1024;
const MAX_HEAD: usize = 64 * 1024;
/// The most body kept when an answer is checked. url-anvil's answers are
/// about 200 bytes; a longer body is kept only in part, so it fails the check.
pub const MAX_CAPTURE: usize = 16 * 1024;

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, ErrorKind> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: vec![0; INITIAL_BUF],
            filled: 0,
        })
    }

    /// Sends one request and reads its whole response. Returns the status
    /// and whether the connection may be used again.
    pub async fn send(
        &mut self,
        request: &[u8],
        head_request: bool,
    ) -> Result<(u16, bool), ErrorKind> {
        self.exchange(request, head_request, None).await
    }

    /// Like [`Conn::send`], and keeps the body (its first [`MAX_CAPTURE`]
    /// bytes) in `body`, so the answer can be checked.
    pub async fn send_keeping_body(
        &mut self,
        request: &[u8],
        head_request: bool,
        body: &mut Vec<u8>,
    ) -> Result<(u16, bool), ErrorKind> {
        self.exchange(request, head_request, Some(body)).await
    }

    async fn exchange(
        &mut self,
        request: &[u8],
        head_request: bool,
        mut capture: Option<&mut Vec<u8>>,
    ) -> Result<(u16, bool), ErrorKind> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| ErrorKind::from_io(&e))?;
        let (status, head_len, body) = self.read_head(head_request).await?;
        let keep = match body {
            Body::None { keep_alive } => {
                self.consume(head_len);
                keep_alive
            }
            Body::Length { len, keep_alive } => {
                self.consume(head_len);
                self.skip(len, capture).await?;
                keep_alive
            }
            Body::Chunked { keep_alive } => {
                self.consume(head_len);
                self.skip_chunked(capture).await?;
                keep_alive
            }
            Body::UntilClose => {
                self.consume(head_len);
                keep(&mut capture, &self.buf[..self.filled]);
                self.filled = 0;
                loop {
                    match self.stream.read(&mut self.buf).await {
                        Ok(0) => break,
                        Ok(n) => keep(&mut capture, &self.buf[..n]),
                        Err(e) => return Err(ErrorKind::from_io(&e)),
                    }
                }
                false
            }
        };
        Ok((status, keep))
    }

    async fn fill(&mut self) -> Result<(), ErrorKind> {
        if self.filled == self.buf.len() {
            if self.buf.len() >= MAX_HEAD {
                return Err(ErrorKind::Protocol);
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match self.stream.read(&mut self.buf[self.filled..]).await {
            Ok(0) => Err(ErrorKind::Closed),
            Ok(n) => {
                self.filled += n;
                Ok(())
            }
            Err(e) => Err(ErrorKind::from_io(&e)),
        }
    }

    async fn read_head(&mut self, head_request: bool) -> Result<(u16, usize, Body), ErrorKind> {
        loop {
            if self.filled > 0 {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&self.buf[..self.filled]) {
                    Ok(httparse::Status::Complete(head_len)) => {
                        let status = response.code.ok_or(ErrorKind::Protocol)?;
                        let body = body_of(&response, status, head_request)?;
                        // Informational responses (100 Continue) precede the real one.
                        if (100..200).contains(&status) {
                            self.consume(head_len);
                            continue;
                        }
                        return Ok((status, head_len, body));
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(_) => return Err(ErrorKind::Protocol),
                }
            }
            self.fill().await?;
        }
    }

    /// Drops the first `n` buffered bytes.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    async fn skip(
        &mut self,
        mut len: usize,
        mut capture: Option<&mut Vec<u8>>,
    ) -> Result<(), ErrorKind> {
        loop {
            let take = len.min(self.filled);
            keep(&mut capture, &self.buf[..take]);
            self.consume(take);
            len -= take;
            if len == 0 {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    async fn skip_chunked(&mut self, mut capture: Option<&mut Vec<u8>>) -> Result<(), ErrorKind> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[..self.filled]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.consume(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(ErrorKind::Protocol),
                }
            };
            if size == 0 {
                // Trailers (usually none) end with an empty line.
                loop {
                    if let Some(pos) = find_crlf(&self.buf[..self.filled]) {
                        self.consume(pos + 2);
                        if pos == 0 {
                            return Ok(());
                        }
                    } else {
                        self.fill().await?;
                    }
                }
            }
            let size = usize::try_from(size).map_err(|_| ErrorKind::Protocol)?;
            self.skip(size, capture.as_deref_mut()).await?;
            self.skip(2, None).await?;
        }
    }
}

/// Appends body bytes to the capture, up to [`MAX_CAPTURE`].
fn keep(capture: &mut Option<&mut Vec<u8>>, bytes: &[u8]) {
    if let Some(c) = capture {
        let room = MAX_CAPTURE.saturating_sub(c.len());
        c.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

enum Body {
    None { keep_alive: bool },
    Length { len: usize, keep_alive: bool },
    Chunked { keep_alive: bool },
    UntilClose,
}

fn body_of(
    response: &httparse::Response<'_, '_>,
    status: u16,
    head_request: bool,
) -> Result<Body, ErrorKind> {
    let mut length = None;
    let mut chunked = false;
    let mut keep_alive = response.version == Some(1);
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(h.value).map_err(|_| ErrorKind::Protocol)?;
            length = Some(
                text.trim()
                    .parse::<usize>()
                    .map_err(|_| ErrorKind::Protocol)?,
            );
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            if h.value.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        }
    }
    Ok(
        if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
            Body::None { keep_alive }
        } else if chunked {
            Body::Chunked { keep_alive }
        } else if let Some(len) = length {
            Body::Length { len, keep_alive }
        } else {
            Body::UntilClose
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request with the next canned response.
    async fn canned(responses: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 4096];
            for r in responses {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                // Split the response across writes to exercise partial parsing.
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a).await.expect("write");
                s.flush().await.expect("flush");
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                s.write_all(b).await.expect("write");
            }
        });
        addr
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[tokio::test]
    async fn keep_alive_responses_with_length_chunked_and_empty_bodies() {
        let addr = canned(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ])
        .await;
        let mut conn = Conn::connect(addr).await.expect("connect");
        assert_eq!(conn.send(GET, false).await, Ok((200, true)));
        assert_eq!(conn.send(GET, false).await, Ok((503, true)));
        assert_eq!(conn.send(GET, false).await, Ok((204, true)));
        assert_eq!(conn.send(GET, false).await, Ok((429, false)));
    }

    #[tokio::test]
    async fn bodies_are_kept_whole_for_checking_in_every_framing() {
        let addr = canned(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nuntil close",
        ])
        .await;
        let mut conn = Conn::connect(addr).await.expect("connect");
        let mut body = Vec::new();
        for (want, keep) in [
            (&b"hello"[..], true),
            (b"abcdefg", true),
            (b"", true),
            (b"until close", false),
        ] {
            body.clear();
            assert_eq!(
                conn.send_keeping_body(GET, false, &mut body).await,
                Ok((200, keep))
            );
            assert_eq!(body, want);
        }
    }

    #[tokio::test]
    async fn a_body_until_close_and_a_truncated_response() {
        let addr = canned(vec![b"HTTP/1.0 200 OK\r\n\r\nall of it"]).await;
        let mut conn = Conn::connect(addr).await.expect("connect");
        assert_eq!(conn.send(GET, false).await, Ok((200, false)));

        let addr = canned(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"]).await;
        let mut conn = Conn::connect(addr).await.expect("connect");
        assert_eq!(conn.send(GET, false).await, Err(ErrorKind::Closed));
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error_and_a_closed_port_a_connect_error() {
        let addr = canned(vec![b"SSH-2.0-OpenSSH\r\n\r\n"]).await;
        let mut conn = Conn::connect(addr).await.expect("connect");
        assert_eq!(conn.send(GET, false).await, Err(ErrorKind::Protocol));

        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");
        assert_eq!(Conn::connect(free).await.err(), Some(ErrorKind::Connect));
    }
}
