package dev.shepherd.fleet;

import dev.shepherd.SignalNames;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import org.hibernate.validator.constraints.time.DurationMax;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.bind.Name;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything under {@code fleet.*}: one validated tree, defaults in one place. A bad value stops startup with a
 * message that names the property and the allowed range.
 *
 * @param workers how many workers to keep running; default: one per available processor ({@code max}, {@code 0}
 *                and {@code -N} as PM2 reads them: {@code WorkerCountForms})
 * @param maxWorkers the largest number of workers that {@code fleet.workers} or a scale call may ask for
 * @param stateFile when set, the file (in an existing directory) where the desired worker count and the worker spec
 *                  are kept whenever they change, and from which they are restored at start, over the configuration;
 *                  unset: nothing is kept
 */
@Validated
@ConfigurationProperties(prefix = "fleet", ignoreUnknownFields = false)
public record FleetProperties(
        @Min(1) Integer workers,
        @DefaultValue("64") @Min(1) @Max(1024) int maxWorkers,
        Path stateFile,
        @DefaultValue @Valid @NotNull Worker worker,
        @DefaultValue @Valid @NotNull Probe readiness,
        @DefaultValue @Valid @NotNull Liveness liveness,
        @DefaultValue @Valid @NotNull Restart restart,
        @DefaultValue @Valid @NotNull Proxy proxy,
        @DefaultValue @Valid @NotNull Demo demo,
        @DefaultValue @Valid @NotNull Admin admin,
        @DefaultValue @Valid @NotNull Health health) {

    /** The number of workers to run: {@code fleet.workers}, or one per available processor, at most {@code max-workers}. */
    public int desiredWorkers() {
        return workers != null ? workers : Math.min(maxWorkers, Runtime.getRuntime().availableProcessors());
    }

    @AssertTrue(message = "fleet.workers must not be larger than fleet.max-workers (64 unless set)")
    boolean isWorkersWithinMax() {
        return workers == null || workers <= maxWorkers;
    }

    /** Found by a new user's attack (2026-12-04): accepted, and the health could never be UP. */
    @AssertTrue(message = "fleet.health.min-ready must not be larger than fleet.max-workers (64 unless set): the "
            + "fleet's health could never be UP")
    boolean isMinReadyWithinMax() {
        return health == null || health.minReady() <= maxWorkers;
    }

    /**
     * How each worker process is run and stopped.
     *
     * @param command program and arguments; {@code {port}}, {@code {id}} and {@code {index}} in an argument are
     *                replaced by the worker's port, id and index. Empty: the built-in demo worker
     * @param workingDirectory the directory workers run in; default: the master's
     * @param environment variables added to each worker's environment (besides PORT, SHEPHERD_WORKER_ID,
     *                    SHEPHERD_WORKER_INDEX, SHEPHERD_WORKER_COUNT, NODE_APP_INSTANCE and SHEPHERD_TREE), which is
     *                    the master's without the variables that configure the master ({@code MasterVariables}); one
     *                    of those set here reaches the workers
     * @param startupTimeout how long a new worker may take to become READY before it is killed
     * @param drainTimeout how long a planned stop waits for in-flight requests to finish
     * @param killTimeout how long a worker has to exit after the stop signal before it is KILLed
     * @param stopSignal the signal that asks a worker to exit
     * @param logLines how many lines of output are kept per worker id
     * @param logBytes how much output text (UTF-8 bytes) is kept per worker id; the oldest lines go first
     * @param logLineLength longest output line kept whole; a longer one keeps its start and a marker saying its size
     * @param logRateLimitInterval with {@code log-rate-limit-burst}: once one worker slot (its index: its processes
     *                             together, restarts and replacements included) wrote more lines than that in an
     *                             interval, its further lines of the
     *                             interval go to its log buffer only, not to the master's log, which then says how
     *                             many it left out (journald's RateLimitIntervalSec); 0: no limit; at most 1 day
     * @param logRateLimitBurst how many lines of one worker slot go to the master's log per interval, a line counting
     *                          once per started 1,024 characters (journald's RateLimitBurst); 0: no limit
     * @param outputMaxRate the most bytes of one worker process's output the master reads per second (with a second's
     *                      worth of burst); a worker writing faster blocks on its full pipe until the master reads on,
     *                      as under a container runtime's blocking log driver; 0: no limit; at most 1GB
     * @param retiredLogs how many worker ids that left the fleet (replaced, scaled down) keep their output, newest first
     * @param maxMemory a worker whose process tree uses more resident memory (PSS) than this is replaced; unset: no limit
     * @param maxRequests a worker is replaced after serving this many requests; 0: no limit
     * @param maxRequestsJitter a random 0..jitter added to max-requests per worker, so workers do not all recycle at once
     * @param recycleCheckInterval how often memory and request counts are checked against the limits
     * @param useCgroups run each worker process in a cgroup v2 group of its own where the master can create one, and
     *                   kill the group at once; false: find a worker's descendants through /proc
     * @param treeScanInterval without cgroups, how often /proc is scanned so that each worker remembers its
     *                         descendants, which are then found even after the process between them has gone
     * @param maxConcurrency the most requests the proxy lets one worker have in flight at once; more wait in the
     *                       proxy's queue (queue-limit, queue-timeout) for the first worker that frees up, in arrival
     *                       order; 0: no limit
     * @param nodeAppInstance also give each worker its index as NODE_APP_INSTANCE, as PM2 does
     * @param logDirectory when set, an existing directory where each worker slot's output also goes, in
     *                     worker-INDEX-out.log and worker-INDEX-err.log (PM2's out and error files); unset: no files
     * @param logFileMaxSize with log-directory: a file that would grow past this is rotated (Docker's max-size)
     * @param logFileMaxFiles with log-directory: how many files each stream of a slot keeps, the current one and the
     *                        rotated ones (.1 the newest); the oldest goes first (Docker's max-file)
     * @param allowUsr1 whether an operator's USR1 ({@code shepherd signal USR1}) may be sent to a worker at all; never
     *                  to one that runs Node.js, which opens its inspector on it
     */
    public record Worker(
            @DefaultValue List<String> command,
            Path workingDirectory,
            @DefaultValue Map<String, String> environment,
            @DefaultValue("60s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration startupTimeout,
            @DefaultValue("30s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration drainTimeout,
            @DefaultValue("10s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration killTimeout,
            @DefaultValue("TERM") @Pattern(regexp = "TERM|INT|HUP|QUIT|USR1|USR2|KILL", message = "must be one of "
                    + "TERM, INT, HUP, QUIT, USR1, USR2, KILL (any case, with or without SIG)") String stopSignal,
            @DefaultValue("1000") @Min(10) @Max(100_000) int logLines,
            @DefaultValue("256KB") @NotNull DataSize logBytes,
            @DefaultValue("8KB") @NotNull DataSize logLineLength,
            @DefaultValue("30s") @DurationMin(millis = 0) @DurationMax(days = 1) Duration logRateLimitInterval,
            @DefaultValue("10000") @Min(0) @Max(100_000_000) int logRateLimitBurst,
            @DefaultValue("4MB") @NotNull DataSize outputMaxRate,
            @DefaultValue("16") @Min(0) @Max(1000) int retiredLogs,
            DataSize maxMemory,
            @DefaultValue("0") @Min(0) @Max(1_000_000_000_000L) long maxRequests,
            @DefaultValue("0") @Min(0) @Max(1_000_000_000_000L) long maxRequestsJitter,
            @DefaultValue("2s") @DurationMin(millis = 10) @DurationMax(days = 365) Duration recycleCheckInterval,
            @DefaultValue("true") boolean useCgroups,
            @DefaultValue("1s") @DurationMin(millis = 10) @DurationMax(days = 365) Duration treeScanInterval,
            @DefaultValue("0") @Min(0) @Max(100_000) int maxConcurrency,
            @DefaultValue("true") boolean nodeAppInstance,
            Path logDirectory,
            @DefaultValue("10MB") @NotNull DataSize logFileMaxSize,
            @DefaultValue("5") @Min(1) @Max(100) int logFileMaxFiles,
            @DefaultValue("false") boolean allowUsr1) {

        public Worker {
            // SIGTERM and sigterm are TERM, as the API and the command line take them.
            stopSignal = SignalNames.of(stopSignal);
        }

        @AssertTrue(message = "fleet.worker.working-directory must be an existing directory (leave it unset for the "
                + "master's)")
        boolean isWorkingDirectoryADirectory() {
            return workingDirectory == null || java.nio.file.Files.isDirectory(workingDirectory);
        }

        /**
         * A program with a space that names no file ({@code command: python3 app.py} in YAML, one string) is one
         * program of that name: the master ran, health DOWN, retrying it for ever (a new user's), where
         * {@code reload --command "python3 app.py"} is refused at once. A path with a space that is a file is taken.
         */
        @AssertTrue(message = "fleet.worker.command is a list, one element per argument (in YAML a list, [python3, "
                + "app.py]; as one value, python3,app.py): its program has a space and is no file, so it would be one "
                + "program of that name")
        boolean isProgramWithoutSpaceOrAFile() {
            if (command == null || command.isEmpty() || command.get(0).chars().noneMatch(Character::isWhitespace)) {
                return true;
            }
            try {
                Path program = Path.of(command.get(0).strip());
                return java.nio.file.Files.exists(workingDirectory == null || program.isAbsolute() ? program
                        : workingDirectory.resolve(program));
            } catch (java.nio.file.InvalidPathException notAPath) {
                return false;
            }
        }

        /**
         * Found by an attacking helper: a YAML list of {@code NAME=value} (Docker Compose's shape) bound as variables
         * named {@code 0}, {@code 1}…, and the workers ran without the ones meant.
         */
        @AssertTrue(message = "fleet.worker.environment takes names and values (in YAML, NAME: value keys under it), not "
                + "a list of NAME=value")
        boolean isEnvironmentNamed() {
            return environment == null || environment.keySet().stream().noneMatch(name -> name.chars().allMatch(Character::isDigit));
        }

        @AssertTrue(message = "fleet.worker.output-max-rate must be between 0B (no limit) and 1GB (a second)")
        boolean isOutputMaxRateInRange() {
            return outputMaxRate == null || outputMaxRate.toBytes() >= 0 && outputMaxRate.toBytes() <= 1L << 30;
        }

        @AssertTrue(message = "fleet.worker.max-memory must be at least 1MB (leave it unset for no limit)")
        boolean isMaxMemoryPositive() {
            return maxMemory == null || maxMemory.toBytes() >= 1024 * 1024;
        }

        @AssertTrue(message = "fleet.worker.log-directory must be an existing directory the master can write to (leave "
                + "it unset for no files)")
        boolean isLogDirectoryWritable() {
            return logDirectory == null || java.nio.file.Files.isDirectory(logDirectory)
                    && java.nio.file.Files.isWritable(logDirectory);
        }

        /**
         * Found by an attacking helper: in a directory other users could write to (even a sticky one), a link or a FIFO
         * planted at a log file's name, or between a rotation's rename and the new file, had a master running as root
         * append to, create or truncate any file, or hang a worker's output for good. logrotate refuses such a parent
         * directory too.
         */
        @AssertTrue(message = "fleet.worker.log-directory must not be writable by other users (its group or others "
                + "have write permission, or another user owns it): a link or a FIFO planted there would take the "
                + "master's writes; give a directory the master's user (or root) owns and only it writes to")
        boolean isLogDirectoryOwn() {
            if (logDirectory == null || !java.nio.file.Files.isDirectory(logDirectory)) {
                return true;
            }
            try {
                java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions =
                        java.nio.file.Files.getPosixFilePermissions(logDirectory);
                return !permissions.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                        && !permissions.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE)
                        && ownedByMasterOrRoot(logDirectory);
            } catch (java.io.IOException | UnsupportedOperationException notPosix) {
                return true;
            }
        }

        /**
         * Whether the master's user or root owns {@code directory}: its owner may plant a FIFO there whatever its mode,
         * and the master's open of it blocked (a re-attacking helper hung a master so). Unknown where {@code /proc} or
         * the {@code unix} attributes are not: true.
         */
        private static boolean ownedByMasterOrRoot(Path directory) throws java.io.IOException {
            try {
                int owner = (Integer) java.nio.file.Files.getAttribute(directory, "unix:uid");
                int master = (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
                return owner == master || owner == 0;
            } catch (java.nio.file.NoSuchFileException | IllegalArgumentException noUnixAttributes) {
                return true;
            }
        }

        @AssertTrue(message = "fleet.worker.log-file-max-size must be between 1KB and 10GB, and at least "
                + "fleet.worker.log-line-length")
        boolean isLogFileMaxSizeInRange() {
            return logFileMaxSize == null || logFileMaxSize.toBytes() >= 1024 && logFileMaxSize.toBytes() <= 10L << 30
                    && (logLineLength == null || logFileMaxSize.toBytes() >= logLineLength.toBytes());
        }

        @AssertTrue(message = "fleet.worker.log-line-length must be between 64B and 1MB")
        boolean isLogLineLengthInRange() {
            return logLineLength == null || logLineLength.toBytes() >= 64 && logLineLength.toBytes() <= 1024 * 1024;
        }

        @AssertTrue(message = "fleet.worker.log-bytes must be between 1KB and 64MB, and at least fleet.worker.log-line-length")
        boolean isLogBytesInRange() {
            return logBytes == null || logBytes.toBytes() >= 1024 && logBytes.toBytes() <= 64L * 1024 * 1024
                    && (logLineLength == null || logBytes.toBytes() >= logLineLength.toBytes());
        }
    }

    /**
     * The readiness probe, run while a worker is STARTING.
     *
     * @param path HTTP path to GET, starting with {@code /} (visible ASCII); empty means a plain TCP connect
     * @param interval time between two probes
     * @param timeout how long one probe may take
     * @param status the HTTP statuses that count as ready: a range such as {@code 200-399}, or one status such as {@code 204}
     * @param portOwnerCheck whether a passed probe counts only when the worker's own processes hold the listening
     *        socket on its port (Linux, /proc): false for a worker whose port a process outside its tree serves,
     *        such as {@code docker run -p} through docker-proxy
     */
    public record Probe(
            @DefaultValue("/health") @Pattern(regexp = WorkerSpec.PROBE_PATH, message = WorkerSpec.PROBE_PATH_RULE) String path,
            @DefaultValue("100ms") @DurationMin(millis = 10) @DurationMax(days = 365) Duration interval,
            @DefaultValue("1s") @DurationMin(millis = 10) @DurationMax(days = 365) Duration timeout,
            @DefaultValue("200-399") @Pattern(regexp = STATUSES, message = STATUSES_RULE) String status,
            @DefaultValue("true") boolean portOwnerCheck) {

        @AssertTrue(message = "fleet.readiness.status must go from the lower status to the higher, such as 200-399")
        boolean isStatusAscending() {
            return ascending(status);
        }
    }

    /** A probe's statuses: a range {@code NNN-MMM} of HTTP statuses, or one status {@code NNN} (HAProxy's {@code http-check expect status}). */
    static final String STATUSES = "[1-5]\\d\\d(-[1-5]\\d\\d)?";

    static final String STATUSES_RULE = "must be an HTTP status or a range of them, 100 to 599, such as 200-399 or 204";

    /** Whether a status range {@code NNN-MMM} (or one status, or a value the pattern refuses anyway) does not go downwards. */
    static boolean ascending(String range) {
        return range == null || !range.matches("\\d{3}-\\d{3}") || range.substring(0, 3).compareTo(range.substring(4)) <= 0;
    }

    /**
     * The liveness probe, run on READY workers; a worker failing it {@code failure-threshold} times in a row is
     * replaced.
     *
     * @param path HTTP path to GET, starting with {@code /} (visible ASCII); empty means a plain TCP connect
     * @param interval time between two probes
     * @param timeout how long one probe may take
     * @param failureThreshold consecutive failures that make the worker count as hung
     * @param status the HTTP statuses that count as alive: a range such as {@code 200-399}, or one status such as {@code 204}
     */
    public record Liveness(
            @DefaultValue("/health") @Pattern(regexp = WorkerSpec.PROBE_PATH, message = WorkerSpec.PROBE_PATH_RULE) String path,
            @DefaultValue("5s") @DurationMin(millis = 10) @DurationMax(days = 365) Duration interval,
            @DefaultValue("2s") @DurationMin(millis = 10) @DurationMax(days = 365) Duration timeout,
            @DefaultValue("3") @Min(1) @Max(100) int failureThreshold,
            @DefaultValue("200-399") @Pattern(regexp = STATUSES, message = STATUSES_RULE) String status) {

        @AssertTrue(message = "fleet.liveness.status must go from the lower status to the higher, such as 200-399")
        boolean isStatusAscending() {
            return ascending(status);
        }
    }

    /**
     * When and how fast a worker that exited on its own is started again.
     *
     * @param policy always, on-failure (only non-zero exits and signals) or never
     * @param initialBackoff delay before the first restart
     * @param multiplier how much the delay grows with each quick crash in a row
     * @param maxBackoff the longest delay, used while crash-looping
     * @param resetAfter uptime after which a crash counts as the first again
     * @param crashLoopRestarts quick crashes (see {@code min-uptime}) within {@code crash-loop-window} allowed: one
     *                          more marks a worker as crash-looping (FAILED)
     * @param crashLoopWindow the sliding window in which quick crashes are counted; long enough for
     *                        {@code crash-loop-restarts} of them at the default backoff (20 take about 6 minutes once
     *                        the delay reaches {@code max-backoff}; in 60 s at most 10 fitted, so none was ever FAILED)
     * @param minUptime a worker READY for at least this long before it exits ran, and is not crash-looping: it restarts
     *                  after the initial backoff and its exit is not counted (PM2's min_uptime); also how long a
     *                  reload's new worker stays READY before it takes over (Kubernetes' minReadySeconds), 10 s at
     *                  most there
     */
    public record Restart(
            @DefaultValue("always") RestartPolicy policy,
            @DefaultValue("100ms") @DurationMin(millis = 0) @DurationMax(days = 365) Duration initialBackoff,
            @DefaultValue("2.0") @DecimalMin("1.0") @DecimalMax("100.0") double multiplier,
            @DefaultValue("30s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration maxBackoff,
            @DefaultValue("10s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration resetAfter,
            @DefaultValue("20") @Min(1) int crashLoopRestarts,
            @DefaultValue("10m") @DurationMin(millis = 1) @DurationMax(days = 365) Duration crashLoopWindow,
            @DefaultValue("1s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration minUptime) {

        @AssertTrue(message = "fleet.restart.max-backoff must not be shorter than fleet.restart.initial-backoff")
        boolean isMaxBackoffAtLeastInitial() {
            return initialBackoff == null || maxBackoff == null || maxBackoff.compareTo(initialBackoff) >= 0;
        }
    }

    /**
     * The reverse proxy on {@code server.port}.
     *
     * @param eventLoops threads serving the proxy; default: one per available processor on io_uring, half of them
     *                   (at least one) on epoll and NIO, where one loop per two cores measured less CPU per request
     * @param transport auto (io_uring where the kernel allows it, else epoll on Linux, else NIO), io-uring, epoll or
     *                  nio; a native transport asked for by name that cannot load here stops startup
     * @param reusePort on io_uring and epoll with several event loops, each loop listens on the port itself with
     *                  {@code SO_REUSEPORT} and the kernel spreads new connections over them (HAProxy's and Envoy's
     *                  default); a process of the same user in the same network namespace (the workers run as
     *                  Shepherd's user) can then bind the port the same way and take some or all of its new
     *                  connections. false: one listening socket, which no other socket can share, and an acceptor
     *                  thread that hands each connection to a loop (with a connection per request it measured about
     *                  30 % more CPU per request)
     * @param deferAccept on io_uring and epoll, the kernel hands a new client connection to the proxy only once its
     *                    first bytes have arrived, or after about a second if none have ({@code TCP_DEFER_ACCEPT}:
     *                    nginx's {@code listen ... deferred}, HAProxy's {@code defer-accept}), so that the proxy
     *                    reads a request at once instead of waking up for the connection and again for its bytes (with
     *                    a new connection per request it measured 12 % more requests per second). A client that
     *                    connects and says nothing reaches {@code client-header-timeout} that much later; at shutdown
     *                    one not handed over yet is reset by the kernel when the port closes. Ignored on NIO
     * @param connectTimeout how long opening a connection to a worker may take, per connection; then the attempt
     *                       fails as not sent and is retried like a refused connection, or answered 504
     * @param responseTimeout how long a worker may take to send the head of its final response (1xx interim
     *                        responses do not count), from the moment the whole request has been passed to it
     *                        (a body read first: from when it is whole), and how long a worker may take none of a
     *                        body streamed to it (nginx's {@code proxy_send_timeout}); per attempt; then the attempt
     *                        fails with 504 (not retried)
     * @param queueTimeout how long a request waits for a READY worker when there is none (or none below
     *                     {@code fleet.worker.max-concurrency}), each time it has to, before 503
     * @param queueLimit how many requests may wait for a READY (or, with {@code fleet.worker.max-concurrency}, a
     *                   free) worker at once; beyond it, 503 at once
     * @param maxConnections most client connections the proxy holds at once (HAProxy's {@code maxconn}); at the limit
     *                       a new connection takes the place of an unfinished head's, an idle one's or, else, the
     *                       slowest body's being read first (nginx's reuse of connections), and when there is none,
     *                       new connections wait in the listen backlog until one closes. Lowered at startup to
     *                       what the master can hold: its open-file limit (three descriptors a connection, the
     *                       client's, a worker's and a request body's temporary file, two when bodies stream;
     *                       plus a reserve) and its direct memory (256 KB a connection)
     * @param maxConnectionsPerClient most connections one client (an IPv4 address, an IPv6 /64) holds at once; one
     *                                past it is closed at once, unread (HAProxy's {@code src_conn_cur} reject).
     *                                Peers in {@code trusted-proxies} are not limited; 0: no limit
     * @param maxInitialLineLength longest request line accepted (longer: 414)
     * @param maxHeaderSize largest request header block accepted (larger: 431)
     * @param maxHeaderCount most fields a request head, or the trailer section of a chunked request body, may hold
     *                       (more: 431); Apache's {@code LimitRequestFields}, Tomcat's {@code maxHeaderCount}. Each
     *                       field costs the proxy an entry and copies of its name and value until the head is done
     * @param bodyIdleTimeout how long a response body may go without a byte from the worker, from its head on
     *                        (paused while the client is not reading); then the attempt fails with 504 if nothing
     *                        reached the client yet, else the response is cut; 0: no limit
     * @param upstreamIdleTimeout how long an idle keep-alive connection to a worker is kept for reuse, less if the
     *                            worker's {@code Keep-Alive: timeout} asks for less; below Node's default 5 s
     *                            {@code keepAliveTimeout}, so that the proxy retires a connection before the worker
     *                            closes it under a request; 0: connections are not reused
     * @param upstreamReuseDelay how long a connection to a worker that one client connection returned stays idle before
     *                           another client connection's request goes on it (the one that returned it takes it back
     *                           at once), so that a whole response the worker sends late, nobody having asked for it,
     *                           arrives while the connection is idle and closes it, rather than reach another client as
     *                           its answer; 0 (the default): at once, as nginx, HAProxy and Envoy do. It holds about
     *                           the requests of that long as idle worker connections, within what
     *                           {@code max-connections} budgets descriptors for (past it a connection is reused
     *                           before it is quiet)
     * @param clientHeaderTimeout how long a client may take to send a whole request head, from the connection's
     *                            opening (its accept: with {@code defer-accept}, when its first bytes came) or the
     *                            head's first byte; then 408 and the connection is closed
     * @param clientBodyTimeout the longest pause between two reads of an unfinished request body; then 408 and close
     *                          if no response has started, else only close, and the worker's connection is closed
     *                          (the request is not retried)
     * @param clientBodyMinRate the slowest a request body may arrive on average, in bytes per second, counted from the
     *                          end of its head, with {@code client-body-timeout} of grace and without the time the
     *                          proxy is not reading it (Apache's {@code mod_reqtimeout} {@code body=…,MinRate=…},
     *                          Kestrel's {@code MinRequestBodyDataRate}), banking at most twice
     *                          {@code client-body-timeout} ahead; slower, the request ends as at
     *                          {@code client-body-timeout}. 0: no minimum
     * @param requestBuffering whether a request's body is read before a worker is picked, up to
     *                         {@code retry.buffer-limit} (nginx's {@code proxy_request_buffering}, on by default there
     *                         too), so that a client that uploads slowly holds a connection of the proxy's, not a
     *                         worker's thread; off: the body streams to the worker as it comes. A body past
     *                         {@code retry.buffer-limit} is spooled to {@code client-body-temp-path} until it is whole
     * @param clientMaxBodySize the largest request body the proxy passes on (nginx's {@code client_max_body_size});
     *                          larger: 413 (RFC 9110 §15.5.14), before a worker is picked when {@code Content-Length}
     *                          says so, else when the body passes it. 0: no limit
     * @param clientBodyTempPath the directory where request bodies past {@code retry.buffer-limit} are kept while they
     *                           are read first (nginx's {@code client_body_temp_path}); null: {@code java.io.tmpdir}
     * @param clientBodyTempMaxSize the most bytes of request bodies kept in {@code client-body-temp-path} at once; at
     *                              it, the body being read that came slowest lately gets 503 and a new body its room,
     *                              else the new body gets 503 with {@code Retry-After}. 0: no limit
     * @param responseBuffering whether the part of a response that its client reads slower than the worker sends it is
     *                          kept in a file of {@code response-temp-path}, so that the worker is free once it has sent
     *                          the response (nginx's {@code proxy_buffering}, on by default there too); a client that
     *                          reads as fast gets every part as it comes, so streams stay streams. Off: the worker
     *                          waits for the client, as far as {@code client-send-timeout}
     * @param responseTempPath the directory of those files (nginx's {@code proxy_temp_path}); null:
     *                         {@code java.io.tmpdir}
     * @param responseTempMaxSize the most bytes of responses kept in {@code response-temp-path} at once; past it, the
     *                            worker of a response that cannot be kept waits for its client. 0: no limit
     * @param responseTempFileMaxSize the most bytes one response's file takes (nginx's
     *                                {@code proxy_max_temp_file_size}); past it, its worker waits for its client until
     *                                the client has emptied the file, so that one response cannot take the whole of
     *                                {@code response-temp-max-size}. 0: no limit but that
     * @param keepAliveTimeout how long an idle client connection (no request in progress) is kept open; then it is
     *                         closed without a response
     * @param clientSendTimeout how long a client connection may stay unwritable (the client reads none of its
     *                          response while the proxy's write buffer is full) before it is closed, so that a client
     *                          that stops reading cannot hold a worker's connection (nginx's {@code send_timeout})
     * @param balancer how the proxy picks a worker for each request: round-robin, or least-request (the less busy
     *                 of two READY workers, Envoy's LEAST_REQUEST)
     * @param trustedProxies the peers whose {@code X-Forwarded-*} and {@code Forwarded} headers reach the workers
     *                       as sent (the peer is appended to {@code X-Forwarded-For}), as IP addresses or CIDR ranges;
     *                       every other peer's are replaced by what the proxy saw. Default: loopback and the private
     *                       ranges, Tomcat's {@code RemoteIpValve} {@code internalProxies}; empty: trust no peer
     * @param retry retries of failed attempts on another worker
     * @param upgradeProtocols the {@code Upgrade} protocols (RFC 9110 §7.8) passed on to workers, compared without
     *                         case and without a version; {@code h2c} is never passed on (h2c smuggling), so it is
     *                         refused here
     * @param tunnel connections that switched protocols (a WebSocket after {@code 101})
     * @param sticky sticky sessions: requests of one client to the worker of one slot
     * @param outlierDetection passive health checking: a worker that fails requests while its probes pass leaves the
     *                         rotation for a while
     * @param accessLog a line per request in the master's log (nginx's {@code access_log})
     */
    public record Proxy(
            @Min(0) @Max(256) int eventLoops,
            @DefaultValue("auto") @NotNull ProxyTransport transport,
            @DefaultValue("true") boolean reusePort,
            @DefaultValue("true") boolean deferAccept,
            @DefaultValue("2s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration connectTimeout,
            @DefaultValue("60s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration responseTimeout,
            @DefaultValue("5s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration queueTimeout,
            @DefaultValue("10000") @Min(0) int queueLimit,
            @DefaultValue("" + Proxy.DEFAULT_MAX_CONNECTIONS) @Min(1) int maxConnections,
            @DefaultValue("0") @Min(0) int maxConnectionsPerClient,
            @DefaultValue("8KB") @NotNull DataSize maxInitialLineLength,
            @DefaultValue("16KB") @NotNull DataSize maxHeaderSize,
            @DefaultValue("100") @Min(1) int maxHeaderCount,
            @DefaultValue("5m") @DurationMin(millis = 0) @DurationMax(days = 365) Duration bodyIdleTimeout,
            @DefaultValue("4s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration upstreamIdleTimeout,
            @DefaultValue("0") @DurationMin(millis = 0) @DurationMax(seconds = 1) Duration upstreamReuseDelay,
            @DefaultValue("60s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration clientHeaderTimeout,
            @DefaultValue("60s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration clientBodyTimeout,
            @DefaultValue("240B") @NotNull DataSize clientBodyMinRate,
            @DefaultValue("true") boolean requestBuffering,
            @DefaultValue("10MB") @NotNull DataSize clientMaxBodySize,
            String clientBodyTempPath,
            @DefaultValue("1GB") @NotNull DataSize clientBodyTempMaxSize,
            @DefaultValue("true") boolean responseBuffering,
            String responseTempPath,
            @DefaultValue("1GB") @NotNull DataSize responseTempMaxSize,
            @DefaultValue("128MB") @NotNull DataSize responseTempFileMaxSize,
            @DefaultValue("75s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration keepAliveTimeout,
            @DefaultValue("60s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration clientSendTimeout,
            @DefaultValue({"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
                    "127.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7"}) @NotNull List<@CidrRange String> trustedProxies,
            @DefaultValue("round-robin") @NotNull Balancer balancer,
            @DefaultValue @Valid @NotNull Retry retry,
            @DefaultValue("websocket") @NotNull List<@Pattern(regexp = "(?i)(?!h2c$)[!#$%&'*+.^_`|~0-9a-z-]+",
                    message = "must be a protocol name (a token without a version), and not h2c, which is never "
                            + "forwarded (h2c smuggling)") String> upgradeProtocols,
            @DefaultValue @Valid @NotNull Tunnel tunnel,
            @DefaultValue @Valid @NotNull Sticky sticky,
            @DefaultValue @Valid @NotNull OutlierDetection outlierDetection,
            @DefaultValue @Valid @NotNull AccessLog accessLog) {

        @AssertTrue(message = "fleet.proxy.max-initial-line-length must be between 256B and 1MB")
        boolean isMaxInitialLineLengthInRange() {
            return maxInitialLineLength == null
                    || maxInitialLineLength.toBytes() >= 256 && maxInitialLineLength.toBytes() <= 1024 * 1024;
        }

        @AssertTrue(message = "fleet.proxy.client-body-min-rate must be between 0B and 1GB (a second)")
        boolean isClientBodyMinRateInRange() {
            return clientBodyMinRate == null
                    || clientBodyMinRate.toBytes() >= 0 && clientBodyMinRate.toBytes() <= 1024L * 1024 * 1024;
        }

        @AssertTrue(message = "fleet.proxy.client-body-temp-max-size must not be negative (0: no limit)")
        boolean isClientBodyTempMaxSizeInRange() {
            return clientBodyTempMaxSize == null || clientBodyTempMaxSize.toBytes() >= 0;
        }

        @AssertTrue(message = "fleet.proxy.response-temp-max-size must not be negative (0: no limit)")
        boolean isResponseTempMaxSizeInRange() {
            return responseTempMaxSize == null || responseTempMaxSize.toBytes() >= 0;
        }

        @AssertTrue(message = "fleet.proxy.response-temp-file-max-size must not be negative (0: no limit)")
        boolean isResponseTempFileMaxSizeInRange() {
            return responseTempFileMaxSize == null || responseTempFileMaxSize.toBytes() >= 0;
        }

        @AssertTrue(message = "fleet.proxy.client-max-body-size must not be negative (0: no limit)")
        boolean isClientMaxBodySizeInRange() {
            return clientMaxBodySize == null || clientMaxBodySize.toBytes() >= 0;
        }

        @AssertTrue(message = "fleet.proxy.max-header-size must be between 1KB and 1MB")
        boolean isMaxHeaderSizeInRange() {
            return maxHeaderSize == null || maxHeaderSize.toBytes() >= 1024 && maxHeaderSize.toBytes() <= 1024 * 1024;
        }

        /** {@code max-connections} when not set, before the startup lowers it to what the master can hold. */
        public static final int DEFAULT_MAX_CONNECTIONS = 10_000;

        /** The event loops to run: {@code eventLoops} when set, else {@code byDefault}. */
        public int eventLoopCount(int byDefault) {
            return eventLoops > 0 ? eventLoops : byDefault;
        }
    }

    /**
     * @param enabled whether the proxy logs a line per request, in nginx's {@code combined} format followed by the
     *                request time, the worker and the attempts, to the logger {@code shepherd.access} (off by default,
     *                as Spring Boot's {@code server.tomcat.accesslog.enabled}); lines the log cannot take at once
     *                are dropped and counted, never waited for
     */
    public record AccessLog(@DefaultValue("false") boolean enabled) {
    }

    /**
     * @param idleTimeout how long a tunnel may carry no byte in either direction before the proxy closes it; long
     *                    enough for heartbeats such as socket.io's 25 s ping (HAProxy's {@code timeout tunnel}; nginx
     *                    closes idle WebSockets after 60 s); 0: no limit
     * @param drainTimeout when a worker drains (reload, scale down, recycle, replace, master shutdown), its open tunnels are
     *                     closed at random moments spread over this window, a WebSocket with a {@code 1001 Going
     *                     Away} close frame, so that its clients do not all reconnect at once (HAProxy's
     *                     {@code close-spread-time}); the worker is stopped when the last one has ended
     * @param halfClosedTimeout how long a tunnel one side of which has closed its output (sent its FIN) may carry no
     *                          byte before the proxy closes it, whatever {@code idle-timeout} says, so that a peer
     *                          that never closes its own side cannot keep it open (HAProxy's {@code timeout
     *                          client-fin} and {@code server-fin})
     */
    public record Tunnel(
            @DefaultValue("1h") @DurationMin(millis = 0) @DurationMax(days = 365) Duration idleTimeout,
            @DefaultValue("30s") @DurationMin(millis = 0) @DurationMax(days = 365) Duration drainTimeout,
            @DefaultValue("30s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration halfClosedTimeout) {
    }

    /**
     * Envoy's outlier detection, its consecutive-5xx kind: a worker whose answers fail in a row while its probes pass
     * (a broken database pool in one process, a wedged thread) is ejected, out of rotation for a while, then back.
     *
     * @param consecutive5xx final responses with a 5xx status, or attempts that failed on the live process (reset,
     *                       timed out, not sent), in a row with no other answer between, that eject a worker
     *                       (Envoy's {@code consecutive_5xx}, whose default is 5); 0: off
     * @param baseEjectionTime how long a worker's first ejection lasts; its n-th lasts n times this, up to
     *                         {@code max-ejection-time} (Envoy's {@code base_ejection_time}); a new process of the
     *                         worker starts from one again
     * @param maxEjectionTime the longest an ejection lasts (Envoy's {@code max_ejection_time})
     * @param maxEjectionPercent the most workers, as a percentage of the READY ones, out of rotation by this detection
     *                           at once; the first is always allowed (Envoy's {@code max_ejection_percent}), and the
     *                           last worker in rotation is never ejected
     */
    public record OutlierDetection(
            @Name("consecutive-5xx") @DefaultValue("0") @Min(0) @Max(1000) int consecutive5xx,
            @DefaultValue("30s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration baseEjectionTime,
            @DefaultValue("300s") @DurationMin(millis = 1) @DurationMax(days = 365) Duration maxEjectionTime,
            @DefaultValue("10") @Min(0) @Max(100) int maxEjectionPercent) {

        @AssertTrue(message = "fleet.proxy.outlier-detection.max-ejection-time must not be shorter than "
                + "fleet.proxy.outlier-detection.base-ejection-time")
        boolean isMaxEjectionTimeAtLeastBase() {
            return baseEjectionTime == null || maxEjectionTime == null || maxEjectionTime.compareTo(baseEjectionTime) >= 0;
        }

        /** How long the {@code ejections}-th ejection of one process lasts. */
        public Duration ejectionTime(int ejections) {
            Duration time = baseEjectionTime.multipliedBy(Math.max(1, ejections));
            return time.compareTo(maxEjectionTime) > 0 ? maxEjectionTime : time;
        }
    }

    /**
     * @param cookie when set, the name of a cookie the proxy sets to name a worker's slot (its stable index, as an
     *               opaque token), and by which it routes later requests to the READY worker of that slot
     *               (HAProxy's {@code cookie ... insert}); unset or empty: no stickiness
     * @param appCookie when set, the name of the application's own session cookie (such as {@code JSESSIONID}):
     *                  a value a worker sets with {@code Set-Cookie} binds to that worker's slot, and later requests
     *                  carrying it go to the slot's READY worker (HAProxy's {@code appsession}, Cloud Foundry's
     *                  router with {@code JSESSIONID}); when both are set, the
     *                  proxy's cookie decides when it names a slot
     * @param appCookieMaxEntries the most application cookie values remembered at once, lowered at startup to what
     *                            a quarter of the master's heap holds; beyond it the least likely to be used again
     *                            are forgotten (values longer than 128 characters are never remembered)
     */
    public record Sticky(
            @Pattern(regexp = "[!#$%&'*+.^_`|~0-9A-Za-z-]+", message = "must be a cookie name (an RFC 6265 token)")
            String cookie,
            @Pattern(regexp = "[!#$%&'*+.^_`|~0-9A-Za-z-]+", message = "must be a cookie name (an RFC 6265 token)")
            String appCookie,
            @DefaultValue("100000") @Min(1) @Max(1_000_000) int appCookieMaxEntries) {

        /** Empty is unset, so that an empty variable ({@code FLEET_PROXY_STICKY_COOKIE=}) turns stickiness off. */
        public Sticky {
            cookie = cookie == null || cookie.isBlank() ? null : cookie;
            appCookie = appCookie == null || appCookie.isBlank() ? null : appCookie;
        }

        @AssertTrue(message = "fleet.proxy.sticky.app-cookie must not be the name of fleet.proxy.sticky.cookie, "
                + "which the proxy sets itself")
        boolean isAppCookieApart() {
            return cookie == null || !cookie.equals(appCookie);
        }
    }

    /**
     * @param maxAttempts attempts per request, the first included
     * @param bufferLimit how much of a request body is held in memory, 0 to 16 MB: a body read first keeps the rest in a
     *                    temporary file and can always be replayed on another worker; a streamed one
     *                    ({@code request-buffering=false}) can be replayed only up to this size
     * @param budgetPercent retries allowed, as a percentage of the requests of the last ten seconds; once it is spent,
     *                      the requests a worker's death took with it are still retried
     * @param minPerSecond retries allowed per second on top of the percentage, whatever the traffic: at low traffic the
     *                     percentage alone allows next to none
     * @param backoff a retry goes at once to a READY worker that has not failed the request yet; when every one has,
     *                it waits for the fleet to change (an exit, a new READY worker), at most this long, so that
     *                workers killed together are out of rotation before its last attempts; with the budget spent,
     *                also how long a request waits to learn whether the worker that failed it died
     */
    public record Retry(
            @DefaultValue("3") @Min(1) @Max(10) int maxAttempts,
            @DefaultValue("64KB") @NotNull DataSize bufferLimit,
            @DefaultValue("20") @Min(0) @Max(100) int budgetPercent,
            @DefaultValue("50") @Min(0) int minPerSecond,
            @DefaultValue("250ms") @DurationMin(millis = 0) @DurationMax(days = 365) Duration backoff) {

        /** The most of a body held in memory: each client connection may hold that much direct memory for it. */
        public static final long MAX_BUFFER_LIMIT = 16L << 20;

        @AssertTrue(message = "fleet.proxy.retry.buffer-limit must be between 0 and 16MB")
        boolean isBufferLimitInRange() {
            return bufferLimit == null || bufferLimit.toBytes() >= 0 && bufferLimit.toBytes() <= MAX_BUFFER_LIMIT;
        }
    }

    /**
     * The built-in demo worker (used when {@code fleet.worker.command} is empty).
     *
     * @param crashWithin when set, each demo worker exits with code 1 at a random moment within this time
     * @param work iterations of CPU work per request (the default costs about what the seed's loop costs in Node); 0 answers at once
     */
    public record Demo(
            @DurationMin(millis = 1) @DurationMax(days = 365) Duration crashWithin,
            @DefaultValue("1500000") @Min(0) long work) {
    }

    /**
     * @param token when set, the admin API, every actuator endpoint but health and any unknown path require
     *              {@code Authorization: Bearer <token>}, and health shows its details only with it
     * @param tokenFile a file whose content (without white space around it) is the token, when {@code token} is not
     *                  set: the Docker and Kubernetes secrets convention ({@code FLEET_ADMIN_TOKEN_FILE}); read again
     *                  when it changes, at most once a second
     * @param allowedHosts host names or IP addresses (without port) that the admin port answers to besides localhost,
     *                     127.0.0.0/8 and [::1] while no token is set; a request naming another host gets 403
     * @param maxConnectionsPerClient most of the admin port's connections one client (an IPv4 address, an IPv6 /64)
     *                                holds at once; one past it is closed unread. Loopback clients are not limited;
     *                                0: no limit
     */
    public record Admin(
            String token,
            String tokenFile,
            @DefaultValue List<@Pattern(regexp = "[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+]",
                    message = "must be a host name or an IP address, without a port") String> allowedHosts,
            @DefaultValue("32") @Min(0) @Max(100_000) int maxConnectionsPerClient) {
    }

    /**
     * @param minReady workers in the proxy's rotation (READY and not ejected) needed for the fleet health to be UP;
     *                 fewer but at least one is DEGRADED
     */
    public record Health(@DefaultValue("1") @Min(1) int minReady) {
    }
}
