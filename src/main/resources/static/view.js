// Renders the fleet's JSON into the page. Rows are kept per worker id and updated in place, so a focused
// button keeps its focus while the fleet refreshes every two seconds.

const $ = id => document.getElementById(id);

const COLUMNS = ['Worker', 'Index', 'PID', 'State', 'Gen.', 'Uptime', 'Restarts', 'In flight', 'Tunnels', 'Requests', 'Memory', 'Last exit'];
const NUMERIC = new Set(['Index', 'Gen.', 'Uptime', 'Restarts', 'In flight', 'Tunnels', 'Requests', 'Memory']);

// Text a worker controls (its output lines, exit reasons, event messages) shown, not obeyed, as the CLI shows it
// (TerminalText): a control character but tab in caret notation (^[), a C1 one and a bidirectional formatting one
// (U+061C, U+200E/F, U+202A-E, U+2066-9) and the line and paragraph separators (U+2028/9) as \u009B. textContent
// keeps HTML out already; these would otherwise show as boxes or, for the bidi ones, reorder what the operator reads
// ("Trojan Source", CVE-2021-42574).
const CONTROL = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

export function shown(text) {
    if (typeof text !== 'string') {
        return text;
    }
    return text.replace(CONTROL, c => {
        const code = c.charCodeAt(0);
        return code < 0x20 || code === 0x7F ? `^${String.fromCharCode(code ^ 0x40)}`
            : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    });
}

export const format = {
    duration(ms) {
        if (ms == null) {
            return '–';
        }
        const s = Math.floor(ms / 1000);
        if (s < 60) return `${s} s`;
        if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
        if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
        return `${Math.floor(s / 86400)} d ${Math.floor(s % 86400 / 3600)} h`;
    },
    bytes: n => n == null ? '–' : `${(n / 1048576).toFixed(1)} MiB`,
    count: n => n == null ? '–' : n.toLocaleString('en'),
    time: iso => iso ? new Date(iso).toLocaleTimeString('en-GB') : '–',
    rate: r => r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en'),
    exit(exit) {
        if (!exit) {
            return '–';
        }
        const ago = format.duration(Date.now() - new Date(exit.at).getTime());
        if (!exit.pid) {
            // No process ran (pid 0): the reason ("cannot start: …") is all there is, no exit code.
            return `${shown(exit.reason)} · ${ago} ago`;
        }
        const how = exit.signal ? `${exit.signal} (${exit.code})` : `exit ${exit.code}`;
        return `${how} · ${shown(exit.reason)} · ${ago} ago`;
    },
};

export function renderSummary(fleet) {
    $('ready-count').textContent = fleet.ready;
    $('desired-count').textContent = fleet.desired;
    $('actual-count').textContent = `${fleet.actual} ${fleet.actual === 1 ? 'process' : 'processes'} running`;
    renderReload(fleet.reload);
}

function renderReload(reload) {
    const state = $('reload-state');
    const progress = $('reload-progress');
    const detail = $('reload-detail');
    state.dataset.state = reload.state;
    progress.hidden = reload.state !== 'RUNNING';
    progress.max = Math.max(reload.total, 1);
    progress.value = reload.replaced;
    switch (reload.state) {
        case 'RUNNING':
            state.textContent = `Running: ${reload.replaced} of ${reload.total} replaced`;
            detail.textContent = `to generation ${reload.generation}, since ${format.time(reload.startedAt)}`;
            break;
        case 'SUCCEEDED':
            state.textContent = `Succeeded: ${reload.replaced} of ${reload.total} replaced`;
            detail.textContent = `generation ${reload.generation}, finished ${format.time(reload.finishedAt)}`;
            break;
        case 'FAILED':
            state.textContent = `Failed${reload.rollback === 'RUNNING' ? ', rolling back'
                : reload.rollback === 'STOPPED' ? ', rollback stopped' : ''}: ${shown(reload.reason) ?? 'no reason given'}`;
            detail.textContent = `generation ${reload.generation}, ${reload.replaced} of ${reload.total} replaced`;
            break;
        default:
            state.textContent = 'None yet';
            detail.textContent = `generation ${reload.generation}`;
    }
}

export function renderHealth(health) {
    const status = typeof health?.status === 'string' ? health.status : 'UNKNOWN';
    const badge = $('health');
    badge.textContent = status;
    badge.dataset.status = status;
    const details = health?.components?.fleet?.details;
    $('health-detail').textContent = details
        ? `${details.starting} starting · ${details.crashLooping} crash-looping`
            + (details.cannotStart ? ` · ${details.cannotStart} cannot start` : '') + ` · min ready ${details.minReady}`
        : '';
}

export function renderWorkers(workers) {
    const body = document.querySelector('#workers tbody');
    const rows = new Map([...body.rows].map(row => [row.dataset.workerId, row]));
    workers.forEach((worker, index) => {
        const id = String(worker.id);
        const row = rows.get(id) ?? newRow(id);
        rows.delete(id);
        fillRow(row, worker);
        if (body.rows[index] !== row) {
            body.insertBefore(row, body.rows[index] ?? null);
        }
    });
    rows.forEach(row => row.remove());
}

function newRow(id) {
    const row = document.createElement('tr');
    row.dataset.workerId = id;
    for (const column of COLUMNS) {
        const cell = row.insertCell();
        cell.dataset.label = column;
        cell.classList.toggle('num', NUMERIC.has(column));
    }
    row.cells[0].innerHTML = `<button type="button" class="link" data-action="logs">#${id}</button>`;
    row.cells[0].firstChild.setAttribute('aria-label', `Worker ${id}: show its log`);
    row.cells[3].innerHTML = '<span class="state"></span><span class="state-note"></span>';
    const actions = row.insertCell();
    actions.className = 'row-actions';
    actions.innerHTML = '<button type="button" data-action="replace" class="quiet" title="A new worker takes over, then this one drains">Replace</button>'
        + '<button type="button" data-action="kill" class="quiet danger-text">Kill…</button>';
    return row;
}

function fillRow(row, worker) {
    row.dataset.pid = worker.pid;
    row.dataset.state = worker.state;
    const cells = row.cells;
    cells[1].textContent = worker.index;
    cells[2].textContent = worker.pid > 0 ? worker.pid : '–';
    const state = cells[3].firstChild;
    state.textContent = worker.state;
    state.dataset.state = worker.state;
    // When a BACKOFF or FAILED worker starts again (rounded up to the second), or that a READY one is out of step, as
    // `shepherd ls` says them.
    const note = cells[3].lastChild;
    note.textContent = typeof worker.restartInMillis === 'number'
        ? `restarts in ${format.duration(worker.restartInMillis + 999)}` : worker.outOfStep ? 'out of step' : '';
    note.title = worker.outOfStep
        ? 'It sent bytes nobody asked for: it gets a new connection per request, none is reused' : '';
    cells[4].textContent = worker.generation;
    cells[5].textContent = format.duration(worker.uptimeMillis);
    cells[6].textContent = worker.restarts;
    cells[7].textContent = format.count(worker.inFlight);
    cells[8].textContent = format.count(worker.tunnels);
    cells[9].textContent = format.count(worker.requests);
    cells[10].textContent = format.bytes(worker.memoryBytes);
    cells[11].textContent = format.exit(worker.lastExit);
    cells[11].title = worker.lastExit ? `pid ${worker.lastExit.pid} at ${worker.lastExit.at}` : '';
    for (const button of cells[12].querySelectorAll('button')) {
        button.setAttribute('aria-label', `${button.textContent.replace('…', '')} worker ${worker.id}`);
    }
}

export function renderEvents(events) {
    const list = $('events');
    list.replaceChildren(...events.map(event => {
        const item = document.createElement('li');
        item.dataset.type = event.type;
        const time = document.createElement('time');
        time.dateTime = event.at;
        time.textContent = format.time(event.at);
        const type = document.createElement('span');
        type.className = 'event-type';
        type.textContent = event.type;
        const message = document.createElement('span');
        message.textContent = shown(event.message);
        item.append(time, type, message);
        return item;
    }));
}

/**
 * The log lines, with a marker where the worker's process changed, so a restart is easy to see, and each line of
 * standard error marked `stderr` (in words, not by colour alone: a screen reader says it, and a copy keeps it).
 */
export function renderLogs(worker, lines) {
    $('logs-title').textContent = `Worker ${worker.id}: ${lines.length === 1 ? 'last line' : `last ${lines.length} lines`}`;
    const exit = worker.lastExit;
    $('logs-exit').textContent = !exit ? ''
        : exit.pid ? `Previous process ${exit.pid}: ${format.exit(exit)}, after ${format.duration(exit.uptimeMillis)}.`
        : `The last process did not start: ${format.exit(exit)}.`;
    const pre = $('logs-lines');
    pre.replaceChildren();
    let pid = null;
    for (const line of lines) {
        if (line.pid !== pid) {
            pid = line.pid;
            pre.append(`── pid ${pid} ──\n`);
        }
        const item = document.createElement('span');
        item.className = 'log-line';
        item.append(`${format.time(line.at)}  `);
        if (line.stream === 'stderr') {
            item.classList.add('stderr');
            const mark = document.createElement('span');
            mark.className = 'stream-mark';
            mark.textContent = 'stderr';
            item.append(mark, ' ');
        }
        item.append(shown(line.line));
        pre.append(item, '\n');
    }
    if (!lines.length) {
        pre.textContent = 'No output yet.';
    }
    pre.scrollTop = pre.scrollHeight;
}
