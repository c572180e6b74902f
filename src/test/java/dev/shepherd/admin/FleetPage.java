package dev.shepherd.admin;

import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The fleet page in Debian's headless Chromium, driven through the installed chromedriver. Giving the driver's
 * path to the service means Selenium never runs Selenium Manager, so nothing is downloaded at run time.
 */
final class FleetPage implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    /** One row of the workers table, as the page shows it. */
    record Row(int id, long pid, String state) {
    }

    private final ChromeDriver browser;
    private final Path profile;

    private FleetPage(ChromeDriver browser, Path profile) {
        this.browser = browser;
        this.profile = profile;
    }

    static boolean chromiumInstalled() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    }

    static FleetPage launch() throws IOException {
        Path profile = Files.createTempDirectory("shepherd-chromium-");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().withSilent(true).build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless=new",
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                "--user-data-dir=" + profile);
        return new FleetPage(new ChromeDriver(service, options), profile);
    }

    void open(int adminPort) {
        browser.get("http://127.0.0.1:" + adminPort + "/");
    }

    /** The workers table, read in one script so a row replaced meanwhile cannot go stale. */
    @SuppressWarnings("unchecked")
    List<Row> rows() {
        List<Map<String, String>> rows = (List<Map<String, String>>) browser.executeScript(
                "return [...document.querySelectorAll('#workers tbody tr')].map(row => ({...row.dataset}));");
        return rows.stream().map(row -> new Row(Integer.parseInt(row.get("workerId")), Long.parseLong(row.get("pid")),
                row.get("state"))).toList();
    }

    List<Long> pids() {
        return rows().stream().map(Row::pid).sorted().toList();
    }

    WebElement find(String css) {
        return browser.findElement(By.cssSelector(css));
    }

    boolean shows(String css) {
        List<WebElement> elements = browser.findElements(By.cssSelector(css));
        return !elements.isEmpty() && elements.get(0).isDisplayed();
    }

    String text(String css) {
        return find(css).getText();
    }

    Object script(String script, Object... args) {
        return browser.executeScript(script, args);
    }

    /** Sets the viewport exactly; {@code mobile} also makes it behave as a phone's. */
    void viewport(int width, int height, boolean mobile) {
        browser.executeCdpCommand("Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", mobile));
    }

    void colourScheme(String scheme) {
        browser.executeCdpCommand("Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", scheme))));
    }

    /** Takes the browser off the network, or puts it back, as a lost connection would. */
    void network(boolean online) {
        browser.executeCdpCommand("Network.enable", Map.of());
        browser.executeCdpCommand("Network.emulateNetworkConditions", Map.of("offline", !online, "latency", 0,
                "downloadThroughput", -1, "uploadThroughput", -1));
    }

    /** Writes a PNG of the whole page at the given width. */
    void screenshot(Path file, int width) throws IOException {
        viewport(width, 900, false);
        long height = (Long) script("return document.documentElement.scrollHeight;");
        viewport(width, (int) height, false);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, browser.getScreenshotAs(OutputType.BYTES));
        viewport(width, 900, false);
    }

    @Override
    public void close() {
        browser.quit();
        try (var files = Files.walk(profile)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
