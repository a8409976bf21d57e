// The reaper: stops the background processes of a parent that died without stopping them (SIGKILL, a crash, an
// OOM kill), so that no Temporal dev server, worker or API outlives `npm start` or a test run.
//
// Started by scripts/infra/proc.ts in a session of its own (so a terminal's Ctrl-C or a supervisor's signal to the
// parent's process group never reaches it), with its stdin a pipe from the parent. The parent writes `+<pgid>` when
// it starts a background process group and `-<pgid>` when that group has stopped. The kernel closes the parent's
// end of the pipe however the parent ends, even on SIGKILL, so end-of-file here means "the parent is gone": every
// group still registered gets SIGTERM, then SIGKILL after the grace period, and the reaper exits. A parent that
// stopped everything itself leaves nothing registered, and the reaper just exits. Plain JavaScript: it must start
// in milliseconds and import nothing.
const GRACE_MS = Number(process.env.KOO_REAPER_GRACE_MS ?? 10_000);
const groups = new Set();
let buffered = '';

// Signals are the parent's business: the reaper outlives the parent by design, and only end-of-file stops it.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => undefined);

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^([+-])(\d+)$/.exec(line.trim());
    if (!m) continue;
    const pgid = Number(m[2]);
    if (m[1] === '+') groups.add(pgid);
    else groups.delete(pgid);
  }
});
process.stdin.on('close', () => void reap());
process.stdin.on('error', () => void reap());

function alive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function signal(pgid, sig) {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

let reaping = false;
async function reap() {
  if (reaping) return;
  reaping = true;
  const left = [...groups].filter(alive);
  for (const pgid of left) signal(pgid, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  while (left.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pgid of left.filter(alive)) signal(pgid, 'SIGKILL');
  process.exit(0);
}
