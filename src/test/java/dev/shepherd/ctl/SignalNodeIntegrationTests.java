package dev.shepherd.ctl;

import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;

import dev.shepherd.worker.NodeInspectorsTests;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** USR1 is not sent to a worker whose process runs Node.js, whatever name started it. */
class SignalNodeIntegrationTests {

    private static final String TOKEN = "signal-token";
    private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + TOKEN);

    /**
     * Found by an attacking helper: USR1 reached Node through /usr/bin/env node (and npm start, a node shebang), whose
     * inspector then ran another user's code as root. The program the worker's process runs is what is looked at.
     */
    @Test
    void usr1IsRefusedToNodeRunUnderAnotherNameAndReachesNoWorker() {
        Tools.assumeNode();
        try (RunningShepherd viaEnv = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=" + TOKEN, "--fleet.worker.allow-usr1=true",
                "--fleet.worker.command=/usr/bin/env,node," + NodeModules.script("signal-counting-worker.js"))) {
            long pid = viaEnv.readyPids().get(0);
            int id = viaEnv.snapshot().workers().get(0).id();

            HttpResponse<String> usr1 = viaEnv.admin("POST", "/fleet/workers/" + id + "/signal", "{\"signal\": \"USR1\"}",
                    AUTH);
            HttpResponse<String> all = viaEnv.admin("POST", "/fleet/signal", "{\"signal\": \"USR1\"}", AUTH);

            assertThat(usr1.statusCode()).isEqualTo(409);
            assertThat(usr1.body()).contains("runs Node.js, which opens its inspector on USR1");
            assertThat(all.statusCode()).isEqualTo(409);
            assertThat(viaEnv.readyPids()).as("the same process serves on").containsExactly(pid);
            assertThat(dev.shepherd.worker.ProcFs.program(pid)).hasValueSatisfying(program -> assertThat(program)
                    .startsWith("node"));
        }
    }

    /**
     * Found by a new user's attack: a wrapper that passes every signal on to the node it runs (as dumb-init, tini and
     * {@code doppler run} do) took USR1 for its child, whose inspector then ran another user's code as root.
     */
    @Test
    void usr1IsRefusedToAWrapperThatRunsNode(@TempDir Path directory) throws Exception {
        Tools.assumeNode();
        Tools.assumePython();
        Path wrapper = Files.writeString(directory.resolve("fwd.py"), """
                import signal, subprocess, sys
                child = subprocess.Popen(sys.argv[1:])
                for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM):
                    signal.signal(s, lambda n, f: child.send_signal(n))
                sys.exit(child.wait())
                """);
        try (RunningShepherd wrapped = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=" + TOKEN, "--fleet.worker.allow-usr1=true",
                "--fleet.worker.command=python3," + wrapper + ",node," + NodeModules.script("signal-counting-worker.js"))) {
            long pid = wrapped.readyPids().get(0);
            int id = wrapped.snapshot().workers().get(0).id();

            HttpResponse<String> usr1 = wrapped.admin("POST", "/fleet/workers/" + id + "/signal",
                    "{\"signal\": \"USR1\"}", AUTH);
            HttpResponse<String> usr2 = wrapped.admin("POST", "/fleet/workers/" + id + "/signal",
                    "{\"signal\": \"USR2\"}", AUTH);

            assertThat(usr1.statusCode()).isEqualTo(409);
            assertThat(usr1.body()).contains("runs Node.js, which opens its inspector on USR1");
            assertThat(usr2.statusCode()).as("other signals still reach it").isEqualTo(202);
            assertThat(wrapped.readyPids()).as("the same process serves on").containsExactly(pid);
        }
    }

    /**
     * Found by a new user's attack: a copy of node named {@code myapp} (as a single executable application is) got
     * USR1, and its inspector ran another user's code as root. Node is known by its inspector in the program's bytes.
     */
    @Test
    void usr1IsRefusedToARenamedNode(@TempDir Path directory) throws Exception {
        Tools.assumeNode();
        Path myapp = Files.copy(NodeInspectorsTests.node(), directory.resolve("myapp"));
        assertThat(myapp.toFile().setExecutable(true)).isTrue();
        try (RunningShepherd renamed = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=" + TOKEN, "--fleet.worker.allow-usr1=true",
                "--fleet.worker.command=" + myapp + "," + NodeModules.script("signal-counting-worker.js"))) {
            long pid = renamed.readyPids().get(0);
            int id = renamed.snapshot().workers().get(0).id();

            HttpResponse<String> usr1 = renamed.admin("POST", "/fleet/workers/" + id + "/signal",
                    "{\"signal\": \"USR1\"}", AUTH);

            assertThat(usr1.statusCode()).isEqualTo(409);
            assertThat(usr1.body()).contains("runs Node.js, which opens its inspector on USR1");
            assertThat(renamed.readyPids()).as("the same process serves on").containsExactly(pid);
        }
    }

}
