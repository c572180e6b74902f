// The admin API, with the tab's token (if any) as Authorization: Bearer on every call.

const TOKEN_KEY = 'shepherd.admin.token';

/** The API refused the token (401); `detail` is the problem's explanation. */
export class Unauthorized extends Error {
    constructor(detail) {
        super(detail);
        this.detail = detail;
    }
}

/**
 * The API refuses this browser's reads whatever token it sends (403): an admin port without a token answers only
 * the processes of the user that runs Shepherd, and root's; `detail` says so.
 */
export class Forbidden extends Error {
    constructor(detail) {
        super(detail);
        this.detail = detail;
    }
}

/** The API answered with a problem (4xx/5xx); `detail` is what to show. */
export class Problem extends Error {
    constructor(status, detail) {
        super(detail);
        this.status = status;
        this.detail = detail;
    }
}

export const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY),
    set: value => sessionStorage.setItem(TOKEN_KEY, value),
    clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

function headers(extra = {}) {
    const value = token.get();
    return value ? {...extra, Authorization: `Bearer ${value}`} : extra;
}

async function problemOf(response) {
    try {
        const body = await response.json();
        return body.detail || body.title || `HTTP ${response.status}`;
    } catch {
        return `HTTP ${response.status} ${response.statusText}`.trim();
    }
}

async function check(response, reading = false) {
    if (response.status === 401) {
        throw new Unauthorized(await problemOf(response));
    }
    if (reading && response.status === 403) {
        throw new Forbidden(await problemOf(response));
    }
    if (!response.ok) {
        throw new Problem(response.status, await problemOf(response));
    }
    return response;
}

/** GET a JSON resource of the admin API. */
export async function get(path) {
    const response = await fetch(path, {headers: headers({Accept: 'application/json'}), cache: 'no-store'});
    return (await check(response, true)).json();
}

/** POST to the admin API; resolves to the JSON answer, rejects with Problem or Unauthorized. */
export async function post(path, body) {
    const init = {method: 'POST', headers: headers({Accept: 'application/json'})};
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    return (await check(await fetch(path, init))).json();
}

/**
 * The fleet's health; open to all, and a DOWN fleet answers 503 with the same JSON. The components' details come
 * only with the token (when one is set), so it is sent here too.
 */
export async function health() {
    const response = await fetch('actuator/health', {headers: headers({Accept: 'application/json'}), cache: 'no-store'});
    return response.json();
}

/**
 * Reads /fleet/events as server-sent events until the stream ends or `signal` aborts it. EventSource cannot send
 * an Authorization header, so this is fetch() with the frames parsed here. With `lastEventId` (the seq of the newest
 * event the caller has), the stream first replays the recent events after it, as EventSource's reconnection does.
 * Calls `onOpen` once connected, then `onEvent` with each event's JSON.
 */
export async function streamEvents({onOpen, onEvent, signal, lastEventId}) {
    const extra = {Accept: 'text/event-stream'};
    if (Number.isInteger(lastEventId)) {
        extra['Last-Event-ID'] = String(lastEventId);
    }
    const response = await check(await fetch('fleet/events', {
        headers: headers(extra), cache: 'no-store', signal,
    }), true);
    onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
        const {value, done} = await reader.read();
        if (done) {
            return;
        }
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
            const data = dataOf(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (data) {
                onEvent(JSON.parse(data));
            }
        }
    }
}

function dataOf(frame) {
    return frame.split('\n')
        .map(line => line.replace(/\r$/, ''))
        .filter(line => line.startsWith('data:'))
        .map(line => line.slice(5).replace(/^ /, ''))
        .join('\n');
}
