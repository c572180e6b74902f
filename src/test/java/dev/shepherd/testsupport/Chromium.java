package dev.shepherd.testsupport;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's headless Chromium through the installed chromedriver, as the fleet page's browser tests run it
 * ({@code admin/FleetPage}): the driver's path is given, so Selenium Manager never downloads anything. For a page
 * that any test serves, such as a worker's page through the proxy.
 */
public final class Chromium implements AutoCloseable {

    public static final Path BINARY = Path.of("/usr/bin/chromium");
    public static final Path DRIVER = Path.of("/usr/bin/chromedriver");

    private final ChromeDriver browser;
    private final Path profile;

    private Chromium(ChromeDriver browser, Path profile) {
        this.browser = browser;
        this.profile = profile;
    }

    /** Skips the calling test, saying how to install them, when Chromium or its driver is missing. */
    public static void assumeInstalled() {
        assumeTrue(Files.isExecutable(BINARY) && Files.isExecutable(DRIVER), "The browser tests need Chromium and its "
                + "driver at " + BINARY + " and " + DRIVER + "; install them with: apt-get install chromium chromium-driver");
    }

    public static Chromium launch() {
        try {
            Path profile = Files.createTempDirectory("shepherd-chromium-");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().withSilent(true).build();
            ChromeOptions options = new ChromeOptions().setBinary(BINARY.toFile()).addArguments("--headless=new",
                    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile);
            return new Chromium(new ChromeDriver(service, options), profile);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public void open(URI page) {
        browser.get(page.toString());
    }

    /** Runs {@code script} in the page and returns what it returns (numbers as Long or Double, arrays as lists). */
    public Object script(String script) {
        return browser.executeScript(script);
    }

    @Override
    public void close() {
        browser.quit();
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
