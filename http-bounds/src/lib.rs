//! What a stranger may hold of an HTTP server, shared by the node's JSON-RPC servers and the
//! TM's servers (both serve HTTP/1.1 connections with hyper):
//!
//! - [`Bounds::header_read_timeout`]: hyper's header read timeout on tokio's timer
//!   ([`Bounds::http1`]); it also closes a keep-alive connection idle that long.
//! - [`DeadlineBody`]: a request body that fails once [`Bounds::body_read_timeout`] has passed
//!   since its headers arrived, however slowly the bytes trickle in.
//! - [`PerIp`]: at most [`Bounds::max_connections_per_ip`] open connections per address.

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper_util::rt::TokioTimer;
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

/// How long a client may take and how many connections one IP may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// From connection (or the end of the last answer) to a request's last header byte.
    pub header_read_timeout: Duration,
    /// From a request's headers to its body's last byte.
    pub body_read_timeout: Duration,
    /// Connections one IP address may hold at once.
    pub max_connections_per_ip: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            max_connections_per_ip: 256,
        }
    }
}

impl Bounds {
    /// hyper's HTTP/1.1 connection builder with the header read timeout (on tokio's timer).
    pub fn http1(&self) -> hyper::server::conn::http1::Builder {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.header_read_timeout);
        builder
    }

    /// `body` under the body read deadline; its error names `flag`.
    pub fn deadline<B>(&self, body: B, flag: &'static str) -> DeadlineBody<B> {
        DeadlineBody::new(body, self.body_read_timeout, flag)
    }
}

/// Open connections per IP address.
#[derive(Debug, Default)]
pub struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted when dropped.
#[derive(Debug)]
pub struct Counted(Arc<PerIp>, IpAddr);

impl PerIp {
    /// Counts a new connection from `ip`, or `None` when `ip` already holds `max`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Counted> {
        let mut open = self.0.lock();
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Counted(self.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = (self.0).0.lock();
        if let Some(count) = open.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// A request body that fails once its deadline passes.
#[derive(Debug)]
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    flag: &'static str,
}

impl<B> DeadlineBody<B> {
    /// `inner`, which must be read within `limit` from now; the error names `flag` (the
    /// setting that changes the limit).
    pub fn new(inner: B, limit: Duration, flag: &'static str) -> Self {
        Self { inner, deadline: Box::pin(tokio::time::sleep(limit)), limit, flag }
    }
}

/// The body took too long.
#[derive(Debug)]
pub struct BodyTimedOut {
    limit: Duration,
    flag: &'static str,
}

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body was not sent within {} s ({})", self.limit.as_secs(), self.flag)
    }
}

impl std::error::Error for BodyTimedOut {}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let error = BodyTimedOut { limit: self.limit, flag: self.flag };
            return Poll::Ready(Some(Err(error.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_holds_at_most_its_share_and_gets_it_back_when_connections_close() {
        let per_ip = Arc::new(PerIp::default());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = per_ip.admit(a, 2).unwrap();
        let _second = per_ip.admit(a, 2).unwrap();
        assert!(per_ip.admit(a, 2).is_none());
        assert!(per_ip.admit(b, 2).is_some(), "another IP is not affected");
        drop(first);
        assert!(per_ip.admit(a, 2).is_some());
    }
}
