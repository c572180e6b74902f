// Requests and failures per second, computed from the fleet's monotonic traffic totals, drawn by uPlot.

const WINDOW_SECONDS = 120;
const MIN_STEP_SECONDS = 1;

/** Keeps the last two minutes of rates and draws them; `sample` takes each GET /fleet's traffic totals. */
export class TrafficChart {

    constructor(element, onRates) {
        this.element = element;
        this.onRates = onRates;
        this.times = [];
        this.requests = [];
        this.failures = [];
        this.previous = null;
        this.draw();
        new ResizeObserver(() => this.plot?.setSize(this.size())).observe(element);
        matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.draw());
    }

    sample(traffic, at = Date.now() / 1000) {
        const previous = this.previous;
        if (previous && at - previous.at < MIN_STEP_SECONDS) {
            return;
        }
        this.previous = {at, ...traffic};
        if (!previous || traffic.requests < previous.requests) {
            return; // a first sample, or a restarted master: no rate yet
        }
        const seconds = at - previous.at;
        const requests = (traffic.requests - previous.requests) / seconds;
        const failures = (traffic.failures - previous.failures) / seconds;
        this.times.push(at);
        this.requests.push(requests);
        this.failures.push(failures);
        while (this.times[0] < at - WINDOW_SECONDS) {
            this.times.shift();
            this.requests.shift();
            this.failures.shift();
        }
        this.plot.setData([this.times, this.requests, this.failures]);
        this.element.dataset.points = this.times.length;
        this.onRates(requests, failures);
    }

    size() {
        return {width: Math.max(this.element.clientWidth, 200), height: 130};
    }

    /** (Re)creates the plot with the colours of the current theme. */
    draw() {
        const css = getComputedStyle(document.documentElement);
        const colour = name => css.getPropertyValue(name).trim();
        const axis = {stroke: colour('--muted'), grid: {stroke: colour('--grid'), width: 1}, ticks: {show: false},
            font: '11px system-ui, sans-serif'};
        const clock = (u, ticks) => ticks.map(t => new Date(t * 1000).toLocaleTimeString('en-GB'));
        this.plot?.destroy();
        this.plot = new uPlot({
            ...this.size(),
            legend: {show: false},
            cursor: {drag: {x: false, y: false}},
            scales: {y: {range: (u, min, max) => [0, Math.max(1, max * 1.15)]}},
            axes: [{...axis, values: clock, space: 80, size: 30}, {...axis, size: 40, space: 24}],
            series: [
                {},
                {label: 'requests/s', stroke: colour('--accent'), fill: colour('--accent-fill'), width: 2, points: {show: false}},
                {label: 'failures/s', stroke: colour('--danger'), width: 2, points: {show: false}},
            ],
        }, [this.times, this.requests, this.failures], this.element);
    }
}
