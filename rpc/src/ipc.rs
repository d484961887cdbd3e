//! The IPC server: JSON-RPC over a unix socket (`<datadir>/veil.ipc`), as geth serves it.
//!
//! jsonrpsee has no IPC transport, so this reads JSON values off the stream as they complete
//! (no framing: objects and batch arrays back to back, newlines optional), runs each through the
//! same [`RpcModule`] the other transports use, and writes every response followed by a newline.
//! Subscriptions stream their notifications on the same connection until it closes.

use super::server::Limits;
use jsonrpsee::RpcModule;
use serde_json::value::RawValue;
use std::{
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{unix::OwnedWriteHalf, UnixListener, UnixStream},
    sync::{mpsc, Mutex, Semaphore},
    task::JoinHandle,
};

/// Requests one connection runs at the same time.
const IN_FLIGHT_PER_CONNECTION: usize = 64;
/// Notifications a subscription may queue before the server waits for the client.
const SUBSCRIPTION_BUFFER: usize = 1024;

/// A running IPC server; dropping it does not stop it, [`IpcHandle::stop`] does.
#[derive(Debug)]
pub struct IpcHandle {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl IpcHandle {
    /// Stops accepting, closes the listener and removes the socket file.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.path);
    }
}

fn error_response(code: i32, message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}})
        .to_string()
}

/// Starts serving `module` on the unix socket `path` (a stale socket file is replaced).
pub fn start(path: &Path, module: RpcModule<()>, limits: Limits) -> std::io::Result<IpcHandle> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let listener = UnixListener::bind(path)?;
    let module = Arc::new(module);
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                tokio::spawn(refuse(stream));
                continue;
            };
            let module = module.clone();
            tokio::spawn(async move {
                serve(stream, module, limits).await;
                drop(permit);
            });
        }
    });
    Ok(IpcHandle { path: path.to_path_buf(), task })
}

async fn refuse(mut stream: UnixStream) {
    let message = error_response(-32005, "too many connections") + "\n";
    let _ = stream.write_all(message.as_bytes()).await;
}

/// The write half of a connection, shared by the requests and subscriptions on it.
type Writer = Arc<Mutex<OwnedWriteHalf>>;

/// Writes one message and its newline; `false` once the client is gone.
async fn send_line(writer: &Writer, message: &str) -> bool {
    let mut line = Vec::with_capacity(message.len() + 1);
    line.extend_from_slice(message.as_bytes());
    line.push(b'\n');
    writer.lock().await.write_all(&line).await.is_ok()
}

async fn serve(stream: UnixStream, module: Arc<RpcModule<()>>, limits: Limits) {
    let (mut reader, writer) = stream.into_split();
    let writer: Writer = Arc::new(Mutex::new(writer));
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT_PER_CONNECTION));
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 64 * 1024];
    'read: loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        let mut consumed = 0;
        {
            let mut values = serde_json::Deserializer::from_slice(&buffer).into_iter::<&RawValue>();
            loop {
                match values.next() {
                    Some(Ok(value)) => {
                        consumed = values.byte_offset();
                        let Ok(permit) = in_flight.clone().acquire_owned().await else {
                            break 'read;
                        };
                        let (module, out, text) =
                            (module.clone(), writer.clone(), value.get().to_owned());
                        tokio::spawn(async move {
                            handle(&module, &text, &out, limits).await;
                            drop(permit);
                        });
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(_)) => {
                        send_line(&writer, &error_response(-32700, "parse error")).await;
                        break 'read;
                    }
                    None => {
                        consumed = values.byte_offset();
                        break;
                    }
                }
            }
        }
        buffer.drain(..consumed);
        if buffer.len() > limits.max_request_bytes as usize {
            let message = format!(
                "request too large: more than {} bytes without a complete JSON value",
                limits.max_request_bytes
            );
            send_line(&writer, &error_response(-32600, &message)).await;
            break;
        }
    }
}

/// Answers one message (a call or a batch) as IPC would, without streaming subscriptions.
pub async fn respond(module: &RpcModule<()>, text: &str, limits: &Limits) -> Option<String> {
    answer(module, text, limits, &mut Vec::new()).await
}

/// Runs one message (a call or a batch), queues its response, then streams the notifications
/// of any subscription it opened.
async fn handle(module: &RpcModule<()>, text: &str, out: &Writer, limits: Limits) {
    let mut streams = Vec::new();
    let response = answer(module, text, &limits, &mut streams).await;
    if let Some(response) = response {
        if !send_line(out, &response).await {
            return;
        }
    }
    for mut notifications in streams {
        let out = out.clone();
        tokio::spawn(async move {
            while let Some(note) = notifications.recv().await {
                if !send_line(&out, note.get()).await {
                    return;
                }
            }
        });
    }
}

async fn answer(
    module: &RpcModule<()>,
    text: &str,
    limits: &Limits,
    streams: &mut Vec<Notifications>,
) -> Option<String> {
    let max_batch_len = limits.max_batch_len;
    if !text.trim_start().starts_with('[') {
        call(module, text, streams).await
    } else {
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Err(_) => Some(error_response(-32700, "parse error")),
            Ok(calls) if calls.is_empty() => Some(error_response(-32600, "empty batch")),
            Ok(calls) if calls.len() > max_batch_len as usize => Some(error_response(
                -32600,
                &format!("batch too large: at most {max_batch_len} calls"),
            )),
            Ok(calls) => {
                let started = std::time::Instant::now();
                let mut responses = Vec::with_capacity(calls.len());
                for single in calls {
                    if started.elapsed() >= limits.batch_time_budget {
                        responses.extend(unrun(single.get(), limits.batch_time_budget));
                    } else {
                        responses.extend(call(module, single.get(), streams).await);
                    }
                }
                (!responses.is_empty()).then(|| format!("[{}]", responses.join(",")))
            }
        }
    }
}

type Notifications = mpsc::Receiver<Box<RawValue>>;

/// A call's `id`, without parsing the rest (absent or `null` for a notification).
#[derive(serde::Deserialize)]
struct IdProbe<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
}

/// A request's method name, read without its parameters.
#[derive(serde::Deserialize)]
struct MethodProbe<'a> {
    #[serde(borrow)]
    method: &'a str,
}

/// Whether an answer is an error, read without its result.
#[derive(serde::Deserialize)]
struct ErrorProbe<'a> {
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The answer to a call a batch had no time left for (`None` for a notification).
fn unrun(text: &str, budget: std::time::Duration) -> Option<String> {
    let id = serde_json::from_str::<IdProbe<'_>>(text).ok()?.id?;
    let error = super::batch_budget::over_budget(budget);
    Some(serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error }).to_string())
}

/// Runs one call; `None` for notifications (no `id`, or `"id": null`). A subscription's
/// stream goes into `streams`.
async fn call(
    module: &RpcModule<()>,
    text: &str,
    streams: &mut Vec<Notifications>,
) -> Option<String> {
    // Only the presence of an id matters here; jsonrpsee parses the request itself.
    match serde_json::from_str::<IdProbe<'_>>(text) {
        Ok(IdProbe { id: None }) => return None,
        Ok(_) => {}
        Err(_) => return Some(error_response(-32600, "invalid request")),
    }
    let started = std::time::Instant::now();
    let (response, notifications) = match module.raw_json_request(text, SUBSCRIPTION_BUFFER).await {
        Ok(answer) => answer,
        Err(_) => return Some(error_response(-32600, "invalid request")),
    };
    if let Ok(MethodProbe { method }) = serde_json::from_str::<MethodProbe<'_>>(text) {
        let failed = serde_json::from_str::<ErrorProbe<'_>>(response.get())
            .is_ok_and(|answer| answer.error.is_some());
        super::call_metrics::record(method, module.method(method).is_some(), started, failed);
    }
    // Plain calls drop their end of the channel; a subscription keeps it open.
    if !notifications.is_closed() {
        streams.push(notifications);
    }
    Some(response.get().to_owned())
}
