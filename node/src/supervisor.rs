//! The node's long-lived tasks, watched: when one stops before shutdown — it failed, panicked
//! or returned — the node says which and why, and exits non-zero instead of running on half
//! alive.

use std::future::Future;
use tokio::task::JoinSet;

/// The tasks of a running node.
#[derive(Default)]
pub(crate) struct Supervisor {
    tasks: JoinSet<(&'static str, Result<(), String>)>,
}

impl Supervisor {
    /// Runs `task` under the name `name`; an `Err` it returns is why it stopped.
    pub(crate) fn spawn<E: std::fmt::Display>(
        &mut self,
        name: &'static str,
        task: impl Future<Output = Result<(), E>> + Send + 'static,
    ) {
        self.tasks.spawn(async move { (name, task.await.map_err(|e| e.to_string())) });
    }

    /// Resolves when the first task stops: its name and why (it panicked, failed, or simply
    /// returned, which a long-lived task must not do before shutdown). Never resolves when
    /// there are no tasks.
    pub(crate) async fn first_stop(&mut self) -> (String, String) {
        match self.tasks.join_next().await {
            Some(Ok((name, Ok(())))) => (name.into(), "it returned before shutdown".into()),
            Some(Ok((name, Err(why)))) => (name.into(), why),
            Some(Err(e)) if e.is_panic() => ("a task".into(), format!("it panicked: {e}")),
            Some(Err(e)) => ("a task".into(), format!("it was cancelled: {e}")),
            None => std::future::pending().await,
        }
    }

    /// Waits for every task to end after shutdown was signalled; the first failure, if any.
    pub(crate) async fn drain(mut self) -> Result<(), String> {
        let mut first = Ok(());
        while let Some(outcome) = self.tasks.join_next().await {
            let failure = match outcome {
                Ok((_, Ok(()))) => continue,
                Ok((name, Err(why))) => format!("{name}: {why}"),
                Err(e) => format!("a task panicked: {e}"),
            };
            tracing::error!(target: "node", %failure, "task failed while shutting down");
            if first.is_ok() {
                first = Err(failure);
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_task_to_stop_is_named_with_its_reason() {
        let mut supervisor = Supervisor::default();
        supervisor.spawn("forever", async { std::future::pending::<Result<(), String>>().await });
        supervisor.spawn("broken", async { Err::<(), _>("disk full") });
        assert_eq!(supervisor.first_stop().await, ("broken".into(), "disk full".into()));

        let mut supervisor = Supervisor::default();
        supervisor.spawn("quitter", async { Ok::<(), String>(()) });
        let (name, why) = supervisor.first_stop().await;
        assert_eq!((name.as_str(), why.as_str()), ("quitter", "it returned before shutdown"));

        let mut supervisor = Supervisor::default();
        supervisor.spawn("panics", async {
            if true {
                panic!("boom");
            }
            Ok::<(), String>(())
        });
        let (_, why) = supervisor.first_stop().await;
        assert!(why.contains("panicked"), "{why}");
    }

    #[tokio::test]
    async fn draining_reports_a_failure_during_shutdown() {
        let mut supervisor = Supervisor::default();
        supervisor.spawn("clean", async { Ok::<(), String>(()) });
        supervisor.spawn("dirty", async { Err::<(), _>("could not flush") });
        assert_eq!(supervisor.drain().await, Err("dirty: could not flush".into()));
    }
}
