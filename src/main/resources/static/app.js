// The live fleet page: GET /fleet every two seconds and after each event of the /fleet/events stream.
import * as api from './api.js';
import {TrafficChart} from './chart.js';
import * as view from './view.js';

const $ = id => document.getElementById(id);
const POLL_MILLIS = 2000;
const EVENT_DEBOUNCE_MILLIS = 150;
const MAX_RECONNECT_MILLIS = 10000;
const RECENT_EVENTS = 12;

let fleet = null;
let events = [];
let stream = null;
let pollTimer = null;
let refreshTimer = null;
let logsWorker = null;
let killTarget = null;
let scaleEdited = false;

const chart = new TrafficChart($('chart'), (requests, failures) => {
    $('rates').textContent = `${view.format.rate(requests)} req/s · ${view.format.rate(failures)} failures/s`;
});

// ---- loading and live updates

async function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = null;
    try {
        const [next, health] = await Promise.all([api.get('fleet'), api.health().catch(() => null)]);
        show(next, health);
    } catch (error) {
        failed(error);
    }
}

function refreshSoon() {
    refreshTimer ??= setTimeout(refresh, EVENT_DEBOUNCE_MILLIS);
}

function show(next, health) {
    fleet = next;
    $('auth').hidden = true;
    $('fleet').hidden = false;
    $('forget-token').hidden = !api.token.get();
    view.renderSummary(fleet);
    view.renderHealth(health);
    view.renderWorkers(fleet.workers);
    chart.sample(fleet.traffic);
    const input = $('scale-workers');
    if (!scaleEdited && document.activeElement !== input) {
        input.value = fleet.desired;
    }
}

function failed(error) {
    if (error instanceof api.Unauthorized) {
        askForToken(error.detail);
    } else if (error instanceof api.Forbidden) {
        refused(error.detail);
    } else {
        stream?.abort(); // a fetch failed: the stream may be half-dead too; reconnect it
    }
}

async function start() {
    stop();
    try {
        events = (await api.get('fleet/events')).slice(-RECENT_EVENTS).reverse();
        view.renderEvents(events);
    } catch (error) {
        failed(error);
        if (error instanceof api.Unauthorized || error instanceof api.Forbidden) {
            return;
        }
    }
    await refresh();
    pollTimer = setInterval(refresh, POLL_MILLIS);
    keepStreaming();
}

function stop() {
    clearInterval(pollTimer);
    pollTimer = null;
    stream?.abort();
    stream = null;
}

/** Reads the event stream, and reconnects with a growing delay whenever it ends, until a token is refused. */
async function keepStreaming() {
    let delay = 1000;
    for (;;) {
        const controller = new AbortController();
        stream = controller;
        try {
            await api.streamEvents({
                signal: controller.signal,
                // What happened while the page was not connected (since its first read of the events, or during an
                // outage) comes first; after a restart of the master, whose numbers start again, nothing is replayed.
                lastEventId: events[0]?.seq,
                onOpen: () => {
                    delay = 1000;
                    connection('live', 'Live');
                    refreshSoon();
                },
                onEvent,
            });
        } catch (error) {
            if (error instanceof api.Unauthorized || error instanceof api.Forbidden) {
                failed(error);
                return;
            }
        }
        if (stream !== controller) {
            return; // stopped on purpose
        }
        connection('down', `Disconnected from the fleet: reconnecting in ${delay / 1000} s…`);
        await new Promise(resolve => setTimeout(resolve, delay));
        if (stream !== controller) {
            return;
        }
        connection('connecting', 'Reconnecting…');
        delay = Math.min(delay * 2, MAX_RECONNECT_MILLIS);
    }
}

function onEvent(event) {
    events = [event, ...events].slice(0, RECENT_EVENTS);
    view.renderEvents(events);
    refreshSoon();
    if (logsWorker === event.workerId && $('logs-dialog').open) {
        showLogs(event.workerId);
    }
}

/** The admin API refuses this browser whatever it sends: no reconnecting, the reason shown. */
function refused(detail) {
    stop();
    fleet = null;
    $('fleet').hidden = true;
    connection('down', `Refused: ${detail}`);
}

function connection(state, text) {
    const element = $('connection');
    element.dataset.state = state;
    element.textContent = text;
}

// ---- the token

function askForToken(detail) {
    stop();
    fleet = null;
    $('fleet').hidden = true;
    view.renderWorkers([]);
    view.renderEvents([]);
    $('auth').hidden = false;
    $('forget-token').hidden = !api.token.get();
    const error = $('auth-error');
    error.hidden = !api.token.get();
    error.textContent = `The token was refused: ${detail}`;
    connection('locked', 'Token needed');
    $('token').focus();
}

$('auth-form').addEventListener('submit', event => {
    event.preventDefault();
    api.token.set($('token').value.trim());
    $('token').value = '';
    connection('connecting', 'Connecting…');
    start();
});

$('forget-token').addEventListener('click', () => {
    api.token.clear();
    location.reload();
});

// ---- actions

async function act(action, success) {
    const result = $('action-result');
    try {
        const answer = await action();
        message(result, success(answer), 'ok');
        refreshSoon();
    } catch (error) {
        if (error instanceof api.Unauthorized) {
            askForToken(error.detail);
        } else {
            message(result, error instanceof api.Problem ? view.shown(error.detail) : `Request failed: ${error.message}`, 'error');
        }
    }
}

function message(element, text, kind) {
    element.hidden = false;
    element.dataset.kind = kind;
    element.textContent = text;
}

$('scale-workers').addEventListener('input', () => scaleEdited = true);

$('scale-form').addEventListener('submit', event => {
    event.preventDefault();
    const workers = Number($('scale-workers').value);
    scaleEdited = false;
    act(() => api.post('fleet/scale', {workers}), answer => answer.previous === answer.desired
        ? `The fleet wants ${answer.desired} workers already; nothing changed.` : `Scaling to ${answer.desired} workers.`);
});

$('reload').addEventListener('click', () => act(() => api.post('fleet/reload'),
    reload => `Rolling reload to generation ${reload.generation} started: ${reload.total} workers to replace.`));

// kubectl rollout undo: back to the previous spec, or a running reload stopped and rolled back.
$('undo').addEventListener('click', () => act(() => api.post('fleet/reload/undo'),
    reload => reload.state === 'RUNNING'
        ? `Undo started: generation ${reload.generation} goes back to the previous spec, ${reload.total} workers to replace.`
        : `The reload to generation ${reload.generation} was stopped; its workers that took over are replaced back.`));

document.querySelector('#workers tbody').addEventListener('click', event => {
    const row = event.target.closest('tr');
    if (!row) {
        return;
    }
    const id = Number(row.dataset.workerId);
    const action = event.target.closest('button')?.dataset.action ?? 'logs';
    if (action === 'replace') {
        act(() => api.post(`fleet/workers/${id}/replace`),
            answer => `Worker ${answer.worker} is being replaced by worker ${answer.replacement}.`);
    } else if (action === 'kill') {
        askToKill(id, row.dataset.pid);
    } else if (!window.getSelection()?.toString()) {
        showLogs(id);
    }
});

function askToKill(id, pid) {
    killTarget = id;
    $('kill-title').textContent = `Kill worker ${id}?`;
    $('kill-question').textContent = `Send a signal to worker ${id} (pid ${pid}).`;
    $('kill-dialog').querySelector('input[value="TERM"]').checked = true;
    $('kill-dialog').showModal();
}

$('kill-dialog').addEventListener('close', () => {
    const dialog = $('kill-dialog');
    if (dialog.returnValue !== 'kill') {
        return;
    }
    const id = killTarget;
    const signal = dialog.querySelector('input[name="signal"]:checked').value;
    act(() => api.post(`fleet/workers/${id}/kill`, {signal}), answer => `Sent ${answer.signal} to worker ${answer.worker}.`);
});

// ---- logs

async function showLogs(id) {
    logsWorker = id;
    const dialog = $('logs-dialog');
    try {
        const [worker, lines] = await Promise.all([
            api.get(`fleet/workers/${id}`).catch(() => ({id, lastExit: null})),
            api.get(`fleet/workers/${id}/logs?lines=200`),
        ]);
        view.renderLogs(worker, lines);
    } catch (error) {
        if (error instanceof api.Unauthorized) {
            askForToken(error.detail);
            return;
        }
        view.renderLogs({id, lastExit: null}, []);
        $('logs-lines').textContent = view.shown(error.detail) ?? error.message;
    }
    if (!dialog.open) {
        dialog.showModal();
    }
}

$('logs-refresh').addEventListener('click', () => showLogs(logsWorker));
$('logs-close').addEventListener('click', () => $('logs-dialog').close());

start();
