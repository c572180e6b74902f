package dev.shepherd.worker;

import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

class ProcFsTests {

    private static final byte[] MARKER = "\0SHEPHERD_TREE=42.1.7\0".getBytes(StandardCharsets.UTF_8);

    @Test
    void markerIsFoundFirstInTheMiddleAndLast() throws IOException {
        assertThat(search("SHEPHERD_TREE=42.1.7\0PATH=/bin\0")).isTrue();
        assertThat(search("PATH=/bin\0SHEPHERD_TREE=42.1.7\0HOME=/root\0")).isTrue();
        assertThat(search("PATH=/bin\0SHEPHERD_TREE=42.1.7\0")).isTrue();
    }

    @Test
    void anotherProcesssMarkerWithTheSamePrefixIsNotAMatch() throws IOException {
        assertThat(search("SHEPHERD_TREE=42.1.71\0")).isFalse();
        assertThat(search("X_SHEPHERD_TREE=42.1.7\0")).isFalse();
        assertThat(search("PATH=/bin\0")).isFalse();
        assertThat(search("")).isFalse();
    }

    @Test
    void markerAcrossTheBoundaryOfTwoReadsIsFound() throws IOException {
        for (int shift = -30; shift <= 30; shift++) {
            String padding = "A=" + "x".repeat(64 * 1024 + shift) + "\0";
            assertThat(search(padding + "SHEPHERD_TREE=42.1.7\0B=y\0")).as("shift %d", shift).isTrue();
        }
    }

    /** Found by an attacking helper: a pre-forking worker's tree was counted once per child with RSS. */
    @Test
    void aTreeThatSharesItsPagesAddsUpToWhatItHoldsNotOncePerProcess() throws Exception {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        Tools.assumePython();
        // 64 MB written once, then three children that share it copy-on-write.
        Process parent = new ProcessBuilder("python3", "-c", "import os, sys, time\n"
                + "b = b'x' * (64 << 20)\n"
                + "for _ in range(3):\n"
                + "    if os.fork() == 0:\n"
                + "        time.sleep(60); os._exit(0)\n"
                + "print('ready', flush=True)\n"
                + "time.sleep(60)\n").redirectErrorStream(true).start();
        try {
            assertThat(new String(parent.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("ready");
            List<ProcessHandle> tree = new ArrayList<>(parent.toHandle().children().toList());
            tree.add(parent.toHandle());
            assertThat(tree).hasSize(4);

            long total = tree.stream().mapToLong(process -> ProcFs.residentBytes(process.pid()).orElseThrow()).sum();

            assertThat(total).as("64 MB held once, not four times").isBetween(60L << 20, 120L << 20);
        } finally {
            parent.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            parent.destroyForcibly();
        }
    }

    @Test
    void statOfThisProcessNamesItsParentAndSession() {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        long self = ProcessHandle.current().pid();

        ProcFs.Stat stat = ProcFs.stat(self).orElseThrow();

        assertThat(stat.ppid()).isEqualTo(ProcessHandle.current().parent().orElseThrow().pid());
        assertThat(ProcFs.processes()).extracting(ProcFs.Stat::pid).contains(self, stat.ppid());
    }

    @Test
    void aChildThatExitedUnreapedIsToldApartFromALiveOneThoughTheJdkCallsItAlive() throws Exception {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        long parent;
        try (ZombieChild zombie = ZombieChild.start()) {
            parent = zombie.parent().pid();
            assertThat(ProcFs.exitedNotReaped(zombie.child().pid())).as("still sleeping").isFalse();

            zombie.kill();

            assertThat(zombie.child().isAlive()).as("what the JDK says of a zombie").isTrue();
            assertThat(ProcFs.exitedNotReaped(parent)).as("the live parent").isFalse();
        }
        assertThat(ProcFs.exitedNotReaped(parent)).as("reaped and gone").isFalse();
        assertThat(ProcFs.exitedNotReaped(Long.MAX_VALUE)).as("no such process").isFalse();
    }

    /**
     * A killed process resets its connections from inside {@code do_exit}, before it is a zombie: asked as soon as a
     * client sees the reset, the state alone still said "running" about one time in four here (17 of 60), and a
     * sticky session stayed bound to the dead worker's slot. Every thread is marked exiting by then.
     */
    @Test
    void aKilledProcessCountsAsExitedAsSoonAsItsConnectionsAreReset() throws Exception {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        Tools.assumePython();
        String server = "import socket,threading,time\n"
                + "s=socket.socket();s.bind(('127.0.0.1',0));s.listen();print(s.getsockname()[1],flush=True)\n"
                + "[threading.Thread(target=time.sleep,args=(60,),daemon=True).start() for _ in range(4)]\n"
                + "c,_=s.accept();time.sleep(60)";
        for (int i = 0; i < 12; i++) {
            Process process = new ProcessBuilder("python3", "-c", server).redirectErrorStream(true).start();
            try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream()));
                 var client = new java.net.Socket("127.0.0.1", Integer.parseInt(out.readLine().trim()))) {
                assertThat(ProcFs.exitedNotReaped(process.pid())).as("running").isFalse();

                process.destroyForcibly();
                try {
                    assertThat(client.getInputStream().read()).isEqualTo(-1);
                } catch (java.net.SocketException reset) {
                    // as likely as the end of the stream
                }

                // As a worker's endpoint asks it: the handle, not the Process, which learns of the exit only when
                // the JDK's reaper thread has run.
                assertThat(ProcFs.exitedNotReaped(process.pid()) || !process.toHandle().isAlive()).as("run %d", i)
                        .isTrue();
            } finally {
                process.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void environmentOfAnUnreadableOrGoneProcessHasNoMarker() {
        assertThat(ProcFs.hasEnvironmentEntry(Long.MAX_VALUE, "SHEPHERD_TREE=1")).isFalse();
    }

    @Test
    void listenersAreThoseOnThePortThatAConnectionTo127001Reaches() {
        // Lines of /proc/net/tcp and tcp6 (Linux 6.x), port 0x1F90 = 8080.
        String header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        String loopback = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0";
        String any = "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0";
        String otherAddress = "   2: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0";
        String connected = "   3: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4545 1 0 20 4 30 10 -1";
        String otherPort = "   4: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4646 1 0 100 0 0 10 0";
        String v6Any = "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4747 1 0 100 0 0 10 0";
        String v6Mapped = "   1: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4848 1 0 100 0 0 10 0";
        String v6Loopback = "   2: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4949 1 0 100 0 0 10 0";

        assertThat(ProcFs.listeners(header, 8080)).isEmpty();
        assertThat(ProcFs.listeners(loopback, 8080)).containsExactly(4242L);
        assertThat(ProcFs.listeners(any, 8080)).containsExactly(4343L);
        assertThat(ProcFs.listeners(otherAddress, 8080)).as("127.0.0.2: not where the proxy connects").isEmpty();
        assertThat(ProcFs.listeners(connected, 8080)).as("not listening").isEmpty();
        assertThat(ProcFs.listeners(otherPort, 8080)).isEmpty();
        assertThat(ProcFs.listeners(v6Any, 8080)).containsExactly(4747L);
        assertThat(ProcFs.listeners(v6Mapped, 8080)).containsExactly(4848L);
        assertThat(ProcFs.listeners(v6Mapped.replace("0100007F:", "00000000:"), 8080)).as("::ffff:0.0.0.0, the IPv4 wildcard")
                .containsExactly(4848L);
        assertThat(ProcFs.listeners(v6Mapped.replace("0100007F:", "0200007F:"), 8080)).isEmpty();
        assertThat(ProcFs.listeners(v6Loopback, 8080)).as("::1 takes no IPv4 connection").isEmpty();
        assertThat(ProcFs.listeners("garbage", 8080)).isEmpty();
    }

    @Test
    void aListenerOnIpv6sAnyAddressIsForeignUnlessTheWorkerHoldsAnIpv4OneAndNoneThere() {
        // 1: the worker's on 127.0.0.1; 2: another's on [::], IPV6_V6ONLY perhaps, which 127.0.0.1 cannot reach.
        ProcFs.Listeners v6OnlyBeside = new ProcFs.Listeners(Set.of(1L, 2L), Set.of(2L));
        assertThat(ProcFs.foreign(v6OnlyBeside, Set.of(1L))).as("any user could bind one to get a worker stopped")
                .isEmpty();
        // 1: the worker's on [::]; 2: another's there too, which can only have joined it (SO_REUSEPORT).
        ProcFs.Listeners joined = new ProcFs.Listeners(Set.of(1L, 2L), Set.of(1L, 2L));
        assertThat(ProcFs.foreign(joined, Set.of(1L))).containsExactly(2L);
        assertThat(ProcFs.foreign(new ProcFs.Listeners(Set.of(1L, 3L), Set.of()), Set.of(1L))).containsExactly(3L);
        assertThat(ProcFs.foreign(new ProcFs.Listeners(Set.of(2L), Set.of(2L)), Set.of()))
                .as("no listener of the worker's: a dual-stack one there takes its connections").containsExactly(2L);
        assertThat(ProcFs.foreign(new ProcFs.Listeners(Set.of(), Set.of()), Set.of()))
                .as("no listener at all: told apart by the caller").isEmpty();
    }

    private static boolean search(String environ) throws IOException {
        return ProcFs.contains(new ByteArrayInputStream(environ.getBytes(StandardCharsets.UTF_8)), MARKER);
    }
}
