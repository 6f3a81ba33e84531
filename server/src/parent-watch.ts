/**
 * Watches this process's parent and calls `onGone` once when it has exited (our parent pid changed: we
 * were re-parented). Used under `npm start`, where npm forwards only SIGINT and SIGTERM to the server and
 * dies of any other signal (SIGHUP, SIGQUIT, SIGKILL): without the watch the server would run on,
 * orphaned, with no supervisor to stop it. The timer is unref'd; the returned function stops the watch.
 */
export function watchParent(onGone: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(function checkParent() {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
