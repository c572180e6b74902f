package dev.shepherd.admin;

import dev.shepherd.admin.FleetPage.Row;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.ScriptedWorker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.Keys;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The live fleet page in a real Chromium, against real masters with real workers. The tests share one fleet
 * and run in order: each starts from the fleet the previous one left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetPageBrowserTests {

    private static final String TOKEN = "page-test-token";
    private static final Duration LIVE = Duration.ofSeconds(10);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Where the screenshot goes: target/ normally; -Dshepherd.screenshot=docs/fleet-page.png refreshes the README's. */
    private static final Path SCREENSHOT = Path.of(System.getProperty("shepherd.screenshot", "target/fleet-page.png"));

    private static RunningShepherd shepherd;
    private static RunningShepherd guarded;
    private static FleetPage page;
    private static ScheduledExecutorService traffic;

    @BeforeAll
    static void startMastersAndBrowser() throws Exception {
        assumeTrue(FleetPage.chromiumInstalled(), "The browser tests need Chromium and its driver at "
                + FleetPage.CHROMIUM + " and " + FleetPage.CHROMEDRIVER + "; install them with: "
                + "apt-get install chromium chromium-driver");
        // One after the other: Spring Boot's logging set-up is not safe for two applications starting at once.
        shepherd = RunningShepherd.startReady("--fleet.workers=2");
        guarded = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=" + TOKEN);
        page = FleetPage.launch();
        page.open(shepherd.adminPort());
    }

    @AfterAll
    static void stopAll() {
        if (traffic != null) {
            traffic.shutdownNow();
        }
        if (page != null) {
            page.close();
        }
        if (guarded != null) {
            guarded.context().close();
        }
        if (shepherd != null) {
            shepherd.close(); // checks that no worker of either master is left
        }
    }

    @Test
    @Order(1)
    void pageListsExactlyThePidsThatTheFleetLists() {
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.pids()).isEqualTo(fleetPids(shepherd, Map.of())));
        assertThat(page.rows()).extracting(Row::state).containsOnly("READY");
        assertThat(page.text("#ready-count")).isEqualTo("2");
        assertThat(page.text("#desired-count")).isEqualTo("2");
        assertThat(page.text("#health")).isEqualTo("UP");
        assertThat(shepherd.get("/").body()).as("the proxy port serves the workers, not the page")
                .startsWith("Process handled by pid");
    }

    @Test
    @Order(2)
    void workerKilledFromOutsideIsShownAndItsReplacementAppearsWithoutReloadingThePage() {
        page.script("window.notReloaded = true;");
        Row victim = page.rows().get(0);
        startTraffic();

        ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();

        await().atMost(LIVE).until(() -> List.of("EXITED", "BACKOFF", "STARTING").contains(row(victim.id()).state()));
        await().atMost(LIVE).untilAsserted(() -> {
            Row replaced = row(victim.id());
            assertThat(replaced.pid()).isNotEqualTo(victim.pid());
            assertThat(replaced.state()).isEqualTo("READY");
            assertThat(page.pids()).isEqualTo(fleetPids(shepherd, Map.of()));
        });
        assertThat(page.script("return window.notReloaded === true;")).isEqualTo(true);
        assertThat(page.text("#workers tbody tr[data-worker-id='" + victim.id() + "'] td[data-label='Last exit']"))
                .contains("KILL (137)");
    }

    @Test
    @Order(3)
    void logOfAWorkerKeepsTheLinesOfItsProcessBeforeTheCrash() {
        Row worker = page.rows().get(0);
        page.find("#workers tbody tr[data-worker-id='" + worker.id() + "'] button[data-action='logs']").sendKeys(Keys.ENTER);

        await().atMost(LIVE).until(() -> page.shows("#logs-dialog"));
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#logs-lines"))
                .contains("Server started in process " + worker.pid())
                .containsPattern("Server started in process (?!" + worker.pid() + ")\\d+"));
        page.find("#logs-close").click();
        assertThat(page.shows("#logs-dialog")).isFalse();
    }

    @Test
    @Order(4)
    void scalingFromThePageToThreeShowsThreeReadyWorkers() {
        page.find("#scale-workers").sendKeys(Keys.chord(Keys.CONTROL, "a"), "3");
        page.find("#scale").click();

        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#action-result")).isEqualTo("Scaling to 3 workers."));
        await().atMost(LIVE).untilAsserted(() -> {
            assertThat(page.rows()).hasSize(3).extracting(Row::state).containsOnly("READY");
            assertThat(page.pids()).isEqualTo(fleetPids(shepherd, Map.of()));
            assertThat(page.text("#ready-count")).isEqualTo("3");
        });
        page.find("#scale").click();
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#action-result"))
                .isEqualTo("The fleet wants 3 workers already; nothing changed."));
    }

    @Test
    @Order(5)
    void screenshotOfTheLiveFleet() throws Exception {
        await().atMost(LIVE).until(() -> (Long) page.script("return Number(document.getElementById('chart').dataset.points);") >= 3
                && !page.text("#rates").startsWith("0.0 req/s"));
        traffic.shutdownNow();
        page.screenshot(SCREENSHOT, 1280);
    }

    @Test
    @Order(6)
    void reloadFromThePageShowsProgressAndEndsWithNewPids() {
        List<Long> before = page.pids();
        page.find("#reload").click();

        await().atMost(LIVE).until(() -> page.shows("#reload-progress") && page.text("#reload-state").startsWith("Running"));
        page.find("#reload").click();
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#action-result"))
                .startsWith("A reload to generation 2 is running"));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(page.text("#reload-state")).isEqualTo("Succeeded: 3 of 3 replaced");
            assertThat(page.rows()).hasSize(3).extracting(Row::state).containsOnly("READY");
            assertThat(page.pids()).doesNotContainAnyElementsOf(before).isEqualTo(fleetPids(shepherd, Map.of()));
        });
        assertThat(page.shows("#reload-progress")).isFalse();

        page.find("#undo").click();
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#action-result")).as("the API's refusal, shown")
                .startsWith("No reload that changed the spec has succeeded since the master started"));
        assertThat(page.pids()).as("nothing changed").isEqualTo(fleetPids(shepherd, Map.of()));
    }

    @Test
    @Order(7)
    void killFromThePageAsksFirstThenShowsTheResult() {
        Row victim = page.rows().get(1);
        String kill = "#workers tbody tr[data-worker-id='" + victim.id() + "'] button[data-action='kill']";
        page.find(kill).click();
        page.find("#kill-dialog button[value='cancel']").click();
        assertThat(page.shows("#kill-dialog")).isFalse();
        assertThat(row(victim.id()).pid()).isEqualTo(victim.pid());

        page.find(kill).click();
        page.find("#kill-dialog input[value='KILL']").click();
        page.find("#kill-confirm").click();

        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#action-result"))
                .isEqualTo("Sent KILL to worker " + victim.id() + "."));
        await().atMost(LIVE).untilAsserted(() -> {
            assertThat(row(victim.id()).pid()).isNotEqualTo(victim.pid());
            assertThat(row(victim.id()).state()).isEqualTo("READY");
        });
    }

    /**
     * Found by an attacking helper (2026-12-04): a worker's right-to-left override reordered what the page showed, and
     * its escape sequences showed as boxes, where the CLI shows both (TerminalText). HTML was kept out already.
     */
    @Test
    @Order(3)
    void textAWorkerControlsIsShownNotObeyedAsTheCliShowsIt() {
        String worker = "bidi:\u202Eevil\u202C csi:\u009B31m esc:\u001B[2J tab:\tdel:\u007F <b>x</b> ls:\u2028\u2029";

        Object shown = page.script("return import('/view.js').then(view => {"
                + "  view.renderEvents([{at: new Date().toISOString(), type: 'PROCESS_EXITED', message: arguments[0]}]);"
                + "  return document.querySelector('#events li span:last-child').textContent; });", worker);

        assertThat(shown).isEqualTo("bidi:\\u202Eevil\\u202C csi:\\u009B31m esc:^[[2J tab:\tdel:^? <b>x</b> ls:\\u2028\\u2029");
    }

    @Test
    @Order(8)
    void pageFitsAPhoneAndFollowsTheDarkTheme() {
        page.viewport(390, 844, true);
        page.colourScheme("dark");
        try {
            await().atMost(LIVE).untilAsserted(() -> {
                assertThat((Long) page.script("return document.documentElement.scrollWidth;")).isLessThanOrEqualTo(390);
                assertThat(page.shows("#workers tbody tr td[data-label='PID']")).isTrue();
                assertThat(page.script("return getComputedStyle(document.body).backgroundColor;")).isEqualTo("rgb(17, 20, 24)");
            });
        } finally {
            page.colourScheme("light");
            page.viewport(1280, 900, false);
        }
    }

    @Test
    @Order(9)
    void lostConnectionIsShownAndThePageReconnectsByItself() {
        page.network(false);
        try {
            await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#connection"))
                    .startsWith("Disconnected from the fleet: reconnecting in"));
        } finally {
            page.network(true);
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(page.text("#connection")).isEqualTo("Live"));
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.pids()).isEqualTo(fleetPids(shepherd, Map.of())));
    }

    @Test
    @Order(10)
    void wrongTokenShowsTheErrorAndNoDataThenTheRightOneShowsTheFleet() {
        for (String file : List.of("/", "/app.js", "/api.js", "/view.js", "/chart.js", "/style.css")) {
            assertThat(guarded.admin("GET", file, null).statusCode()).as(file + " without a token").isEqualTo(200);
        }
        page.open(guarded.adminPort());
        await().atMost(LIVE).until(() -> page.shows("#token"));
        assertThat(page.shows("#auth-error")).isFalse();

        page.find("#token").sendKeys("not-the-token", Keys.ENTER);

        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#auth-error"))
                .startsWith("The token was refused: wrong token"));
        assertThat(page.shows("#fleet")).isFalse();
        assertThat(page.rows()).isEmpty();
        List<Long> pids = fleetPids(guarded, Map.of("Authorization", "Bearer " + TOKEN));
        assertThat((String) page.script("return document.body.innerHTML;")).doesNotContain(String.valueOf(pids.get(0)));

        page.find("#token").sendKeys(TOKEN, Keys.ENTER);

        await().atMost(LIVE).untilAsserted(() -> assertThat(page.pids()).isEqualTo(pids));
        assertThat(page.shows("#auth")).isFalse();
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#health-detail"))
                .as("health details, shown only to a caller with the token").contains("min ready 1"));
        page.open(guarded.adminPort());
        await().atMost(LIVE).untilAsserted(() -> assertThat(page.pids()).as("the token kept for the tab").isEqualTo(pids));
    }

    @Test
    @Order(11)
    void aWorkerInBackoffShowsWhenItStartsAgain() {
        RunningShepherd crashing = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=/bin/sh,-c,exit 1", "--fleet.restart.initial-backoff=60s",
                "--fleet.restart.max-backoff=60s");
        try {
            page.open(crashing.adminPort());
            // Not shown until the page has its first fleet: finding the cell fails before that.
            await().atMost(LIVE).ignoreExceptions().untilAsserted(() -> assertThat(page.text(
                    "#workers tbody tr td[data-label='State'] .state-note")).matches("restarts in [1-6]?[0-9] s"));
            assertThat(page.rows()).singleElement().extracting(Row::state).isEqualTo("BACKOFF");
        } finally {
            // Not close(), which wants no child process of the test JVM left: the other masters' workers run on
            // (stopAll's close checks for every master's).
            crashing.context().close();
        }
    }

    @Test
    @Order(12)
    void aWorkerOutOfStepIsShownSo() {
        RunningShepherd late = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(ScriptedWorker.class)),
                "--fleet.readiness.path=/health");
        try {
            page.open(late.adminPort());
            await().atMost(LIVE).untilAsserted(() -> assertThat(page.rows()).singleElement()
                    .extracting(Row::state).isEqualTo("READY"));
            assertThat(page.text("#workers tbody tr td[data-label='State'] .state-note")).isEmpty();
            // "hello", then a second response nobody asked for: the worker is marked out of step.
            assertThat(late.get("/late-extra").body()).isEqualTo("hello");
            await().atMost(LIVE).untilAsserted(() -> assertThat(late.admin("GET", "/fleet", null).body())
                    .contains("\"outOfStep\":true"));
            await().atMost(LIVE).untilAsserted(() -> assertThat(page.text(
                    "#workers tbody tr td[data-label='State'] .state-note")).isEqualTo("out of step"));
            assertThat(page.rows()).singleElement().extracting(Row::state).isEqualTo("READY");
        } finally {
            late.context().close();
        }
    }

    /** The page showed both streams alike: a stderr line is marked in words (and a class), not by colour alone. */
    @Test
    @Order(13)
    void theLogViewMarksTheLinesOfStandardError() throws Exception {
        RunningShepherd echo = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand());
        try {
            int port = echo.snapshot().workers().get(0).port();
            assertThat(echo.http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                    + port + "/print?lines=4&to=both&tag=page")).build(), HttpResponse.BodyHandlers.ofString()).body())
                    .isEqualTo("printed 4\n");
            int id = echo.snapshot().workers().get(0).id();
            await().atMost(LIVE).until(() -> echo.admin("GET", "/fleet/workers/" + id + "/logs?stream=stderr", null)
                    .body().contains("page err 3"));
            page.open(echo.adminPort());
            await().atMost(LIVE).ignoreExceptions().until(() -> page.rows().size() == 1);

            page.find("#workers tbody tr[data-worker-id='" + id + "'] button[data-action='logs']").sendKeys(Keys.ENTER);

            await().atMost(LIVE).untilAsserted(() -> assertThat(page.text("#logs-lines")).contains("page out 2"));
            assertThat(page.script("return [...document.querySelectorAll('#logs-lines .log-line.stderr')]"
                    + ".map(line => line.textContent.replace(/^\\S+\\s+/, ''));"))
                    .isEqualTo(List.of("stderr page err 1", "stderr page err 3"));
            assertThat(page.script("return [...document.querySelectorAll('#logs-lines .log-line:not(.stderr)')]"
                    + ".filter(line => line.textContent.includes('page')).map(line => line.querySelector('.stream-mark') "
                    + "!== null);")).as("stdout lines unmarked").isEqualTo(List.of(false, false));
            assertThat(page.text("#logs-lines")).as("the marker is text that shows, and a copy keeps")
                    .containsPattern("(?m) stderr page err 1$").containsPattern("(?m)  page out 0$");
            page.find("#logs-close").click();
        } finally {
            echo.context().close();
        }
    }

    private static Row row(int id) {
        return page.rows().stream().filter(row -> row.id() == id).findFirst().orElseThrow();
    }

    private static List<Long> fleetPids(RunningShepherd master, Map<String, String> headers) {
        HttpResponse<String> response = master.admin("GET", "/fleet", null, headers);
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode workers = JSON.readTree(response.body()).get("workers");
        return StreamSupport.stream(workers.spliterator(), false).map(worker -> worker.get("pid").asLong()).sorted().toList();
    }

    /** A steady trickle of requests through the proxy, so the page's chart has something to show. */
    private static void startTraffic() {
        traffic = Executors.newSingleThreadScheduledExecutor();
        traffic.scheduleAtFixedRate(() -> shepherd.get("/"), 0, 20, TimeUnit.MILLISECONDS);
    }
}
