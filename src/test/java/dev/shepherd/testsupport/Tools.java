package dev.shepherd.testsupport;

import java.io.IOException;

import static org.assertj.core.api.Assumptions.assumeThat;

/** Skips a test whose tool (python3, node, curl, ab, prlimit, tmux, systemd-analyze) is not installed, saying how to install it. */
public final class Tools {

    private Tools() {
    }

    public static void assumePython() {
        assumeInstalled("python3", "apt-get install python3");
    }

    public static void assumeNode() {
        assumeInstalled("node", "apt-get install nodejs");
    }

    public static void assumeCurl() {
        assumeInstalled("curl", "apt-get install curl");
    }

    public static void assumeAb() {
        assumeInstalled("ab", "-V", "apt-get install apache2-utils");
    }

    public static void assumePrlimit() {
        assumeInstalled("prlimit", "apt-get install util-linux");
    }

    public static void assumeTmux() {
        assumeInstalled("tmux", "-V", "apt-get install tmux");
    }

    public static void assumeSystemdAnalyze() {
        assumeInstalled("systemd-analyze", "apt-get install systemd");
    }

    private static void assumeInstalled(String tool, String install) {
        assumeInstalled(tool, "--version", install);
    }

    private static void assumeInstalled(String tool, String versionOption, String install) {
        boolean installed;
        try {
            installed = new ProcessBuilder(tool, versionOption).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (IOException ex) {
            installed = false;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            installed = false;
        }
        assumeThat(installed).as(tool + " is not installed (" + install + "); skipping").isTrue();
    }
}
